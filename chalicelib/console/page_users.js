// People and their roles (Amazon Cognito behind the API), and the four-eyes setting. A user is
// created with a first password; disabling or deleting one stops their sessions within seconds.

import { del, get, keyedPost, patch, put } from "./api.js";
import { ROLE_NAMES, can } from "./session.js";
import { badge, confirmDialog, errorLine, field, fmtTime, h, notify, pageHeader, run, showError, table } from "./ui.js";

const ROLES = ["admin", "editor", "operator", "analyst", "agent", "notifier"];
const ROLE_HELP = {
  admin: "全部权限，含成员、密钥和操作日志",
  editor: "读全部；改关键词、回复、知识库、多轮对话、文章、分类、素材、菜单、网点",
  operator: "读全部；群发（不能审批）、粉丝、标签",
  analyst: "只读（成员、密钥、操作日志除外）",
  agent: "读消息、粉丝和会话，回复粉丝",
  notifier: "只能发送模板通知（给系统用）",
};

function roleSelect(id, selected) {
  return h(
    "select",
    { class: "input", id },
    ROLES.map((role) => h("option", { value: role, selected: role === selected }, `${ROLE_NAMES[role]}（${role}）`)),
  );
}

export async function render(view) {
  const [data, approvals] = await Promise.all([get("/admin/users"), get("/admin/settings/approvals")]);
  const redraw = () => {
    view.replaceChildren();
    render(view).catch(showError);
  };
  const rows = data.items.map((user) => {
    const role = roleSelect(`role-${user.username}`, user.role);
    role.setAttribute("data-role", "user-role");
    role.addEventListener("change", async () => {
      const done = await run(role, () => patch(`/admin/users/${encodeURIComponent(user.username)}`, { role: role.value }));
      if (done) notify(`「${user.username}」的角色已改为 ${ROLE_NAMES[done.role]}`);
      else role.value = user.role;
    });
    const toggle = h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        "data-role": user.disabled ? "user-enable" : "user-disable",
        onclick: async (event) => {
          const done = await run(event.target, () => patch(`/admin/users/${encodeURIComponent(user.username)}`, { disabled: !user.disabled }));
          if (done) {
            notify(done.disabled ? `已停用「${user.username}」` : `已启用「${user.username}」`);
            redraw();
          }
        },
      },
      user.disabled ? "启用" : "停用",
    );
    const remove = h(
      "button",
      {
        type: "button",
        class: "btn btn-small btn-danger",
        "data-role": "user-delete",
        onclick: async (event) => {
          if (!(await confirmDialog(`删除成员「${user.username}」？其登录将在数秒内失效。`, { ok: "删除" }))) return;
          if ((await run(event.target, () => del(`/admin/users/${encodeURIComponent(user.username)}`))) !== undefined) {
            notify("成员已删除");
            redraw();
          }
        },
      },
      "删除",
    );
    return h(
      "tr",
      { "data-username": user.username },
      h("td", { class: "mono" }, user.username),
      h("td", {}, can("users:write") ? role : ROLE_NAMES[user.role]),
      h("td", {}, user.disabled ? badge("已停用", "muted") : badge("正常", "ok")),
      h("td", {}, user.created_by || "—"),
      h("td", { class: "nowrap" }, fmtTime(user.created_at)),
      h("td", { class: "actions", "data-permission": "users:write" }, toggle, remove),
    );
  });

  const username = h("input", { class: "input mono", id: "user-username", required: true, pattern: "[a-z0-9._\\-]{3,64}", placeholder: "zhang.wei" });
  const password = h("input", { class: "input", id: "user-password", type: "password", autocomplete: "new-password", required: true });
  const role = roleSelect("user-role-new", "editor");
  const help = h("span", { class: "field-hint" }, ROLE_HELP.editor);
  role.addEventListener("change", () => { help.textContent = ROLE_HELP[role.value]; });
  const error = errorLine();
  const submit = h("button", { type: "submit", class: "btn btn-primary", "data-role": "user-create" }, "添加成员");
  const create = keyedPost();
  const form = h(
    "form",
    { class: "card form", id: "user-form", "data-permission": "users:write" },
    h("h2", {}, "添加成员"),
    h("div", { class: "row" }, field("用户名", username, "3–64 位小写字母、数字、. _ -"), field("初始密码", password, "须符合用户池的密码策略"), field("角色", role, help)),
    error,
    h("div", { class: "form-actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const made = await run(submit, () => create("/admin/users", { username: username.value.trim(), password: password.value, role: role.value }), error);
    if (made) {
      notify(`已添加「${made.username}」（${ROLE_NAMES[made.role]}）`);
      redraw();
    }
  });

  const fourEyes = h("input", { type: "checkbox", class: "switch", id: "approvals-campaigns", checked: approvals.campaigns, "data-readonly-ok": true });
  fourEyes.addEventListener("change", async () => {
    const wanted = fourEyes.checked;
    const done = await run(fourEyes, () => put("/admin/settings/approvals", { campaigns: wanted }));
    if (done) notify(wanted ? "群发需经另一位管理员批准" : "群发无需审批");
    else fourEyes.checked = !wanted;
  });
  const settings = h(
    "div",
    { class: "card", id: "approvals-card", "data-permission": "settings:write" },
    h("h2", {}, "审批（四眼原则）"),
    h("label", { class: "check" }, fourEyes, "新建群发须由创建人以外的管理员批准后才会发送"),
  );

  view.append(
    pageHeader("成员与角色"),
    h("p", { class: "muted" }, "成员在 Amazon Cognito 中登录；角色决定能看和能改什么。所有者令牌（ADMIN_TOKEN）仅供应急。"),
    table(["用户名", "角色", "状态", "创建人", "创建时间", ""], rows, "还没有成员"),
    form,
    settings,
  );
}
