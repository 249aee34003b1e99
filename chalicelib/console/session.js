// Who is signed in (GET /admin/auth/me: actor, role, permissions) and what the console shows
// them. Pages and buttons a role may not use are hidden; the server refuses them anyway (403).

import { get } from "./api.js";
import { h } from "./ui.js";

let me = null;

export async function load() {
  me = await get("/admin/auth/me");
  return me;
}

export const current = () => me;
export const forget = () => {
  me = null;
};

// Whether the signed-in caller holds `permission` ("rules:write"); true before anyone is known
// (the server decides).
export function can(permission) {
  if (!permission) return true;
  if (!me) return false;
  return me.permissions.includes(permission);
}

export const ROLE_NAMES = {
  owner: "所有者",
  admin: "管理员",
  editor: "内容编辑",
  operator: "运营",
  analyst: "分析师",
  agent: "客服",
  notifier: "通知系统",
};

// Hide what the caller may not use inside `root`: elements marked `data-permission`, and on a
// page the caller may only read (`readOnly`), every write control (see console.css .readonly).
export function guard(root, readOnly) {
  root.classList.toggle("readonly", Boolean(readOnly));
  if (readOnly && !root.querySelector(".readonly-note")) {
    const role = ROLE_NAMES[me.role] || me.role;
    root.prepend(h("p", { class: "readonly-note", "data-role": "readonly-note" }, `只读：你的角色（${role}）不能修改此页内容。`));
  }
  const apply = () => {
    for (const el of root.querySelectorAll("[data-permission]")) {
      const hide = !can(el.dataset.permission);
      if (el.hidden !== hide) el.hidden = hide;
    }
  };
  apply();
  // Pages draw lists after their first render (a query, a refresh): check what they add too.
  new MutationObserver(apply).observe(root, { childList: true, subtree: true });
}
