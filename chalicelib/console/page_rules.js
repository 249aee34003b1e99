// Keyword and menu-click rules: list, create, edit, enable/disable, delete.

import { del, get, keyedPost, patch, put } from "./api.js";
import { replyEditor, summarize } from "./replies.js";
import { badge, confirmDialog, errorLine, field, h, notify, pageHeader, run, table } from "./ui.js";

const MATCHES = [
  ["exact", "完全匹配"],
  ["contains", "包含"],
  ["prefix", "开头是"],
  ["regex", "正则表达式"],
  ["click", "菜单点击 (EventKey)"],
];
const matchLabel = (m) => (MATCHES.find(([k]) => k === m) || [m, m])[1];

export async function render(view, params) {
  if (params[0]) return editor(view, params[0] === "new" ? null : params[0]);
  const data = await get("/admin/rules");
  const rows = data.items.map((rule) => {
    const toggle = h("input", {
      type: "checkbox",
      class: "switch",
      checked: rule.enabled,
      "aria-label": "启用",
      "data-role": "rule-enabled",
      onchange: async () => {
        const wanted = toggle.checked;
        const result = await run(toggle, () => patch(`/admin/rules/${rule.id}`, { enabled: wanted }));
        if (result) notify(wanted ? `已启用「${rule.name}」` : `已停用「${rule.name}」`);
        else toggle.checked = !wanted;
      },
    });
    return h(
      "tr",
      { "data-id": rule.id, "data-name": rule.name },
      h("td", {}, h("a", { href: `#/rules/${rule.id}` }, rule.name)),
      h("td", {}, matchLabel(rule.match)),
      h("td", {}, rule.keywords.map((k) => badge(k))),
      h("td", { class: "clip" }, summarize(rule.reply)),
      h("td", { class: "num" }, rule.priority),
      h("td", {}, toggle),
      h(
        "td",
        { class: "actions" },
        h("a", { class: "btn btn-small", href: `#/rules/${rule.id}` }, "编辑"),
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small btn-danger",
            "data-role": "rule-delete",
            onclick: async (event) => {
              if (!(await confirmDialog(`删除规则「${rule.name}」？此操作不可撤销。`, { ok: "删除" }))) return;
              const done = await run(event.target, () => del(`/admin/rules/${rule.id}`));
              if (done !== undefined) {
                notify("规则已删除");
                view.replaceChildren();
                render(view, []);
              }
            },
          },
          "删除",
        ),
      ),
    );
  });
  view.append(
    pageHeader("关键词回复", h("a", { class: "btn btn-primary", href: "#/rules/new", "data-role": "rule-new" }, "新建规则")),
    h("p", { class: "muted" }, "多条规则同时命中时，优先级高的生效；优先级相同时，先创建的生效。修改约 2 秒内对粉丝生效。"),
    table(["名称", "匹配方式", "关键词", "回复", "优先级", "启用", ""], rows, "还没有规则"),
  );
}

async function editor(view, id) {
  const rule = id ? await get(`/admin/rules/${encodeURIComponent(id)}`) : null;
  const name = h("input", { class: "input", id: "rule-name", maxlength: 100, required: true, value: rule ? rule.name : "" });
  const match = h(
    "select",
    { class: "input", id: "rule-match" },
    MATCHES.map(([value, label]) => h("option", { value, selected: rule ? rule.match === value : value === "exact" }, label)),
  );
  const keywords = h("textarea", { class: "input", id: "rule-keywords", rows: 3 });
  keywords.value = rule ? rule.keywords.join("\n") : "";
  const priority = h("input", { class: "input", id: "rule-priority", type: "number", value: rule ? rule.priority : 0 });
  const enabled = h("input", { type: "checkbox", id: "rule-enabled", checked: rule ? rule.enabled : true });
  const reply = replyEditor(rule ? rule.reply : null);
  const error = errorLine();
  const save = h("button", { type: "submit", class: "btn btn-primary", id: "rule-save" }, "保存");
  const create = keyedPost(); // one Idempotency-Key per submission, kept for its retries
  const form = h(
    "form",
    { class: "card form", id: "rule-form" },
    field("名称", name),
    h("div", { class: "row" }, field("匹配方式", match), field("优先级", priority, "数字越大越优先")),
    field("关键词", keywords, "每行一个（也可用逗号分隔）；正则表达式每行一个模式；菜单点击填 EventKey"),
    h("label", { class: "check" }, enabled, " 启用"),
    h("h2", {}, "回复"),
    reply.el,
    error,
    h("div", { class: "form-actions" }, save, h("a", { class: "btn", href: "#/rules" }, "取消")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const saved = await run(
      save,
      () => {
        const body = {
          name: name.value,
          match: match.value,
          keywords: keywords.value.split(/\n|,|，/).map((s) => s.trim()).filter(Boolean),
          priority: Number(priority.value || 0),
          enabled: enabled.checked,
          reply: reply.value(),
        };
        return rule ? put(`/admin/rules/${rule.id}`, body) : create("/admin/rules", body);
      },
      error,
    );
    if (saved) {
      notify(`规则「${saved.name}」已保存`);
      location.hash = "#/rules";
    }
  });
  view.append(pageHeader(rule ? `编辑规则：${rule.name}` : "新建规则"), form);
}
