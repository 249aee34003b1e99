// The agent desk: followers whose customer-service window is open (newest first, with unread
// messages, what may still be sent and when the window ends), the thread both ways, and a reply
// box. WeChat allows 5 messages within 48 hours of a follower's message (3 within a minute of a
// click, subscribe or scan): the server counts every reply before WeChat is called and refuses
// past the limit. New messages appear without reloading (the page polls every few seconds).

import { get, post } from "./api.js";
import { summarize } from "./replies.js";
import { badge, errorLine, field, fmtTime, h, notify, pageHeader, run, showError } from "./ui.js";

const POLL_MS = 3000;
const STATUS = { open: "进行中", closed: "已关闭", transferred: "已转微信客服" };

export async function render(view, params) {
  const selected = params[0] || null;
  const filter = h(
    "select",
    { class: "input", id: "desk-filter" },
    h("option", { value: "" }, "全部窗口内会话"),
    h("option", { value: "open", selected: true }, "进行中"),
    h("option", { value: "closed" }, "已关闭"),
    h("option", { value: "transferred" }, "已转微信客服"),
  );
  const list = h("div", { class: "desk-list", id: "desk-list" });
  const pane = h("div", { class: "desk-thread", id: "desk-thread" }, h("p", { class: "muted" }, "选择左侧的会话"));
  view.append(pageHeader("客服工作台", field("显示", filter)), h("div", { class: "desk" }, list, pane));

  let threadView = null;
  async function loadList() {
    const data = await get("/admin/conversations", { status: filter.value, limit: 200 });
    list.replaceChildren(
      ...(data.items.length
        ? data.items.map((c) => item(c))
        : [h("p", { class: "muted", "data-role": "desk-empty" }, "没有窗口期内的会话")]),
    );
  }

  function item(c) {
    const active = c.openid === selected;
    const windowLeft = c.window_until ? Math.max(0, c.window_until - Date.now() / 1000) : 0;
    return h(
      "a",
      { class: `desk-item${active ? " active" : ""}`, href: `#/desk/${encodeURIComponent(c.openid)}`, "data-openid": c.openid },
      h("div", { class: "desk-item-head" },
        h("span", { class: "mono" }, c.openid),
        c.unread ? badge(`${c.unread} 条未读`, "warn") : null),
      h("div", { class: "desk-item-text" }, c.last_text || "—"),
      h("div", { class: "desk-item-meta muted" },
        `可发 ${c.remaining} 条 · 窗口剩 ${hours(windowLeft)}`,
        c.assigned_to ? ` · ${c.assigned_to}` : "",
        c.status !== "open" ? ` · ${STATUS[c.status] || c.status}` : ""),
    );
  }

  filter.addEventListener("change", () => loadList().catch(showError));
  await loadList();
  if (selected) {
    threadView = threadPane(pane, selected, () => loadList().catch(showError));
    await threadView.load();
  }
  // Poll while this page is shown; navigation replaces the view and the loop ends.
  const timer = setInterval(() => {
    if (!view.isConnected) {
      clearInterval(timer);
      return;
    }
    loadList().catch(() => {});
    if (threadView) threadView.load().catch(() => {});
  }, POLL_MS);
}

function hours(seconds) {
  if (seconds <= 0) return "0";
  if (seconds < 3600) return `${Math.ceil(seconds / 60)} 分钟`;
  return `${Math.floor(seconds / 3600)} 小时`;
}

function threadPane(pane, openid, changed) {
  const bubbles = h("div", { class: "desk-bubbles", "data-role": "desk-bubbles" });
  const facts = h("div", { class: "desk-facts", "data-role": "desk-facts" });
  const text = h("textarea", { class: "input", id: "desk-reply-text", rows: 3, maxlength: 2000, placeholder: "输入回复…" });
  const send = h("button", { type: "submit", class: "btn btn-primary", id: "desk-send" }, "发送");
  const error = errorLine();
  const agent = h("input", { class: "input", id: "desk-agent", value: sessionStorage.getItem("wxless.agent") || "", placeholder: "我的名字" });
  const kf = h("input", { class: "input", id: "desk-kf", placeholder: "name@微信号" });
  const form = h("form", { class: "desk-reply", id: "desk-reply" }, text, error, h("div", { class: "form-actions" }, send));
  const path = `/admin/conversations/${encodeURIComponent(openid)}`;
  const act = (name, body, done) => async (event) => {
    const result = await run(event.target, () => post(`${path}/${name}`, body ? body() : undefined));
    if (result) {
      notify(done);
      changed();
      load().catch(showError);
    }
  };
  pane.replaceChildren(
    h("div", { class: "desk-thread-head" },
      h("h2", { class: "mono" }, openid),
      facts,
      h("div", { class: "toolbar" },
        field("我的名字", agent),
        h("button", { type: "button", class: "btn btn-small", "data-role": "desk-assign",
          onclick: act("assign", () => { sessionStorage.setItem("wxless.agent", agent.value.trim()); return { agent: agent.value.trim() || null }; }, "已指派") }, "指派给我"),
        h("button", { type: "button", class: "btn btn-small", "data-role": "desk-close", onclick: act("close", null, "会话已关闭") }, "关闭会话"),
        field("微信客服账号", kf),
        h("button", { type: "button", class: "btn btn-small", "data-role": "desk-transfer",
          onclick: act("transfer", () => ({ kf_account: kf.value.trim() }), "已转接微信客服") }, "转接"),
      )),
    bubbles,
    form,
  );

  let shown = "";
  async function load() {
    const data = await get(path, { mark_read: true, limit: 100 });
    const c = data.conversation;
    facts.replaceChildren(
      badge(`可发 ${data.remaining} 条`, data.remaining ? "ok" : "warn"),
      " ",
      data.window_until ? `窗口至 ${fmtTime(data.window_until)}` : "窗口已关闭",
      c && c.assigned_to ? ` · 负责人 ${c.assigned_to}` : "",
      c ? ` · ${STATUS[c.status] || c.status}` : "",
    );
    send.disabled = !data.remaining;
    const key = JSON.stringify(data.items);
    if (key === shown) return; // nothing new: keep the scroll position
    shown = key;
    bubbles.replaceChildren(...data.items.map(bubble));
    bubbles.scrollTop = bubbles.scrollHeight;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const content = text.value.trim();
    if (!content) return;
    const body = { reply: { type: "text", content } };
    if (agent.value.trim()) body.agent = agent.value.trim();
    const sent = await run(send, () => post(`${path}/reply`, body), error);
    if (sent) {
      text.value = "";
      notify(`已发送，还可发 ${sent.remaining} 条`);
      changed();
      load().catch(showError);
    }
  });
  return { load };
}

function bubble(item) {
  const mine = item.direction === "out";
  const who = mine ? (item.by === "auto" ? "自动回复" : `客服 ${item.by}`) : "粉丝";
  const body = mine ? summarize(item.reply) : item.content;
  return h(
    "div",
    { class: `bubble ${mine ? "bubble-out" : "bubble-in"}${item.by === "auto" ? " bubble-auto" : ""}`, "data-direction": item.direction, "data-by": item.by || "" },
    h("div", { class: "bubble-meta muted" }, `${who} · ${fmtTime(item.at)}`),
    h("div", { class: "bubble-text" }, body || "—"),
  );
}
