// The message log, newest first, optionally for one follower.

import { get } from "./api.js";
import { badge, field, h, pageHeader, table, fmtTime } from "./ui.js";

const OUTCOMES = { rule: "规则", default: "默认回复", subscribe: "关注回复", unanswered: "未回复", none: "无" };

export async function render(view, params) {
  const openid = h("input", { class: "input", id: "messages-openid", placeholder: "openid（可选）", value: params[0] || "" });
  const limit = h("select", { class: "input" }, [20, 50, 100, 200].map((n) => h("option", { value: n, selected: n === 50 }, n)));
  const results = h("div", {});
  const form = h(
    "form",
    { class: "toolbar" },
    field("粉丝 openid", openid),
    field("条数", limit),
    h("button", { type: "submit", class: "btn btn-primary" }, "查询"),
  );
  let latest = 0; // answers to an older query are dropped, never shown
  async function load() {
    const ticket = ++latest;
    const data = await get("/admin/messages", { openid: openid.value.trim(), limit: limit.value });
    if (ticket !== latest) return;
    results.replaceChildren(
      table(
        ["时间", "粉丝", "类型", "内容", "处理"],
        data.items.map((m) =>
          h(
            "tr",
            {},
            h("td", { class: "nowrap" }, fmtTime(m.created_at)),
            h("td", { class: "mono" }, h("a", { href: `#/followers/${encodeURIComponent(m.openid)}` }, m.openid)),
            h("td", {}, m.event ? `event · ${m.event}` : m.msg_type),
            h("td", { class: "clip" }, m.content),
            h("td", {}, badge(OUTCOMES[m.outcome] || m.outcome || "—", m.outcome === "unanswered" ? "warn" : "")),
          ),
        ),
        "没有消息",
      ),
    );
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load().catch((err) => results.replaceChildren(h("p", { class: "form-error", role: "alert" }, err.message)));
  });
  view.append(pageHeader("消息记录"), form, results);
  await load();
}
