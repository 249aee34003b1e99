// Campaigns: scheduled mass sends and template-message campaigns. List (with counts), create,
// detail (progress and WeChat's results) and cancel (only before it starts). The server checks
// WeChat's limits when a campaign is scheduled and says what is wrong.

import { get, keyedPost, post } from "./api.js";
import { approvalButtons, approvalFacts, STATUSES as APPROVAL_STATUSES } from "./campaign_approval.js";
import { articleFields } from "./replies.js";
import { templateEditor } from "./template_fields.js";
import { badge, confirmDialog, errorLine, field, fmtTime, h, lines, notify, pageHeader, run, showError, table } from "./ui.js";

const STATUSES = {
  scheduled: ["待发送", ""],
  running: ["发送中", "warn"],
  completed: ["已完成", "ok"],
  failed: ["失败", "warn"],
  cancelled: ["已取消", "muted"],
  ...APPROVAL_STATUSES,
};
const TYPES = { mass: "群发消息", template: "模板消息" };
const AUDIENCES = [
  ["all", "全部粉丝"],
  ["tag", "微信标签"],
  ["query", "按条件筛选粉丝"],
  ["openids", "指定 openid"],
];

const statusBadge = (status) => badge(...(STATUSES[status] || [status, ""]));

export async function render(view, params) {
  if (params[0] === "new") return editor(view);
  if (params[0]) return detail(view, params[0]);
  return list(view);
}

function audienceText(audience) {
  if (!audience) return "—";
  if (audience.type === "all") return "全部粉丝";
  if (audience.type === "tag") return `标签 ${audience.tag_id}`;
  if (audience.type === "openids") return "指定 openid";
  const q = audience.query || {};
  return `筛选：${Object.entries(q).map(([k, v]) => `${k}=${v}`).join("，")}`;
}

// A mass send to all followers or a tag is one sendall: only WeChat's report (the
// MASSSENDJOBFINISH event) says how many it reached.
const isSendall = (c) => c.type === "mass" && Boolean(c.audience) && ["all", "tag"].includes(c.audience.type);

function sentText(c) {
  const p = c.progress || {};
  if (isSendall(c)) return c.results && c.results.total ? `${c.results.sent} / ${c.results.total}` : "—";
  if (p.recipients === null || p.recipients === undefined) return `${p.sent || 0}`;
  return `${p.sent || 0} / ${p.recipients}`;
}

const failedCount = (c) => (isSendall(c) ? (c.results || {}).error || 0 : (c.progress || {}).failed || 0);

async function cancel(campaign, button) {
  if (!(await confirmDialog(`取消「${campaign.name}」？取消后不会再发送。`, { ok: "取消发送" }))) return null;
  const done = await run(button, () => post(`/admin/campaigns/${encodeURIComponent(campaign.id)}/cancel`));
  if (done) notify(`已取消「${campaign.name}」`);
  return done || null;
}

// -- list ---------------------------------------------------------------------------------------

async function list(view) {
  const status = h(
    "select",
    { class: "input", id: "campaigns-status" },
    h("option", { value: "" }, "全部"),
    Object.entries(STATUSES).map(([value, [label]]) => h("option", { value }, label)),
  );
  const results = h("div", { id: "campaigns-results" });
  const filters = h("form", { class: "toolbar" }, field("状态", status), h("button", { type: "submit", class: "btn btn-primary" }, "查询"));

  function row(c) {
    const tr = h(
      "tr",
      { "data-id": c.id, "data-name": c.name },
      h("td", {}, h("a", { href: `#/campaigns/${c.id}` }, c.name)),
      h("td", {}, TYPES[c.type] || c.type),
      h("td", {}, statusBadge(c.status)),
      h("td", { class: "nowrap" }, fmtTime(c.send_at)),
      h("td", {}, audienceText(c.audience)),
      h("td", { class: "num" }, sentText(c)),
      h("td", { class: "num" }, failedCount(c)),
      h(
        "td",
        { class: "actions" },
        h("a", { class: "btn btn-small", href: `#/campaigns/${c.id}` }, "详情"),
        approvalButtons(c, () => load().catch(showError), true),
        ["scheduled", "pending_approval"].includes(c.status)
          ? h("button", {
              type: "button",
              class: "btn btn-small btn-danger",
              "data-role": "campaign-cancel",
              onclick: async (event) => {
                if (await cancel(c, event.target)) load().catch(showError);
              },
            }, "取消")
          : null,
      ),
    );
    return tr;
  }

  let latest = 0; // answers to an older query are dropped, never shown
  async function load() {
    const ticket = ++latest;
    const data = await get("/admin/campaigns", { status: status.value, limit: 100 });
    if (ticket !== latest) return;
    results.replaceChildren(table(["名称", "类型", "状态", "发送时间", "对象", "已发送", "失败", ""], data.items.map(row), "还没有群发任务"));
  }
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    load().catch((err) => {
      results.replaceChildren(h("p", { class: "form-error", role: "alert" }, err.message));
      showError(err);
    });
  });
  view.append(
    pageHeader("群发", h("a", { class: "btn btn-primary", href: "#/campaigns/new", "data-role": "campaign-new" }, "新建群发")),
    h("p", { class: "muted" }, "到点自动发送，每位粉丝只发一次。订阅号每天可群发 1 次；服务号每位粉丝每月最多收到 4 条群发。"),
    filters,
    results,
  );
  await load();
}

// -- create -------------------------------------------------------------------------------------

function pad(n) {
  return String(n).padStart(2, "0");
}

function localInputValue(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function audienceEditor() {
  const type = h("select", { class: "input", id: "campaign-audience" }, AUDIENCES.map(([value, label]) => h("option", { value }, label)));
  const tagId = h("input", { class: "input", type: "number", min: 0, id: "campaign-tag-id", placeholder: "如：100" });
  const qTag = h("input", { class: "input", placeholder: "本地标签或微信标签 ID" });
  const qRegion = h("input", { class: "input", placeholder: "如：广东" });
  const qText = h("input", { class: "input", placeholder: "备注、昵称或 openid 前缀" });
  const openids = h("textarea", { class: "input mono", rows: 4, id: "campaign-openids", placeholder: "每行一个 openid" });
  const parts = {
    all: h("p", { class: "field-hint" }, "发给所有关注的粉丝。"),
    tag: field("微信标签 ID", tagId),
    query: h("div", { class: "row" }, field("标签", qTag), field("地区", qRegion), field("搜索", qText)),
    openids: field("openid 列表", openids, "最多 100,000 个，重复的只发一次（订阅号不可用）"),
  };
  const body = h("div", {});
  const sync = () => body.replaceChildren(parts[type.value]);
  type.addEventListener("change", sync);
  sync();
  return {
    el: h("div", {}, field("发送对象", type), body),
    value() {
      switch (type.value) {
        case "tag":
          if (tagId.value === "") throw new Error("请填写微信标签 ID");
          return { type: "tag", tag_id: Number(tagId.value) };
        case "query": {
          const query = {};
          if (qTag.value.trim()) query.tag = qTag.value.trim();
          if (qRegion.value.trim()) query.region = qRegion.value.trim();
          if (qText.value.trim()) query.q = qText.value.trim();
          return { type: "query", query };
        }
        case "openids":
          return { type: "openids", openids: lines(openids.value) };
        default:
          return { type: "all" };
      }
    },
  };
}

function massContentEditor() {
  const type = h(
    "select",
    { class: "input", id: "campaign-content-type" },
    [["text", "文字"], ["articles", "图文（文章库）"], ["image", "图片"], ["voice", "语音"], ["video", "视频"]].map(([value, label]) => h("option", { value }, label)),
  );
  const text = h("textarea", { class: "input", rows: 5, id: "campaign-text", maxlength: 2000 });
  const mediaId = h("input", { class: "input", id: "campaign-media-id" });
  const videoTitle = h("input", { class: "input" });
  const videoDescription = h("input", { class: "input" });
  const thumb = h("input", { class: "input", id: "campaign-thumb" });
  const body = h("div", {});
  let picker = null;
  function sync() {
    if (type.value === "text") body.replaceChildren(field("内容", text, "最多 2000 字"));
    else if (type.value === "articles") {
      picker = articleFields(null);
      body.replaceChildren(picker.el, field("封面缩略图 media_id", thumb, "永久素材（图片）；开始发送时用所选文章生成草稿"));
    } else if (type.value === "video")
      body.replaceChildren(field("视频 media_id", mediaId), h("div", { class: "row" }, field("标题", videoTitle), field("描述", videoDescription)));
    else body.replaceChildren(field("media_id（素材 ID）", mediaId));
  }
  type.addEventListener("change", sync);
  sync();
  return {
    el: h("div", { class: "reply-editor" }, field("消息类型", type), body),
    value() {
      if (type.value === "text") return { type: "text", content: text.value };
      if (type.value === "articles") {
        const out = picker.value();
        if (thumb.value.trim()) out.thumb_media_id = thumb.value.trim();
        return out;
      }
      const out = { type: type.value, media_id: mediaId.value.trim() };
      if (type.value === "video") {
        if (videoTitle.value.trim()) out.title = videoTitle.value.trim();
        if (videoDescription.value.trim()) out.description = videoDescription.value.trim();
      }
      return out;
    },
  };
}

function editor(view) {
  const name = h("input", { class: "input", id: "campaign-name", maxlength: 100, required: true });
  const kind = h("select", { class: "input", id: "campaign-type" }, Object.entries(TYPES).map(([value, label]) => h("option", { value }, label)));
  const sendAt = h("input", { class: "input", type: "datetime-local", id: "campaign-send-at", value: localInputValue(new Date(Date.now() + 3600 * 1000)) });
  const audience = audienceEditor();
  const mass = massContentEditor();
  const template = templateEditor();
  const content = h("div", {});
  const syncKind = () => content.replaceChildren(kind.value === "mass" ? mass.el : template.el);
  kind.addEventListener("change", syncKind);
  syncKind();
  const error = errorLine();
  const save = h("button", { type: "submit", class: "btn btn-primary", id: "campaign-save" }, "创建");
  const create = keyedPost(); // one Idempotency-Key per submission, kept for its retries
  const form = h(
    "form",
    { class: "card form", id: "campaign-form" },
    field("名称", name, "仅后台可见"),
    h("div", { class: "row" }, field("类型", kind), field("发送时间", sendAt, "留空则立即发送（本机时间）")),
    audience.el,
    h("h2", {}, "内容"),
    content,
    error,
    h("div", { class: "form-actions" }, save, h("a", { class: "btn", href: "#/campaigns" }, "取消")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const created = await run(
      save,
      () => {
        const body = { name: name.value, type: kind.value, audience: audience.value() };
        if (sendAt.value) {
          const when = new Date(sendAt.value); // local time of this browser
          if (Number.isNaN(when.getTime())) throw new Error("发送时间无效");
          body.send_at = Math.floor(when.getTime() / 1000);
        }
        if (kind.value === "mass") body.content = mass.value();
        else body.template = template.value();
        return create("/admin/campaigns", body);
      },
      error,
    );
    if (created) {
      notify(`「${created.name}」已创建`);
      location.hash = `#/campaigns/${created.id}`;
    }
  });
  view.append(pageHeader("新建群发"), form);
}

// -- detail -------------------------------------------------------------------------------------

const CONFIRMATION = {
  not_sent: ["发送后需管理员在微信中确认（API群发保护）", ""],
  waiting: ["等待管理员在微信中确认", "warn"],
  confirmed: ["已在微信中确认并发送", "ok"],
  refused: ["微信未发送（被拒绝或 30 分钟内未确认）", "warn"],
  failed: ["微信拒绝了这次群发", "warn"],
};

function confirmationText(confirmation) {
  const [text, kind] = CONFIRMATION[confirmation.state] || [confirmation.state, ""];
  const until = confirmation.state === "waiting" && confirmation.deadline ? `，截止 ${fmtTime(confirmation.deadline)}` : "";
  return [badge(text, kind), ` ${confirmation.message}${until}`];
}

function contentText(c) {
  if (c.template) return `模板 ${c.template.template_id}`;
  const content = c.content || {};
  if (content.type === "text") return content.content;
  if (content.type === "news" && content.article_ids) return `图文：${content.article_ids.length} 篇文章库文章`;
  return `${content.type}${content.media_id ? `：${content.media_id}` : ""}`;
}

async function detail(view, id) {
  const c = await get(`/admin/campaigns/${encodeURIComponent(id)}`);
  const p = c.progress || {};
  const facts = [
    ["状态", statusBadge(c.status)],
    ["类型", TYPES[c.type] || c.type],
    ["发送时间", fmtTime(c.send_at)],
    ["开始 / 结束", `${fmtTime(c.started_at)} / ${fmtTime(c.finished_at)}`],
    ["发送对象", audienceText(c.audience)],
    ["内容", contentText(c)],
  ];
  if (c.fail_reason) facts.push(["失败原因", c.fail_reason]);
  facts.push(...approvalFacts(c));
  // API mass-send protection: WeChat holds a send to all until an administrator confirms it.
  if (c.confirmation) facts.push(["微信确认", h("span", { "data-role": "campaign-confirmation", "data-state": c.confirmation.state }, confirmationText(c.confirmation))]);
  // WeChat's daily template quota is spent (45009): every template campaign waits for the reset
  if (c.paused) facts.push(["暂停发送", `模板消息当日配额已用完（${c.paused.errcode}），${fmtTime(c.paused.until)} 后自动继续`]);
  const sendall = isSendall(c);
  const counts = [
    ["计划人数", sendall ? "由微信统计" : p.recipients ?? "—"],
    sendall ? ["已提交批次", `${p.batches_sent || 0} / ${p.batches || 0}`] : ["待发送", p.queued ?? "—"],
    ["已发送", p.sent || 0],
    ["失败", p.failed || 0],
    ["结果未知", p.unknown || 0],
  ];
  const results =
    c.type === "mass"
      ? [["微信统计：总数", c.results.total], ["成功", c.results.sent], ["失败", c.results.error], ["被过滤", c.results.filtered]]
      : [["送达", c.results.delivered], ["用户拒收", c.results.blocked], ["失败", c.results.failed]];
  const errors = Object.entries(p.errors || {});
  const cancelButton =
    ["scheduled", "pending_approval"].includes(c.status)
      ? h("button", {
          type: "button",
          class: "btn btn-danger",
          "data-role": "campaign-cancel",
          onclick: async (event) => {
            if (await cancel(c, event.target)) {
              view.replaceChildren();
              detail(view, id).catch(showError);
            }
          },
        }, "取消发送")
      : null;
  const refresh = h("button", { type: "button", class: "btn", onclick: () => { view.replaceChildren(); detail(view, id).catch(showError); } }, "刷新");
  // A test send to a few followers (the admin's own phone) before the real one.
  const previewIds = h("input", { class: "input mono", id: "campaign-preview-openids", placeholder: "最多 5 个 openid，逗号分隔" });
  const previewError = errorLine();
  const previewResults = h("div", { "data-role": "preview-results" });
  const previewButton = h("button", { type: "submit", class: "btn", id: "campaign-preview" }, "发送预览");
  const sendPreview = keyedPost(); // a retried preview is not sent twice
  const preview = h(
    "form",
    { class: "card form", id: "campaign-preview-form" },
    h("h2", {}, "预览"),
    h("p", { class: "muted" }, "立即把这条消息发给几位粉丝（如自己的微信）查看效果，不计入群发。"),
    h("div", { class: "toolbar" }, field("openid", previewIds), previewButton),
    previewError,
    previewResults,
  );
  preview.addEventListener("submit", async (event) => {
    event.preventDefault();
    const sent = await run(previewButton, () => sendPreview(`/admin/campaigns/${encodeURIComponent(id)}/preview`, { openids: lines(previewIds.value) }), previewError);
    if (!sent) return;
    previewResults.replaceChildren(
      table(
        ["openid", "结果"],
        sent.results.map((r) => h("tr", {}, h("td", { class: "mono" }, r.openid), h("td", {}, r.ok ? badge("已发送", "ok") : badge(r.error || `错误 ${r.errcode}`, "warn")))),
      ),
    );
  });
  const stat = ([label, value]) => h("div", { class: "stat" }, h("span", { class: "stat-label" }, label), h("strong", { "data-stat": label }, value ?? 0));
  // Native append would print a null: only the parts that apply are added.
  const parts = [
    pageHeader(`群发：${c.name}`, approvalButtons(c, () => { view.replaceChildren(); detail(view, id).catch(showError); }), cancelButton, refresh, h("a", { class: "btn", href: "#/campaigns" }, "返回")),
    h("dl", { class: "card facts", "data-role": "campaign-facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("div", { class: "card" }, h("h2", {}, "进度"), h("div", { class: "cards" }, counts.map(stat))),
    h(
      "div",
      { class: "card" },
      h("h2", {}, "微信回报"),
      h("p", { class: "muted" }, "微信发完后推送的统计（通常在发送后几分钟内到达）。"),
      h("div", { class: "cards" }, results.map(stat)),
    ),
    c.status === "scheduled" ? preview : null,
    h(
      "div",
      {},
      errors.length ? [h("h2", {}, "错误"), table(["错误码", "次数"], errors.map(([code, n]) => h("tr", {}, h("td", {}, code), h("td", { class: "num" }, n))))] : null,
    ),
    h(
      "div",
      {},
      c.batches && c.batches.length
      ? [
          h("h2", {}, "批次"),
          table(
            ["批次", "状态", "人数", "尝试", "msg_id", "发送时间", "说明"],
            c.batches.map((b) =>
              h(
                "tr",
                {},
                h("td", { class: "num" }, b.batch),
                h("td", {}, b.state),
                h("td", { class: "num" }, b.recipients ?? "全部"),
                h("td", { class: "num" }, b.attempts),
                h("td", { class: "mono" }, b.msg_id || "—"),
                h("td", { class: "nowrap" }, fmtTime(b.sent_at)),
                h("td", { class: "clip" }, b.reason || (b.result ? `${b.result.status}` : "")),
              ),
            ),
          ),
        ]
      : null,
    ),
  ];
  view.append(...parts.filter(Boolean));
}
