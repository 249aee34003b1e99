// API keys for systems (a core-banking notifier, a reporting job): a name and a role. The key is
// shown once, right after it is made; the server keeps only its hash. Revoking stops it within
// seconds.

import { del, get, keyedPost } from "./api.js";
import { ROLE_NAMES } from "./session.js";
import { badge, confirmDialog, errorLine, field, fmtTime, h, notify, pageHeader, run, showError, table } from "./ui.js";

const ROLES = ["notifier", "analyst", "agent", "editor", "operator", "admin"];

export async function render(view) {
  const data = await get("/admin/api-keys");
  const redraw = () => {
    view.replaceChildren();
    render(view).catch(showError);
  };
  const rows = data.items.map((key) =>
    h(
      "tr",
      { "data-id": key.id, "data-name": key.name },
      h("td", { class: "mono" }, key.name),
      h("td", {}, ROLE_NAMES[key.role] || key.role),
      h("td", {}, key.revoked ? badge("已吊销", "muted") : badge("有效", "ok")),
      h("td", {}, key.created_by || "—"),
      h("td", { class: "nowrap" }, fmtTime(key.created_at)),
      h(
        "td",
        { class: "actions", "data-permission": "keys:write" },
        key.revoked
          ? null
          : h(
              "button",
              {
                type: "button",
                class: "btn btn-small btn-danger",
                "data-role": "key-delete",
                onclick: async (event) => {
                  if (!(await confirmDialog(`吊销密钥「${key.name}」？使用它的系统将在数秒内无法访问。`, { ok: "吊销" }))) return;
                  if ((await run(event.target, () => del(`/admin/api-keys/${encodeURIComponent(key.id)}`))) !== undefined) {
                    notify("密钥已吊销");
                    redraw();
                  }
                },
              },
              "吊销",
            ),
      ),
    ),
  );
  const name = h("input", { class: "input mono", id: "key-name", required: true, pattern: "[A-Za-z0-9._\\-]{1,64}", placeholder: "core-bank-notify" });
  const role = h("select", { class: "input", id: "key-role" }, ROLES.map((r) => h("option", { value: r }, `${ROLE_NAMES[r]}（${r}）`)));
  const error = errorLine();
  const submit = h("button", { type: "submit", class: "btn btn-primary", "data-role": "key-create" }, "创建密钥");
  const shown = h("div", { "data-role": "key-shown" });
  const create = keyedPost();
  const form = h(
    "form",
    { class: "card form", id: "key-form", "data-permission": "keys:write" },
    h("h2", {}, "创建密钥"),
    h("div", { class: "row" }, field("名称", name, "操作日志中记为 key:<名称>"), field("角色", role)),
    error,
    h("div", { class: "form-actions" }, submit),
    shown,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const made = await run(submit, () => create("/admin/api-keys", { name: name.value.trim(), role: role.value }), error);
    if (!made) return;
    const listed = await get("/admin/api-keys");
    view.querySelector(".table-wrap").replaceWith(table(["名称", "角色", "状态", "创建人", "创建时间", ""], listed.items.map((k) => h("tr", { "data-id": k.id }, h("td", { class: "mono" }, k.name), h("td", {}, ROLE_NAMES[k.role]), h("td", {}, k.revoked ? badge("已吊销", "muted") : badge("有效", "ok")), h("td", {}, k.created_by || "—"), h("td", {}, fmtTime(k.created_at)), h("td", {})))));
    shown.replaceChildren(
      h(
        "div",
        { class: "key-once" },
        h("p", {}, "请立即复制并妥善保存，此密钥只显示这一次："),
        h("code", { class: "mono", "data-role": "new-key" }, made.key),
        h("p", { class: "muted" }, "调用时发送 Authorization: Bearer <密钥>。"),
      ),
    );
    form.reset();
  });
  view.append(
    pageHeader("API 密钥"),
    h("p", { class: "muted" }, "给其他系统用的密钥：每个密钥有一个角色；服务器只保存其哈希。"),
    table(["名称", "角色", "状态", "创建人", "创建时间", ""], rows, "还没有密钥"),
    form,
  );
}
