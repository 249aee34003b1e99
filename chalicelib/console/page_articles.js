// Articles: a searchable, paged list with batch actions, and the editor (rich text, cover,
// publish / unpublish). Bodies are sanitized by the server on save; what comes back is shown.

import { del, get, keyedPost, post, put } from "./api.js";
import { badge, confirmDialog, errorLine, field, fmtTime, h, notify, pageHeader, run, showError, table } from "./ui.js";

const PAGE_SIZE = 20;

export async function render(view, params) {
  if (params[0]) return editor(view, params[0] === "new" ? null : params[0]);
  return list(view);
}

// -- list ---------------------------------------------------------------------------------------

async function list(view) {
  const { items: categories } = await get("/admin/categories");
  const categoryName = Object.fromEntries(categories.map((c) => [c.id, c.name]));
  const q = h("input", { class: "input", type: "search", id: "articles-q", placeholder: "标题关键词（容错搜索）" });
  const status = h(
    "select",
    { class: "input", id: "articles-status" },
    h("option", { value: "all" }, "全部状态"),
    h("option", { value: "published" }, "已发布"),
    h("option", { value: "draft" }, "草稿"),
  );
  const category = h(
    "select",
    { class: "input", id: "articles-category" },
    h("option", { value: "" }, "全部分类"),
    categories.map((c) => h("option", { value: c.id }, c.name)),
  );
  const from = h("input", { class: "input", type: "date", id: "articles-from" });
  const to = h("input", { class: "input", type: "date", id: "articles-to" });
  const filters = h(
    "form",
    { class: "toolbar", id: "articles-filters" },
    field("搜索", q),
    field("状态", status),
    field("分类", category),
    field("发布日期从", from),
    field("到", to),
    h("button", { type: "submit", class: "btn btn-primary", id: "articles-search" }, "查询"),
  );
  const selected = new Set();
  const count = h("span", { class: "muted", "data-role": "selected-count" });
  const results = h("div", { id: "articles-results" });
  const pager = h("div", { class: "pager" });
  const cursors = [null]; // cursors[i] opens page i
  let pageIndex = 0;

  const batchButtons = [
    ["publish", "批量发布", "发布"],
    ["unpublish", "批量下线", "下线"],
    ["delete", "批量删除", "删除"],
  ].map(([action, label, verb]) =>
    h(
      "button",
      {
        type: "button",
        class: action === "delete" ? "btn btn-danger" : "btn",
        "data-role": `batch-${action}`,
        disabled: true,
        onclick: async (event) => {
          const ids = [...selected];
          const warning = action === "delete" ? "删除后无法恢复，封面图片也会删除。" : "";
          if (!(await confirmDialog(`${verb}选中的 ${ids.length} 篇文章？${warning}`, { ok: verb, danger: action !== "publish" }))) return;
          const result = await run(event.target, () => post("/admin/articles/batch", { action, ids }));
          if (!result) return;
          const skipped = result.missing.length + result.failed.length;
          notify(`已${verb} ${result.done.length} 篇${skipped ? `，${skipped} 篇未处理（已删除或正被修改）` : ""}`);
          selected.clear();
          load();
        },
      },
      label,
    ),
  );
  const syncBatch = () => {
    count.textContent = selected.size ? `已选 ${selected.size} 篇` : "";
    for (const button of batchButtons) button.disabled = selected.size === 0;
  };

  function row(article) {
    const box = h("input", {
      type: "checkbox",
      "data-role": "article-select",
      checked: selected.has(article.id),
      "aria-label": `选择 ${article.title}`,
      onchange: () => {
        if (box.checked) selected.add(article.id);
        else selected.delete(article.id);
        syncBatch();
      },
    });
    const published = article.status === "published";
    const toggle = h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        "data-role": published ? "article-unpublish" : "article-publish",
        onclick: async () => {
          const done = await run(toggle, () => post(`/admin/articles/${article.id}/${published ? "unpublish" : "publish"}`));
          if (done) {
            notify(published ? `已下线「${article.title}」` : `已发布「${article.title}」`);
            load();
          }
        },
      },
      published ? "下线" : "发布",
    );
    const remove = h(
      "button",
      {
        type: "button",
        class: "btn btn-small btn-danger",
        "data-role": "article-delete",
        onclick: async () => {
          if (!(await confirmDialog(`删除文章「${article.title}」？此操作不可撤销。`, { ok: "删除" }))) return;
          const done = await run(remove, () => del(`/admin/articles/${article.id}`));
          if (done !== undefined) {
            notify("文章已删除");
            selected.delete(article.id);
            load();
          }
        },
      },
      "删除",
    );
    return h(
      "tr",
      { "data-id": article.id },
      h("td", {}, box),
      h("td", {}, h("a", { href: `#/articles/${article.id}`, "data-role": "article-title" }, article.title)),
      h("td", {}, article.category_id ? categoryName[article.category_id] || "（已删除分类）" : "—"),
      h("td", {}, published ? badge("已发布", "ok") : badge("草稿", "muted")),
      h("td", { class: "nowrap" }, fmtTime(article.published_at)),
      h("td", { class: "nowrap" }, fmtTime(article.updated_at)),
      h(
        "td",
        { class: "actions" },
        toggle,
        published ? h("a", { class: "btn btn-small", href: article.url, target: "_blank", rel: "noopener" }, "查看") : null,
        remove,
      ),
    );
  }

  let latest = 0; // answers to an older query (typed over) are dropped, never shown
  async function load() {
    const ticket = ++latest;
    const params = {
      q: q.value.trim(),
      status: from.value || to.value ? "published" : status.value,
      category_id: category.value,
      published_from: from.value,
      published_to: to.value,
      limit: PAGE_SIZE,
      cursor: cursors[pageIndex],
    };
    if (from.value || to.value) status.value = "published";
    try {
      const data = await get("/admin/articles", params);
      if (ticket !== latest) return;
      results.replaceChildren(
        typeof data.total === "number" ? h("p", { class: "muted" }, `共 ${data.total} 篇`) : null,
        table(["", "标题", "分类", "状态", "发布时间", "更新时间", ""], data.items.map(row), "没有符合条件的文章"),
      );
      cursors[pageIndex + 1] = data.next_cursor;
      pager.replaceChildren(
        h("button", { type: "button", class: "btn", disabled: pageIndex === 0, "data-role": "prev", onclick: () => { pageIndex -= 1; load(); } }, "上一页"),
        h("span", { class: "muted" }, `第 ${pageIndex + 1} 页`),
        h("button", { type: "button", class: "btn", disabled: !data.next_cursor, "data-role": "next", onclick: () => { pageIndex += 1; load(); } }, "下一页"),
      );
      syncBatch();
    } catch (err) {
      if (ticket !== latest) return;
      results.replaceChildren(h("p", { class: "form-error", role: "alert" }, err.message));
      showError(err);
    }
  }
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    cursors.length = 1;
    pageIndex = 0;
    selected.clear();
    load();
  });

  view.append(
    pageHeader("文章", h("a", { class: "btn btn-primary", href: "#/articles/new", "data-role": "article-new" }, "写文章")),
    filters,
    h("div", { class: "batchbar" }, count, batchButtons),
    results,
    pager,
  );
  await load();
}

// -- editor -------------------------------------------------------------------------------------

const TOOLS = [
  ["B", "加粗", () => exec("bold")],
  ["I", "斜体", () => exec("italic")],
  ["U", "下划线", () => exec("underline")],
  ["H2", "小标题", () => exec("formatBlock", "<h2>")],
  ["H3", "三级标题", () => exec("formatBlock", "<h3>")],
  ["¶", "正文段落", () => exec("formatBlock", "<p>")],
  ["❝", "引用", () => exec("formatBlock", "<blockquote>")],
  ["• 列表", "无序列表", () => exec("insertUnorderedList")],
  ["1. 列表", "有序列表", () => exec("insertOrderedList")],
  ["链接", "插入链接", () => {
    const url = prompt("链接地址（https://…）");
    if (url) exec("createLink", url);
  }],
  ["图片", "插入图片", () => {
    const url = prompt("图片地址（https://…）");
    if (url) exec("insertImage", url);
  }],
  ["清除格式", "清除格式", () => exec("removeFormat")],
];

// HTML typed into the source view is made inert before it enters the live editor: the server
// sanitizes authoritatively on save, but nothing an editor pastes should run in the console.
function inert(html) {
  // Handler attributes go first, as text: Chrome reports a CSP violation for one even while
  // parsing into an inert document.
  const stripped = html.replace(/\s+on[a-z]+\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi, "");
  const doc = new DOMParser().parseFromString(stripped, "text/html");
  for (const el of doc.body.querySelectorAll("script,style,iframe,object,embed,link,meta,form")) el.remove();
  for (const el of doc.body.querySelectorAll("*")) {
    for (const attr of [...el.attributes]) {
      const value = attr.value.trim().toLowerCase();
      if (attr.name.startsWith("on") || attr.name === "style" || value.startsWith("javascript:")) el.removeAttribute(attr.name);
    }
  }
  return doc.body.innerHTML;
}

function exec(command, value) {
  document.execCommand("styleWithCSS", false, false); // tags, not style attributes
  document.execCommand(command, false, value);
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(new Error("无法读取图片文件"));
    reader.readAsDataURL(file);
  });
}

async function editor(view, id) {
  const [{ items: categories }, loaded] = await Promise.all([
    get("/admin/categories"),
    id ? get(`/admin/articles/${encodeURIComponent(id)}`) : Promise.resolve(null),
  ]);
  let article = loaded;
  const title = h("input", { class: "input input-title", id: "article-title", maxlength: 100, placeholder: "标题", value: article ? article.title : "" });
  const digest = h("textarea", { class: "input", id: "article-digest", rows: 2, maxlength: 200 });
  digest.value = article ? article.digest : "";
  const author = h("input", { class: "input", id: "article-author", maxlength: 40, value: article ? article.author : "" });
  const category = h(
    "select",
    { class: "input", id: "article-category" },
    h("option", { value: "" }, "未分类"),
    categories.map((c) => h("option", { value: c.id, selected: article && article.category_id === c.id }, c.name)),
  );
  const body = h("div", { class: "rich", id: "article-body", contenteditable: "true", "aria-label": "正文" });
  body.innerHTML = article ? article.body_html : "<p><br></p>"; // sanitized by the server
  const source = h("textarea", { class: "input mono rich-source", id: "article-html", rows: 16, hidden: true });
  const sourceToggle = h("button", { type: "button", class: "btn btn-small", "data-role": "toggle-html" }, "HTML 源码");
  sourceToggle.addEventListener("click", () => {
    if (source.hidden) {
      source.value = body.innerHTML;
      source.hidden = false;
      body.hidden = true;
      sourceToggle.textContent = "可视化编辑";
    } else {
      body.innerHTML = inert(source.value);
      source.hidden = true;
      body.hidden = false;
      sourceToggle.textContent = "HTML 源码";
    }
  });
  const toolbar = h(
    "div",
    { class: "rich-toolbar", role: "toolbar" },
    TOOLS.map(([label, hint, action]) =>
      h("button", { type: "button", class: "btn btn-small", title: hint, onmousedown: (e) => e.preventDefault(), onclick: action }, label),
    ),
    sourceToggle,
  );

  // Cover: uploaded at once for a saved article, after the first save for a new one.
  let pendingCover = null;
  const preview = h("img", { class: "cover-preview", alt: "封面预览", "data-role": "cover-preview", hidden: true });
  const coverInput = h("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp", id: "article-cover" });
  const removeCover = h("button", { type: "button", class: "btn btn-small btn-link", hidden: true }, "移除封面");
  const showCover = (url) => {
    preview.hidden = !url;
    removeCover.hidden = !url;
    if (url) preview.src = url;
    else preview.removeAttribute("src");
  };
  showCover(article && article.cover_url);
  coverInput.addEventListener("change", async () => {
    const file = coverInput.files[0];
    if (!file) return;
    if (file.size > 2 * 1024 * 1024) {
      showError(new Error("封面不能超过 2 MB"));
      coverInput.value = "";
      return;
    }
    const data = await readFile(file);
    if (!article) {
      pendingCover = data;
      showCover(data);
      return;
    }
    const updated = await run(null, () => put(`/admin/articles/${article.id}/cover`, { data }));
    if (updated) {
      article = updated;
      showCover(updated.cover_url);
      notify("封面已上传");
    }
  });
  removeCover.addEventListener("click", async () => {
    if (!article) {
      pendingCover = null;
      coverInput.value = "";
      showCover(null);
      return;
    }
    const updated = await run(removeCover, () => del(`/admin/articles/${article.id}/cover`));
    if (updated) {
      article = updated;
      showCover(null);
      coverInput.value = "";
    }
  });

  const error = errorLine();
  const state = h("span", { "data-role": "article-state" });
  const save = h("button", { type: "submit", class: "btn btn-primary", id: "article-save" }, "保存");
  const create = keyedPost(); // one Idempotency-Key per submission, kept for its retries
  const publish = h("button", { type: "button", class: "btn btn-ok", id: "article-publish" }, "保存并发布");
  const unpublish = h("button", { type: "button", class: "btn", id: "article-unpublish" }, "下线");
  const viewLink = h("a", { class: "btn", id: "article-view", target: "_blank", rel: "noopener" }, "查看页面");
  const remove = h("button", { type: "button", class: "btn btn-danger", id: "article-delete" }, "删除");

  function refreshState() {
    const published = article && article.status === "published";
    state.replaceChildren(
      !article ? badge("新文章", "muted") : published ? badge("已发布", "ok") : badge("草稿", "muted"),
      published ? ` ${fmtTime(article.published_at)} 发布` : "",
    );
    publish.hidden = Boolean(published);
    unpublish.hidden = !published;
    viewLink.hidden = !published;
    remove.hidden = !article;
    if (published) viewLink.href = article.url;
  }

  function fields() {
    if (!source.hidden) body.innerHTML = inert(source.value);
    return {
      title: title.value,
      digest: digest.value,
      author: author.value,
      category_id: category.value || null,
      body_html: body.innerHTML,
    };
  }

  async function saveNow() {
    const wasNew = !article;
    const saved = article
      ? await put(`/admin/articles/${article.id}`, { ...fields(), rev: article.rev })
      : await create("/admin/articles", fields());
    article = saved;
    if (pendingCover) {
      article = await put(`/admin/articles/${article.id}/cover`, { data: pendingCover });
      pendingCover = null;
    }
    body.innerHTML = article.body_html || "<p><br></p>"; // show what was kept after sanitizing
    showCover(article.cover_url);
    refreshState();
    if (wasNew) history.replaceState(null, "", `#/articles/${article.id}`);
    return article;
  }

  const form = h(
    "form",
    { class: "card form article-form", id: "article-form" },
    title,
    h("div", { class: "row" }, field("分类", category), field("作者", author)),
    field("摘要", digest, "显示在图文消息和列表中，最多 200 字"),
    h("div", { class: "field" }, h("span", { class: "field-label" }, "封面"), h("div", { class: "cover-row" }, preview, coverInput, removeCover)),
    h("div", { class: "field" }, h("span", { class: "field-label" }, "正文"), toolbar, body, source),
    error,
    h("div", { class: "form-actions" }, save, publish, unpublish, viewLink, remove, h("a", { class: "btn btn-link", href: "#/articles" }, "返回列表")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await run(save, saveNow, error)) notify("已保存");
  });
  publish.addEventListener("click", async () => {
    const done = await run(
      publish,
      async () => {
        await saveNow();
        article = await post(`/admin/articles/${article.id}/publish`);
        refreshState();
        return article;
      },
      error,
    );
    if (done) notify("已发布");
  });
  unpublish.addEventListener("click", async () => {
    if (!(await confirmDialog("下线后公众号用户将无法打开此文章，引用它的图文回复也会跳过它。", { ok: "下线" }))) return;
    const done = await run(unpublish, () => post(`/admin/articles/${article.id}/unpublish`), error);
    if (done) {
      article = done;
      refreshState();
      notify("已下线");
    }
  });
  remove.addEventListener("click", async () => {
    if (!(await confirmDialog(`删除文章「${article.title}」？此操作不可撤销。`, { ok: "删除" }))) return;
    const done = await run(remove, () => del(`/admin/articles/${article.id}`), error);
    if (done !== undefined) {
      notify("文章已删除");
      location.hash = "#/articles";
    }
  });
  refreshState();
  // Views, distinct readers and views through shared links (summed from page views).
  const stats = h("span", { class: "muted", "data-role": "article-stats" });
  view.append(pageHeader(article ? "编辑文章" : "写文章", state, " ", stats), form);
  title.focus();
  if (article) {
    get(`/admin/articles/${encodeURIComponent(article.id)}/stats`)
      .then((s) => stats.replaceChildren(`阅读 ${s.views} · 读者 ${s.readers} · 分享打开 ${s.shared_views}`))
      .catch(() => {}); // figures are a nicety here: the editor works without them
  }
}
