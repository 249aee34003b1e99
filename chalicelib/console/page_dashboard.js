// The dashboard: message traffic, follower growth, rule hits, top and unanswered questions,
// and WeChat's own statistics, read from /admin/stats/* and drawn as SVG charts. Each panel loads on its own and shows its
// own error, so one failing route does not blank the page.

import { get } from "./api.js";
import { barChart, lineChart, rankChart } from "./charts.js";
import { field, fmtTime, h, pageHeader, table } from "./ui.js";

const OUTCOMES = { rule: "规则", default: "默认回复", unanswered: "未回复", subscribe: "关注", flow: "多轮对话", location: "位置", none: "无需回复" };

function panel(title, className = "") {
  const body = h("div", { class: "panel-body" }, h("p", { class: "muted" }, "加载中…"));
  return { el: h("section", { class: `card panel ${className}`, "data-panel": title }, h("h2", {}, title), body), body };
}

async function fill(target, load) {
  try {
    const content = await load();
    target.body.replaceChildren(...[content].flat());
  } catch (err) {
    target.body.replaceChildren(h("p", { class: "form-error", role: "alert" }, `无法加载：${err.message}`));
  }
}

const short = (date) => date.slice(5); // MM-DD
const WIDE = { width: 1100, height: 260 }; // full-width panels: keeps the labels' size

export async function render(view) {
  // Empty at first: the server picks the last 7 days in the account's time zone (the browser's
  // "today" may already be another day), and the answer fills the fields in.
  const from = h("input", { class: "input", type: "date", id: "stats-from" });
  const to = h("input", { class: "input", type: "date", id: "stats-to" });
  const form = h("form", { class: "toolbar" }, field("从", from), field("到", to), h("button", { type: "submit", class: "btn btn-primary" }, "刷新"));
  const grid = h("div", { class: "dashboard" });
  view.append(pageHeader("数据概览"), form, grid);

  function load() {
    const range = { from: from.value, to: to.value };
    const totals = panel("概览", "wide");
    const traffic = panel("每日消息", "wide");
    const hours = panel("时段分布");
    const growth = panel("粉丝增长");
    const rules = panel("规则命中排行");
    const keywords = panel("热门提问");
    const outcomes = panel("消息去向");
    const unanswered = panel("未解决的提问", "wide");
    const official = panel("微信官方统计", "wide");
    grid.replaceChildren(...[totals, traffic, hours, growth, rules, keywords, outcomes, unanswered, official].map((p) => p.el));

    const messages = get("/admin/stats/messages", range).then((m) => {
      from.value = m.from;
      to.value = m.to;
      return m;
    });
    const followers = get("/admin/stats/followers", range);
    fill(totals, async () => {
      const [m, f] = await Promise.all([messages, followers]);
      const outcomes = m.totals.outcomes || {};
      const answered = (outcomes.rule || 0) + (outcomes.flow || 0) + (outcomes.location || 0);
      const asked = answered + (outcomes.default || 0) + (outcomes.unanswered || 0);
      return h(
        "div",
        { class: "cards" },
        [
          ["消息", m.totals.messages],
          ["事件", m.totals.events],
          ["新增关注", f.totals.new],
          ["取消关注", f.totals.lost],
          ["净增", f.totals.net],
          ["规则解决率", asked ? `${Math.round((100 * answered) / asked)}%` : "—"],
        ].map(([label, value]) => h("div", { class: "stat" }, h("span", { class: "stat-label" }, label), h("strong", { "data-stat": label }, value ?? 0))),
      );
    });
    fill(traffic, async () => {
      const m = await messages;
      return lineChart("每日消息与事件", m.days.map((d) => short(d.date)), [
        { name: "消息", values: m.days.map((d) => d.messages || 0) },
        { name: "事件", values: m.days.map((d) => d.events || 0) },
        { name: "未回复", values: m.days.map((d) => (d.outcomes || {}).unanswered || 0) },
      ], WIDE);
    });
    fill(hours, async () => {
      const m = await messages;
      return barChart("按小时（本地时间）", m.hours.map((x) => String(x.hour)), [{ name: "消息", values: m.hours.map((x) => x.total || 0) }]);
    });
    fill(growth, async () => {
      const f = await followers;
      return barChart("每日关注与取关", f.days.map((d) => short(d.date)), [
        { name: "关注", values: f.days.map((d) => d.new || 0) },
        { name: "取关", values: f.days.map((d) => d.lost || 0) },
      ]);
    });
    fill(rules, async () => {
      const r = await get("/admin/stats/rules", range);
      return rankChart("命中次数", r.items.slice(0, 10).map((x) => ({ label: x.name || `${x.rule_id}（已删除）`, value: x.hits })));
    });
    fill(keywords, async () => {
      const k = await get("/admin/stats/keywords", { ...range, limit: 10 });
      return rankChart("出现次数", k.items.map((x) => ({ label: x.text, value: x.count })));
    });
    fill(outcomes, async () => {
      const m = await messages;
      const counts = Object.entries(m.totals.outcomes || {}).sort((a, b) => b[1] - a[1]);
      return rankChart("条数", counts.map(([key, value]) => ({ label: OUTCOMES[key] || key, value })));
    });
    fill(unanswered, async () => {
      const u = await get("/admin/stats/unanswered", { ...range, limit: 20 });
      return [
        h("p", { class: "muted" }, `共 ${u.total} 条未解决，${u.distinct} 种问法。可据此补充关键词规则。`),
        table(
          ["问法", "次数", "最近", "原话示例"],
          u.items.map((x) => h("tr", {}, h("td", {}, x.text), h("td", { class: "num" }, x.count), h("td", { class: "nowrap" }, fmtTime(x.last_seen)), h("td", { class: "clip" }, x.sample))),
          "没有未解决的提问",
        ),
      ];
    });
    // WeChat's own daily figures (datacube, synced daily), beside our counters above.
    fill(official, async () => {
      const m = await messages; // the same days as the panels above
      const w = await get("/admin/stats/wechat", { from: m.from, to: m.to });
      const days = w.items;
      const sum = (pick) => days.reduce((n, d) => n + (pick(d) || 0), 0);
      const last = days.length ? days[days.length - 1] : null;
      const cards = [
        ["微信统计：新增关注", sum((d) => d.followers.new)],
        ["微信统计：取消关注", sum((d) => d.followers.cancelled)],
        ["粉丝总数", last && last.followers.total !== null ? last.followers.total : "—"],
        ["图文阅读", sum((d) => d.articles.reads)],
        ["分享", sum((d) => d.articles.shares)],
      ];
      return [
        h("p", { class: "muted" }, w.synced_through ? `微信按日统计，已同步至 ${w.synced_through}（当天的数据次日才有）。` : "尚未同步微信的统计（每日自动同步）。"),
        h("div", { class: "cards" }, cards.map(([label, value]) => h("div", { class: "stat" }, h("span", { class: "stat-label" }, label), h("strong", { "data-stat": label }, value)))),
        days.length
          ? lineChart("每日新增关注与图文阅读（微信统计）", days.map((d) => short(d.date)), [
              { name: "新增关注", values: days.map((d) => d.followers.new) },
              { name: "图文阅读", values: days.map((d) => d.articles.reads) },
            ], WIDE)
          : null,
      ].filter(Boolean);
    });
    return Promise.allSettled([messages, followers]);
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  await load();
}
