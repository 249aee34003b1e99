// The knowledge base: entries with search, their quality, the "try it" box, the unanswered
// questions grouped (a group becomes an entry, or joins one, in two clicks), bulk import and
// export (CSV / XLSX) and the synonym list.

import { del, get, keyedPost, patch, post, put } from "./api.js";
import { replyEditor, summarize } from "./replies.js";
import { badge, confirmDialog, errorLine, field, h, notify, pageHeader, run, showError, table } from "./ui.js";

const DRAFT = "wxless.faqDraft"; // a new entry's question and alternatives, from a group
const VERDICTS = { answer: "直接回答", clarify: "反问确认", article: "以文章回答", none: "不回答（默认回复）" };

export async function render(view, params) {
  if (params[0]) return editor(view, params[0] === "new" ? null : params[0]);
  const [data, quality] = await Promise.all([get("/admin/faq"), get("/admin/faq/quality").catch(() => null)]);
  const counts = new Map(((quality && quality.items) || []).map((row) => [row.id, row]));
  const categories = [...new Set(data.items.map((e) => e.category).filter(Boolean))].sort();

  const search = h("input", { class: "input", id: "faq-search", type: "search", placeholder: "搜索问题、相似问法、答案…" });
  const category = h(
    "select",
    { class: "input", id: "faq-category" },
    h("option", { value: "" }, "全部分类"),
    categories.map((c) => h("option", { value: c }, c)),
  );
  const body = h("div", { id: "faq-list" });
  const show = (entries) => body.replaceChildren(entryTable(entries, counts, () => reload()));
  const reload = () => {
    view.replaceChildren();
    render(view, []);
  };
  let timer = null;
  const filter = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const found = await get("/admin/faq", { q: search.value.trim(), category: category.value });
        show(found.items);
      } catch (err) {
        showError(err);
      }
    }, 200);
  };
  search.addEventListener("input", filter);
  category.addEventListener("change", filter);
  show(data.items);

  view.append(
    pageHeader(
      "智能问答（知识库）",
      h("a", { class: "btn btn-primary", href: "#/faq/new", "data-role": "faq-new" }, "新建条目"),
    ),
    h(
      "p",
      { class: "muted" },
      "关键词规则和多轮对话都没有回复的文字消息，会与每个条目的问题和相似问法比对：有把握时直接回答，" +
        "两三个条目难分高下时反问粉丝（回复编号即可），没有把握时发送默认回复。修改约 2 秒内对粉丝生效。",
    ),
    tryCard(),
    h("div", { class: "card" }, h("div", { class: "row" }, field("搜索", search), field("分类", category)), body),
    await unansweredCard(data.items, reload),
    transferCard(reload),
    await synonymsCard(),
  );
}

function entryTable(entries, counts, reload) {
  const rows = entries.map((entry) => {
    const stats = counts.get(entry.id) || { answered: 0, asked_again: 0, human: 0 };
    const toggle = h("input", {
      type: "checkbox",
      class: "switch",
      checked: entry.enabled,
      "aria-label": "启用",
      "data-role": "faq-enabled",
      onchange: async () => {
        const wanted = toggle.checked;
        const done = await run(toggle, () => patch(`/admin/faq/${entry.id}`, { enabled: wanted }));
        if (done) notify(wanted ? "已启用" : "已停用");
        else toggle.checked = !wanted;
      },
    });
    const bad = stats.asked_again + stats.human;
    return h(
      "tr",
      { "data-id": entry.id },
      h("td", {}, h("a", { href: `#/faq/${entry.id}` }, entry.question)),
      h("td", { class: "clip" }, entry.alternatives.join("、") || "—"),
      h("td", { class: "clip" }, summarize(entry.answer)),
      h("td", {}, entry.category ? badge(entry.category) : "—"),
      h("td", { class: "num", "data-role": "faq-answered" }, stats.answered),
      h("td", { class: "num", title: "回答后 2 分钟内粉丝又追问 / 要求转人工" }, bad ? badge(`${stats.asked_again} / ${stats.human}`, "warn") : "0"),
      h("td", {}, toggle),
      h(
        "td",
        { class: "actions" },
        h("a", { class: "btn btn-small", href: `#/faq/${entry.id}` }, "编辑"),
        h(
          "button",
          {
            type: "button",
            class: "btn btn-small btn-danger",
            "data-role": "faq-delete",
            onclick: async (event) => {
              if (!(await confirmDialog(`删除条目「${entry.question}」？`, { ok: "删除" }))) return;
              const done = await run(event.target, () => del(`/admin/faq/${entry.id}`));
              if (done !== undefined) {
                notify("条目已删除");
                reload();
              }
            },
          },
          "删除",
        ),
      ),
    );
  });
  return table(["问题", "相似问法", "答案", "分类", "回答次数", "追问 / 转人工", "启用", ""], rows, "还没有条目");
}

// -- try it -----------------------------------------------------------------------------------

function tryCard() {
  const text = h("input", { class: "input", id: "faq-try-text", placeholder: "输入一句粉丝可能会问的话，例如：我的储蓄卡找不到了" });
  const out = h("div", { id: "faq-try-result" });
  const go = h("button", { type: "submit", class: "btn", id: "faq-try" }, "试一试");
  const form = h("form", { class: "card form", id: "faq-try-form" }, h("h2", {}, "试一试"), h("div", { class: "row" }, field("粉丝的话", text)), go, out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const tried = await run(go, () => post("/admin/faq/try", { text: text.value }));
    if (!tried) return;
    const rows = [...tried.candidates, ...tried.articles].map((c) =>
      h(
        "tr",
        { "data-role": "faq-candidate" },
        h("td", {}, c.id.startsWith("article:") ? badge("文章") : "", c.question),
        h("td", {}, c.matched),
        h("td", { class: "num", "data-role": "faq-score" }, c.score.toFixed(3)),
        h("td", {}, c.banking_word ? "是" : "否"),
      ),
    );
    out.replaceChildren(
      h("p", {}, "结果：", badge(VERDICTS[tried.verdict] || tried.verdict, tried.verdict === "none" ? "" : "ok"), `（理解为「${tried.understood}」）`),
      tried.reply ? h("p", { class: "muted", "data-role": "faq-try-reply" }, "回复：", summarize(tried.reply)) : "",
      table(["候选", "最相近的问法", "得分", "含银行业务词"], rows, "没有相近的条目"),
      h("p", { class: "muted" }, `得分 ≥ ${tried.thresholds.answer} 且领先第二名 ${tried.thresholds.margin} 以上才直接回答；≥ ${tried.thresholds.suggest} 时反问确认。`),
    );
  });
  return form;
}

// -- the unanswered, grouped ------------------------------------------------------------------

async function unansweredCard(entries, reload) {
  let data;
  try {
    data = await get("/admin/faq/unanswered", { limit: 20 });
  } catch (err) {
    return h("div", { class: "card" }, h("h2", {}, "未能回答的问题"), h("p", { class: "form-error" }, err.message));
  }
  const groups = data.items.map((group, n) => {
    const texts = group.texts.map((t) => t.sample);
    const newEntry = h(
      "button",
      {
        type: "button",
        class: "btn btn-small btn-primary",
        "data-role": "faq-group-new",
        onclick: () => {
          sessionStorage.setItem(DRAFT, JSON.stringify({ question: texts[0], alternatives: texts.slice(1) }));
          location.hash = "#/faq/new";
        },
      },
      "新建条目",
    );
    const attach = (group.suggestions.length ? group.suggestions : entries.slice(0, 0)).map((s) =>
      h(
        "button",
        {
          type: "button",
          class: "btn btn-small",
          "data-role": "faq-group-attach",
          title: `相似度 ${s.score}`,
          onclick: async (event) => {
            if (!(await confirmDialog(`把这 ${texts.length} 种问法加为「${s.question}」的相似问法？`, { ok: "加入", danger: false }))) return;
            const done = await run(event.target, () => post(`/admin/faq/${s.id}/alternatives`, { texts }));
            if (done) {
              notify(`已加入「${s.question}」`);
              reload();
            }
          },
        },
        `加到「${s.question}」`,
      ),
    );
    return h(
      "div",
      { class: "faq-group", "data-role": "faq-group", "data-index": n },
      h("div", {}, badge(`${group.count} 次`, "warn"), " ", group.texts.map((t) => badge(`${t.sample} ×${t.count}`))),
      h("div", { class: "page-actions" }, newEntry, attach),
    );
  });
  return h(
    "div",
    { class: "card", id: "faq-unanswered" },
    h("h2", {}, "未能回答的问题（近 7 天，相似的已归为一组）"),
    groups.length ? groups : h("p", { class: "muted" }, "近 7 天没有未能回答的问题"),
  );
}

// -- import / export --------------------------------------------------------------------------

function transferCard(reload) {
  const file = h("input", { type: "file", accept: ".csv,.xlsx,text/csv", id: "faq-import-file" });
  const replace = h("input", { type: "checkbox", id: "faq-import-replace" });
  const error = errorLine();
  const go = h("button", { type: "submit", class: "btn btn-primary", id: "faq-import" }, "导入");
  const form = h(
    "form",
    { class: "card form", id: "faq-import-form" },
    h("h2", {}, "批量导入 / 导出"),
    h("p", { class: "muted" }, "表格第一行为列名：question（问题）、alternatives（相似问法，多个用 | 或换行分隔）、answer（答案文字）、category（分类，可选）。支持 CSV（UTF-8）和 XLSX。"),
    file,
    h("label", { class: "check" }, replace, " 替换现有全部条目"),
    error,
    h(
      "div",
      { class: "form-actions" },
      go,
      h("button", { type: "button", class: "btn", id: "faq-export-csv", onclick: (e) => download(e.target, "csv") }, "导出 CSV"),
      h("button", { type: "button", class: "btn", id: "faq-export-xlsx", onclick: (e) => download(e.target, "xlsx") }, "导出 XLSX"),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) {
      error.textContent = "请选择文件";
      return;
    }
    const done = await run(
      go,
      async () => {
        const body = chosen.name.toLowerCase().endsWith(".xlsx") ? { xlsx: toBase64(await chosen.arrayBuffer()) } : { csv: await chosen.text() };
        return post("/admin/faq/import", { ...body, replace: replace.checked });
      },
      error,
    );
    if (done) {
      notify(`已导入 ${done.imported} 个条目${done.deleted ? `，替换 ${done.deleted} 个` : ""}`);
      reload();
    }
  });
  return form;
}

function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

async function download(button, format) {
  const file = await run(button, () => get("/admin/faq/export", { format }));
  if (!file) return;
  const bytes = Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type: file.content_type }));
  const a = h("a", { href: url, download: file.filename, "data-role": "faq-download" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  notify(`已导出 ${file.entries} 个条目`);
}

// -- synonyms ---------------------------------------------------------------------------------

async function synonymsCard() {
  const current = await get("/admin/faq/synonyms").catch(() => ({ groups: [] }));
  const text = h("textarea", { class: "input", id: "faq-synonyms", rows: 4, placeholder: "借记卡 储蓄卡 工资卡\n提额 提高额度" });
  text.value = current.groups.map((g) => g.join(" ")).join("\n");
  const error = errorLine();
  const save = h("button", { type: "submit", class: "btn", id: "faq-synonyms-save" }, "保存同义词");
  const form = h(
    "form",
    { class: "card form", id: "faq-synonyms-form" },
    h("h2", {}, "同义词"),
    field("每行一组，用空格或逗号分隔；第一个词是标准说法", text, "内置了常用银行业务同义词（如 储蓄卡=借记卡、丢了=挂失），这里的词组优先。"),
    error,
    save,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const groups = text.value
      .split("\n")
      .map((line) => line.split(/[\s,，、]+/).filter(Boolean))
      .filter((g) => g.length);
    const done = await run(save, () => put("/admin/faq/synonyms", { groups }), error);
    if (done) notify(`已保存 ${done.groups.length} 组同义词`);
  });
  return form;
}

// -- the editor -------------------------------------------------------------------------------

async function editor(view, id) {
  const entry = id ? await get(`/admin/faq/${encodeURIComponent(id)}`) : null;
  const draft = !entry ? JSON.parse(sessionStorage.getItem(DRAFT) || "null") : null;
  sessionStorage.removeItem(DRAFT);
  const start = entry || draft || {};
  const question = h("input", { class: "input", id: "faq-question", maxlength: 200, required: true, value: start.question || "" });
  const alternatives = h("textarea", { class: "input", id: "faq-alternatives", rows: 4 });
  alternatives.value = (start.alternatives || []).join("\n");
  const category = h("input", { class: "input", id: "faq-category-input", maxlength: 40, value: (entry && entry.category) || "" });
  const enabled = h("input", { type: "checkbox", id: "faq-enabled", checked: entry ? entry.enabled : true });
  const answer = replyEditor(entry ? entry.answer : null);
  const error = errorLine();
  const save = h("button", { type: "submit", class: "btn btn-primary", id: "faq-save" }, "保存");
  const create = keyedPost();
  const form = h(
    "form",
    { class: "card form", id: "faq-form" },
    field("标准问题", question),
    field("相似问法", alternatives, "每行一个：粉丝可能的其他说法，越多越准"),
    h("div", { class: "row" }, field("分类", category)),
    h("label", { class: "check" }, enabled, " 启用"),
    h("h2", {}, "答案"),
    answer.el,
    error,
    h("div", { class: "form-actions" }, save, h("a", { class: "btn", href: "#/faq" }, "取消")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const saved = await run(
      save,
      () => {
        const body = {
          question: question.value,
          alternatives: alternatives.value.split("\n").map((s) => s.trim()).filter(Boolean),
          category: category.value.trim(),
          enabled: enabled.checked,
          answer: answer.value(),
        };
        return entry ? put(`/admin/faq/${entry.id}`, body) : create("/admin/faq", body);
      },
      error,
    );
    if (saved) {
      notify(`条目「${saved.question}」已保存`);
      location.hash = "#/faq";
    }
  });
  view.append(pageHeader(entry ? "编辑条目" : draft ? "新建条目（来自未能回答的问题）" : "新建条目"), form);
}
