// Followers: search (filters combine), one follower with recent messages, remark and local tags.

import { get, patch } from "./api.js";
import { badge, errorLine, field, fmtTime, h, lines, notify, pageHeader, run, showError, table } from "./ui.js";

export async function render(view, params) {
  if (params[0]) return detail(view, params[0]);
  const q = h("input", { class: "input", type: "search", id: "followers-q", placeholder: "昵称、备注或 openid 前缀" });
  const tag = h("input", { class: "input", placeholder: "标签" });
  const region = h("input", { class: "input", placeholder: "如：广东 深圳" });
  const subscribed = h(
    "select",
    { class: "input" },
    h("option", { value: "" }, "全部"),
    h("option", { value: "true" }, "已关注"),
    h("option", { value: "false" }, "已取关"),
  );
  const since = h("input", { class: "input", type: "date" });
  const rows = h("tbody", {});
  const more = h("button", { type: "button", class: "btn", hidden: true }, "加载更多");
  const status = h("p", { class: "muted" });
  let cursor = null;
  let shown = 0;
  const filters = h(
    "form",
    { class: "toolbar" },
    field("搜索", q),
    field("标签", tag),
    field("地区", region),
    field("状态", subscribed),
    field("活跃于此后", since),
    h("button", { type: "submit", class: "btn btn-primary" }, "查询"),
  );
  let latest = 0; // a new search drops the answers to older ones (the first load, "more")
  async function load(reset) {
    if (reset) {
      latest += 1;
      rows.replaceChildren();
      cursor = null;
      shown = 0;
    }
    const ticket = latest;
    const data = await get("/admin/followers", {
      q: q.value.trim(),
      tag: tag.value.trim(),
      region: region.value.trim(),
      subscribed: subscribed.value,
      active_since: since.value,
      limit: 50,
      cursor,
    });
    if (ticket !== latest) return;
    for (const f of data.items) {
      rows.append(
        h(
          "tr",
          {},
          h("td", { class: "mono" }, h("a", { href: `#/followers/${encodeURIComponent(f.openid)}` }, f.openid)),
          h("td", {}, f.nickname || "—"),
          h("td", {}, f.remark || ""),
          h("td", {}, (f.tags || []).map((t) => badge(t))),
          h("td", {}, f.region || "—"),
          h("td", {}, f.subscribed ? badge("已关注", "ok") : badge("已取关", "muted")),
          h("td", { class: "nowrap" }, fmtTime(f.last_interaction_at)),
        ),
      );
    }
    shown += data.items.length;
    cursor = data.cursor;
    more.hidden = !cursor;
    status.textContent = `已显示 ${shown} 位${cursor ? "，还有更多" : ""}`;
  }
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    load(true).catch(showError);
  });
  more.addEventListener("click", () => run(more, () => load(false)));
  view.append(
    pageHeader("粉丝"),
    filters,
    h(
      "div",
      { class: "table-wrap" },
      h("table", { class: "table" }, h("thead", {}, h("tr", {}, ["openid", "昵称", "备注", "标签", "地区", "状态", "最近互动"].map((t) => h("th", {}, t)))), rows),
    ),
    status,
    more,
  );
  await load(true);
}

async function detail(view, openid) {
  const [data, allowance, consents] = await Promise.all([
    get(`/admin/followers/${encodeURIComponent(openid)}`, { messages: 20 }),
    get("/admin/messages/custom/allowance", { openid }).catch(() => null),
    get("/admin/subscribe/consents", { openid }).catch(() => null),
  ]);
  const f = data.follower;
  const remark = h("input", { class: "input", maxlength: 29, value: f.remark || "" });
  const tags = h("input", { class: "input", value: (f.tags || []).join(", ") });
  const error = errorLine();
  const save = h("button", { type: "submit", class: "btn btn-primary" }, "保存");
  const form = h("form", { class: "card form" }, h("div", { class: "row" }, field("备注（同步到微信）", remark), field("标签", tags, "逗号分隔")), error, h("div", { class: "form-actions" }, save));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await run(save, () => patch(`/admin/followers/${encodeURIComponent(openid)}`, { remark: remark.value, tags: lines(tags.value) }), error)) notify("已保存");
  });
  const info = [
    ["昵称", f.nickname || "—"],
    ["状态", f.subscribed ? "已关注" : "已取关"],
    ["地区", f.region || "—"],
    ["首次关注", fmtTime(f.first_subscribed_at)],
    ["最近互动", fmtTime(f.last_interaction_at)],
    ["客服消息窗口", csWindow(f, allowance)],
  ];
  const subscriptions = ((consents && consents.items) || []).map((c) =>
    h(
      "tr",
      {},
      h("td", {}, c.title || c.template_id),
      h("td", {}, c.kind === "long_term" ? "长期" : "一次性"),
      h("td", {}, c.status === "accept" ? badge("同意", "ok") : c.status === "reject" ? badge("拒绝", "muted") : "—"),
      h("td", { class: "num" }, c.left === null ? "—" : c.left),
    ),
  );
  view.append(
    pageHeader(`粉丝：${f.nickname || openid}`, h("a", { class: "btn", href: "#/followers" }, "返回")),
    h("dl", { class: "card facts" }, info.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    form,
    h("h2", {}, "订阅通知"),
    table(["模板", "类型", "态度", "剩余次数"], subscriptions, "没有订阅通知模板"),
    h("h2", {}, "最近消息"),
    table(
      ["时间", "类型", "内容", "处理"],
      data.recent_messages.map((m) => h("tr", {}, h("td", { class: "nowrap" }, fmtTime(m.created_at)), h("td", {}, m.event ? `event · ${m.event}` : m.msg_type), h("td", { class: "clip" }, m.content), h("td", {}, m.outcome || "—"))),
      "没有消息",
    ),
  );
}

// The exact window (read from the follower's timeline at this moment), else the record's.
function csWindow(f, allowance) {
  if (allowance) {
    if (!allowance.remaining) return allowance.window_until ? `已用完或已关闭（窗口至 ${fmtTime(allowance.window_until)}）` : "已关闭";
    return `还可发 ${allowance.remaining} 条，至 ${fmtTime(allowance.window_until)}`;
  }
  return f.cs_window_open ? `开放至 ${fmtTime(f.cs_window_until)}` : "已关闭";
}
