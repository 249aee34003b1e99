// The reply editor used by rules, special replies and flows: a type picker and the fields of
// that type. News can come from the article library (by id: titles and links stay current) or
// be typed in as links. Anything else (a shape this editor does not know) is edited as JSON.

import { get } from "./api.js";
import { badge, clear, field, h, showError } from "./ui.js";

const TYPES = [
  ["text", "文字"],
  ["articles", "图文（文章库）"],
  ["news", "图文（外部链接）"],
  ["image", "图片"],
  ["voice", "语音"],
  ["video", "视频"],
  ["music", "音乐"],
  ["transfer_customer_service", "转人工客服"],
  ["json", "JSON（高级）"],
];
const KEYS = {
  text: ["content"],
  image: ["media_id"],
  voice: ["media_id"],
  video: ["media_id", "title", "description"],
  music: ["title", "description", "music_url", "hq_music_url", "thumb_media_id"],
  news: ["articles"],
  transfer_customer_service: ["kf_account"],
};
const LABELS = {
  media_id: "media_id（素材 ID）",
  title: "标题",
  description: "描述",
  music_url: "音乐链接",
  hq_music_url: "高品质音乐链接",
  thumb_media_id: "缩略图 media_id",
  kf_account: "指定客服账号（可选）",
};
const MAX_ARTICLES = 8;

function modeOf(reply) {
  if (!reply || typeof reply !== "object") return "text";
  if (reply.type === "news" && Array.isArray(reply.article_ids)) return "articles";
  const keys = KEYS[reply.type];
  if (!keys) return "json";
  return Object.keys(reply).every((k) => k === "type" || keys.includes(k)) ? reply.type : "json";
}

export function summarize(reply) {
  if (!reply) return "—";
  switch (reply.type) {
    case "text":
      return reply.content.length > 40 ? `${reply.content.slice(0, 40)}…` : reply.content;
    case "news":
      return reply.article_ids
        ? `图文：${reply.article_ids.length} 篇文章库文章`
        : `图文：${(reply.articles || []).map((a) => a.title).join("、")}`;
    case "transfer_customer_service":
      return "转人工客服";
    default:
      return `${reply.type}${reply.media_id ? `：${reply.media_id}` : ""}`;
  }
}

export function replyEditor(initial) {
  const mode = modeOf(initial);
  const select = h(
    "select",
    { "data-role": "reply-type", class: "input" },
    TYPES.map(([value, label]) => h("option", { value, selected: value === mode }, label)),
  );
  const body = h("div", { class: "reply-body" });
  let current = null;

  function show(kind, reply) {
    clear(body);
    const make = { text: textFields, articles: articleFields, news: newsFields, json: jsonFields }[kind];
    current = make ? make(reply) : plainFields(kind, reply);
    body.append(current.el);
  }
  select.addEventListener("change", () => {
    // Carry what can be carried (text survives a trip through JSON and back).
    let carried = null;
    try {
      carried = current ? current.value() : null;
    } catch {
      carried = null;
    }
    show(select.value, select.value === "json" ? carried : modeOf(carried) === select.value ? carried : null);
  });
  show(mode, initial);
  const el = h("div", { class: "reply-editor" }, field("回复类型", select), body);
  return { el, value: () => current.value() };
}

function textFields(reply) {
  const area = h("textarea", { class: "input", rows: 4, "data-role": "reply-text", maxlength: 2048 });
  area.value = (reply && reply.content) || "";
  return {
    el: field("回复内容", area, "纯文字，最多约 680 个汉字"),
    value: () => ({ type: "text", content: area.value }),
  };
}

function plainFields(kind, reply) {
  const inputs = {};
  const rows = KEYS[kind].map((key) => {
    inputs[key] = h("input", { class: "input", "data-role": `reply-${key}` });
    inputs[key].value = (reply && reply[key]) || "";
    return field(LABELS[key], inputs[key]);
  });
  return {
    el: h("div", {}, rows.length ? rows : h("p", { class: "muted" }, "无需填写内容")),
    value: () => {
      const out = { type: kind };
      for (const [key, input] of Object.entries(inputs)) {
        if (input.value.trim()) out[key] = input.value.trim();
      }
      return out;
    },
  };
}

function jsonFields(reply) {
  const area = h("textarea", { class: "input mono", rows: 8, "data-role": "reply-json" });
  area.value = JSON.stringify(reply || { type: "text", content: "" }, null, 2);
  return {
    el: field("回复 JSON", area, "Reply 对象，见 /admin/openapi.json"),
    value: () => {
      try {
        return JSON.parse(area.value);
      } catch (err) {
        throw new Error(`回复 JSON 无法解析：${err.message}`);
      }
    },
  };
}

function newsFields(reply) {
  const list = h("div", { class: "news-rows" });
  const add = h("button", { type: "button", class: "btn btn-small", onclick: () => addRow({}) }, "＋ 添加一条");
  function addRow(article) {
    if (list.children.length >= MAX_ARTICLES) return;
    const inputs = {};
    const row = h("fieldset", { class: "news-row" });
    for (const [key, label] of [["title", "标题"], ["description", "描述"], ["url", "链接 (https://…)"], ["pic_url", "图片链接"]]) {
      inputs[key] = h("input", { class: "input", "data-role": `news-${key}` });
      inputs[key].value = article[key] || "";
      row.append(field(label, inputs[key]));
    }
    row.append(h("button", { type: "button", class: "btn btn-small btn-link", onclick: () => row.remove() }, "移除"));
    row.inputs = inputs;
    list.append(row);
  }
  for (const article of (reply && reply.articles) || [{}]) addRow(article);
  return {
    el: h("div", {}, list, add, h("p", { class: "field-hint" }, "回复用户消息时只显示第 1 条；关注、菜单事件最多 8 条。")),
    value: () => ({
      type: "news",
      articles: [...list.children].map((row) => {
        const out = {};
        for (const [key, input] of Object.entries(row.inputs)) if (input.value.trim()) out[key] = input.value.trim();
        return out;
      }),
    }),
  };
}

// Also used by campaigns (mass news from the library).
export function articleFields(reply) {
  const chosen = [];
  const chosenList = h("ol", { class: "picked", "data-role": "articles-picked" });
  const results = h("ul", { class: "pick-results", "data-role": "article-results" });
  const search = h("input", { class: "input", type: "search", placeholder: "搜索文章标题", "data-role": "article-search" });

  function renderChosen() {
    clear(chosenList);
    if (!chosen.length) chosenList.append(h("li", { class: "muted" }, "尚未选择文章"));
    chosen.forEach((article, i) => {
      chosenList.append(
        h(
          "li",
          { "data-role": "article-picked", "data-id": article.id },
          h("span", { class: "picked-title" }, article.title || article.id),
          article.status === "draft" ? badge("未发布：用户看不到", "warn") : null,
          h("span", { class: "picked-actions" },
            h("button", { type: "button", class: "btn btn-small", disabled: i === 0, onclick: () => move(i, -1) }, "↑"),
            h("button", { type: "button", class: "btn btn-small", disabled: i === chosen.length - 1, onclick: () => move(i, 1) }, "↓"),
            h("button", { type: "button", class: "btn btn-small btn-link", onclick: () => { chosen.splice(i, 1); renderChosen(); } }, "移除"),
          ),
        ),
      );
    });
  }
  function move(i, step) {
    const [item] = chosen.splice(i, 1);
    chosen.splice(i + step, 0, item);
    renderChosen();
  }
  async function find() {
    try {
      const page = await get("/admin/articles", { q: search.value.trim(), limit: 10 });
      clear(results);
      if (!page.items.length) results.append(h("li", { class: "muted" }, "没有匹配的文章"));
      for (const article of page.items) {
        results.append(
          h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                class: "pick-option",
                "data-role": "article-option",
                "data-id": article.id,
                onclick: () => {
                  if (chosen.length >= MAX_ARTICLES || chosen.some((c) => c.id === article.id)) return;
                  chosen.push(article);
                  renderChosen();
                },
              },
              article.title,
              " ",
              badge(article.status === "published" ? "已发布" : "草稿", article.status === "published" ? "ok" : "muted"),
            ),
          ),
        );
      }
    } catch (err) {
      showError(err);
    }
  }
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(find, 250);
  });

  const ids = (reply && reply.article_ids) || [];
  for (const id of ids) chosen.push({ id, title: id });
  renderChosen();
  Promise.all(ids.map((id) => get(`/admin/articles/${encodeURIComponent(id)}`).catch(() => ({ id, title: `${id}（已删除）` })))).then(
    (found) => {
      found.forEach((article) => {
        const slot = chosen.find((c) => c.id === article.id);
        if (slot) Object.assign(slot, article);
      });
      renderChosen();
    },
  );
  find();
  return {
    el: h(
      "div",
      { class: "article-picker" },
      h("p", { class: "field-hint" }, "按文章 ID 引用：标题、链接随文章更新；未发布或已删除的文章自动跳过。回复消息时只显示第 1 篇。"),
      chosenList,
      field("添加文章", search),
      results,
    ),
    value: () => {
      if (!chosen.length) throw new Error("请至少选择一篇文章");
      return { type: "news", article_ids: chosen.map((c) => c.id) };
    },
  };
}
