// The special replies: what a new follower gets (subscribe) and what a message no rule matches
// gets (default).

import { ApiError, del, get, put } from "./api.js";
import { replyEditor } from "./replies.js";
import { confirmDialog, errorLine, h, notify, pageHeader, run } from "./ui.js";

const KINDS = [
  ["subscribe", "关注回复", "用户关注公众号时自动发送（图文最多 8 条）。"],
  ["default", "默认回复", "文字消息没有命中任何规则时发送。"],
];

async function load(kind) {
  try {
    return await get(`/admin/replies/${kind}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null; // not set yet
    throw err;
  }
}

export async function render(view) {
  view.append(pageHeader("关注 / 默认回复"));
  const current = await Promise.all(KINDS.map(([kind]) => load(kind)));
  KINDS.forEach(([kind, title, hint], i) => {
    const editor = replyEditor(current[i]);
    const error = errorLine();
    const state = h("span", { class: "muted" }, current[i] ? "" : "（未设置）");
    const save = h("button", { type: "submit", class: "btn btn-primary", "data-role": "save" }, "保存");
    const remove = h(
      "button",
      {
        type: "button",
        class: "btn btn-danger",
        "data-role": "clear",
        onclick: async () => {
          if (!(await confirmDialog(`清除${title}？之后将不再自动回复。`, { ok: "清除" }))) return;
          const done = await run(remove, () => del(`/admin/replies/${kind}`), error);
          if (done !== undefined) {
            notify(`${title}已清除`);
            state.textContent = "（未设置）";
          }
        },
      },
      "清除",
    );
    const form = h(
      "form",
      { class: "card form", id: `reply-${kind}` },
      h("h2", {}, title, " ", state),
      h("p", { class: "muted" }, hint),
      editor.el,
      error,
      h("div", { class: "form-actions" }, save, remove),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const saved = await run(save, () => put(`/admin/replies/${kind}`, editor.value()), error);
      if (saved !== undefined) {
        notify(`${title}已保存`);
        state.textContent = "";
      }
    });
    view.append(form);
  });
}
