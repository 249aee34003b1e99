// Flows (guided, multi-step conversations): list, enable/disable, edit, delete, and per-node
// drop-off. A flow is a graph of nodes; the editor keeps the simple settings as form fields and
// the nodes as JSON (the server validates the graph and says exactly what is wrong).

import { del, get, keyedPost, patch, put } from "./api.js";
import { barChart } from "./charts.js";
import { badge, confirmDialog, errorLine, field, h, lines, notify, pageHeader, run, showError, table } from "./ui.js";

const SAMPLE_NODES = [
  {
    id: "start",
    prompt: { type: "text", content: "请选择业务：\n1. 信用卡\n2. 理财\n回复「退出」结束" },
    options: [
      { keywords: ["信用卡"], next: "card" },
      { keywords: ["理财"], reply: { type: "text", content: "理财产品请见菜单「理财」。" } },
    ],
  },
  {
    id: "card",
    prompt: { type: "text", content: "1. 办卡进度\n2. 账单查询" },
    options: [
      { keywords: ["进度"], reply: { type: "text", content: "办卡进度请拨打 95588 查询。" } },
      { keywords: ["账单"], reply: { type: "text", content: "账单请在手机银行查看。" } },
    ],
  },
];

export async function render(view, params) {
  if (params[0] && params[1] === "stats") return stats(view, params[0]);
  if (params[0]) return editor(view, params[0] === "new" ? null : params[0]);
  const { items } = await get("/admin/flows");
  const rows = items.map((flow) => {
    const toggle = h("input", {
      type: "checkbox",
      class: "switch",
      checked: flow.enabled,
      "aria-label": "启用",
      onchange: async () => {
        const wanted = toggle.checked;
        if (!(await run(toggle, () => patch(`/admin/flows/${flow.id}`, { enabled: wanted })))) toggle.checked = !wanted;
        else notify(wanted ? "已启用" : "已停用");
      },
    });
    const entry = flow.entry || {};
    return h(
      "tr",
      { "data-id": flow.id },
      h("td", {}, h("a", { href: `#/flows/${flow.id}` }, flow.name)),
      h("td", {}, [...(entry.keywords || []), ...(entry.click_keys || []).map((k) => `菜单:${k}`)].map((k) => badge(k))),
      h("td", { class: "num" }, (flow.nodes || []).length),
      h("td", { class: "num" }, flow.priority),
      h("td", {}, toggle),
      h(
        "td",
        { class: "actions" },
        h("a", { class: "btn btn-small", href: `#/flows/${flow.id}` }, "编辑"),
        h("a", { class: "btn btn-small", href: `#/flows/${flow.id}/stats` }, "数据"),
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small btn-danger",
            onclick: async (event) => {
              if (!(await confirmDialog(`删除多轮对话「${flow.name}」？正在对话中的用户会在下条消息时退出。`, { ok: "删除" }))) return;
              if ((await run(event.target, () => del(`/admin/flows/${flow.id}`))) !== undefined) {
                notify("已删除");
                view.replaceChildren();
                render(view, []).catch(showError);
              }
            },
          },
          "删除",
        ),
      ),
    );
  });
  view.append(
    pageHeader("多轮对话", h("a", { class: "btn btn-primary", href: "#/flows/new" }, "新建对话")),
    h("p", { class: "muted" }, "用户发送入口关键词（或点击菜单）后进入对话，按节点一步步回复；「返回」回到上一步，「退出」结束。"),
    table(["名称", "入口", "节点数", "优先级", "启用", ""], rows, "还没有多轮对话"),
  );
}

async function editor(view, id) {
  const flow = id ? await get(`/admin/flows/${encodeURIComponent(id)}`) : null;
  const entry = (flow && flow.entry) || {};
  const name = h("input", { class: "input", id: "flow-name", maxlength: 100, value: flow ? flow.name : "" });
  const priority = h("input", { class: "input", type: "number", value: flow ? flow.priority : 0 });
  const enabled = h("input", { type: "checkbox", checked: flow ? flow.enabled : true });
  const match = h(
    "select",
    { class: "input" },
    ["exact", "contains", "prefix", "regex"].map((m) => h("option", { value: m, selected: (entry.match || "exact") === m }, m)),
  );
  const keywords = h("textarea", { class: "input", rows: 2, id: "flow-keywords" });
  keywords.value = (entry.keywords || []).join("\n");
  const clicks = h("input", { class: "input", value: (entry.click_keys || []).join(", ") });
  const timeout = h("input", { class: "input", type: "number", min: 30, value: flow ? flow.timeout_seconds : 600 });
  const nodes = h("textarea", { class: "input mono", rows: 18, id: "flow-nodes" });
  nodes.value = JSON.stringify(flow ? flow.nodes : SAMPLE_NODES, null, 2);
  const error = errorLine();
  const save = h("button", { type: "submit", class: "btn btn-primary", id: "flow-save" }, "保存");
  const create = keyedPost(); // one Idempotency-Key per submission, kept for its retries
  const form = h(
    "form",
    { class: "card form", id: "flow-form" },
    field("名称", name),
    h("div", { class: "row" }, field("入口匹配", match), field("优先级", priority, "高于同级关键词规则"), field("超时（秒）", timeout)),
    field("入口关键词", keywords, "每行一个"),
    field("入口菜单 EventKey", clicks, "逗号分隔，可留空"),
    h("label", { class: "check" }, enabled, " 启用"),
    field("节点（JSON）", nodes, "每个节点：id、prompt（回复对象）、options（keywords / number / pattern，加 next 或 reply）。无 options 的节点是终点。"),
    error,
    h("div", { class: "form-actions" }, save, h("a", { class: "btn", href: "#/flows" }, "取消")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const saved = await run(
      save,
      () => {
        let parsed;
        try {
          parsed = JSON.parse(nodes.value);
        } catch (err) {
          throw new Error(`节点 JSON 无法解析：${err.message}`);
        }
        const body = {
          name: name.value,
          priority: Number(priority.value || 0),
          enabled: enabled.checked,
          entry: { match: match.value, keywords: lines(keywords.value), click_keys: lines(clicks.value) },
          timeout_seconds: Number(timeout.value || 600),
          nodes: parsed,
        };
        return flow ? put(`/admin/flows/${flow.id}`, body) : create("/admin/flows", body);
      },
      error,
    );
    if (saved) {
      notify("已保存");
      location.hash = "#/flows";
    }
  });
  view.append(pageHeader(flow ? `编辑：${flow.name}` : "新建多轮对话"), form);
}

async function stats(view, id) {
  const data = await get(`/admin/flows/${encodeURIComponent(id)}/stats`);
  const totals = data.totals || {};
  const rate = totals.completion_rate === null || totals.completion_rate === undefined ? "—" : `${Math.round(totals.completion_rate * 100)}%`;
  const nodes = data.nodes || [];
  view.append(
    pageHeader(`数据：${data.name || id}`, h("a", { class: "btn", href: "#/flows" }, "返回")),
    h("p", { class: "muted" }, `${data.from} 至 ${data.to}`),
    h(
      "div",
      { class: "cards" },
      [["进入", totals.entered], ["完成", totals.completed], ["退出", totals.exited], ["超时", totals.timed_out], ["完成率", rate]].map(([label, value]) =>
        h("div", { class: "card stat" }, h("span", { class: "stat-label" }, label), h("strong", {}, value ?? 0)),
      ),
    ),
    h(
      "div",
      { class: "card" },
      barChart(
        "各节点到达与流失",
        nodes.map((n) => n.id),
        [
          { name: "到达", values: nodes.map((n) => n.reached || 0) },
          { name: "流失", values: nodes.map((n) => n.dropped || 0) },
        ],
      ),
    ),
  );
}
