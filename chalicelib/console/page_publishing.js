// Publishing CMS articles as WeChat articles (freepublish) and moderating their comments.

import { del, get, keyedPost, post } from "./api.js";
import { badge, confirmDialog, errorLine, field, fmtTime, h, notify, pageHeader, run, showError, table } from "./ui.js";

const STATES = {
  drafting: ["草稿中", "muted"],
  publishing: ["发布中", ""],
  published: ["已发布", "ok"],
  failed: ["失败", "warn"],
  deleted: ["已删除", "muted"],
};

function stateBadge(state) {
  const [text, kind] = STATES[state] || [state, ""];
  return badge(text, kind);
}

export async function render(view, params) {
  if (params[0]) return detail(view, params[0]);
  const [{ items }, articles] = await Promise.all([
    get("/admin/publications"),
    get("/admin/articles", { status: "published", limit: 50 }),
  ]);
  const reload = () => {
    view.replaceChildren();
    render(view, []).catch(showError);
  };

  const picks = articles.items.map((a) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", value: a.id, "data-role": "publish-article" }), ` ${a.title}`),
  );
  const cover = h("input", { class: "input", id: "publish-cover", required: true, placeholder: "媒体库图片 ID 或永久素材 media_id" });
  const coverKind = h(
    "select",
    { class: "input", id: "publish-cover-kind" },
    h("option", { value: "thumb_media" }, "媒体库图片"),
    h("option", { value: "thumb_media_id" }, "永久素材 media_id"),
  );
  const comments = h("input", { type: "checkbox", id: "publish-comments", checked: true });
  const fansOnly = h("input", { type: "checkbox", id: "publish-fans-only" });
  const error = errorLine();
  const submit = h("button", { type: "submit", class: "btn btn-primary", id: "publish-submit" }, "发布到公众号");
  const create = keyedPost();
  const form = h(
    "form",
    { class: "card form", id: "publish-form" },
    h("p", { class: "muted" }, "发布（freepublish）不推送给粉丝，也不占群发次数；文章出现在公众号主页，可开启留言。"),
    field("文章（已发布的，最多 8 篇）", h("div", { class: "checks" }, picks.length ? picks : h("span", { class: "muted" }, "还没有已发布的文章"))),
    h("div", { class: "row" }, field("封面", cover), field("封面来源", coverKind)),
    h("label", { class: "check" }, comments, " 开启留言"),
    h("label", { class: "check" }, fansOnly, " 仅粉丝可留言"),
    error,
    h("div", { class: "form-actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = picks.map((p) => p.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    const body = { article_ids: ids, [coverKind.value]: cover.value.trim(), open_comment: comments.checked, fans_only_comment: fansOnly.checked };
    if (await run(submit, () => create("/admin/publications", body), error)) {
      notify("已提交发布，微信审核后生效");
      reload();
    }
  });

  const rows = items.map((p) =>
    h(
      "tr",
      { "data-id": p.id },
      h("td", {}, h("a", { href: `#/publishing/${p.id}` }, (p.titles || []).join(" / ") || p.id)),
      h("td", {}, stateBadge(p.state), p.error ? h("span", { class: "muted" }, ` ${p.error}`) : null),
      h("td", { class: "nowrap" }, fmtTime(p.created_at)),
      h("td", {}, (p.urls || []).map((u, i) => h("a", { href: u, target: "_blank", rel: "noopener" }, `文章${i + 1} `))),
      h(
        "td",
        { class: "actions" },
        p.state === "publishing"
          ? h("button", { type: "button", class: "btn btn-small", "data-role": "publish-refresh", onclick: (e) => refresh(e.target, p.id) }, "刷新状态")
          : null,
        h("a", { class: "btn btn-small", href: `#/publishing/${p.id}` }, "留言"),
      ),
    ),
  );
  async function refresh(button, id) {
    if (await run(button, () => get(`/admin/publications/${id}`, { refresh: true }))) reload();
  }
  view.append(
    pageHeader("发布与留言"),
    form,
    h("h2", {}, "发布记录"),
    table(["文章", "状态", "提交时间", "链接", ""], rows, "还没有发布记录"),
  );
}

async function detail(view, id) {
  const p = await get(`/admin/publications/${encodeURIComponent(id)}`);
  const base = `/admin/publications/${encodeURIComponent(id)}`;
  const index = h(
    "select",
    { class: "input", id: "comments-index" },
    (p.titles || []).map((t, i) => h("option", { value: i }, `${i + 1}. ${t}`)),
  );
  const kind = h("select", { class: "input", id: "comments-type" }, h("option", { value: "all" }, "全部"), h("option", { value: "elected" }, "精选"), h("option", { value: "normal" }, "未精选"));
  const list = h("div", { id: "comments" });
  const idx = () => Number(index.value || 0);

  async function load() {
    const page = await get(`${base}/comments`, { index: idx(), type: kind.value, count: 50 });
    const rows = page.items.map((c) => {
      const reply = h("input", { class: "input", maxlength: 1000, placeholder: "回复内容", "data-role": "reply-text" });
      const act = (label, role, action, extra) =>
        h("button", { type: "button", class: `btn btn-small ${extra || ""}`, "data-role": role, onclick: (e) => run(e.target, action).then((ok) => ok !== undefined && load()) }, label);
      return h(
        "tr",
        { "data-id": c.id },
        h("td", { class: "nowrap" }, fmtTime(c.created_at)),
        h("td", { class: "mono" }, c.openid),
        h("td", {}, c.content, c.elected ? badge("精选", "ok") : null),
        h("td", {}, c.reply ? c.reply.content : reply),
        h(
          "td",
          { class: "actions" },
          c.elected
            ? act("取消精选", "comment-unelect", () => post(`${base}/comments/${c.id}/unelect`, { index: idx() }))
            : act("精选", "comment-elect", () => post(`${base}/comments/${c.id}/elect`, { index: idx() })),
          c.reply
            ? act("删除回复", "reply-delete", () => del(`${base}/comments/${c.id}/reply`, { index: idx() }))
            : act("回复", "comment-reply", () => post(`${base}/comments/${c.id}/reply`, { index: idx(), content: reply.value })),
          act("删除", "comment-delete", async () => {
            if (await confirmDialog("删除这条留言？", { ok: "删除" })) return del(`${base}/comments/${c.id}`, { index: idx() });
            return undefined;
          }, "btn-danger"),
        ),
      );
    });
    list.replaceChildren(h("p", { class: "muted" }, `共 ${page.total} 条`), table(["时间", "粉丝", "留言", "回复", ""], rows, "暂无留言"));
  }
  const error = errorLine();
  const toggle = (label, role, open) =>
    h("button", { type: "button", class: "btn", "data-role": role, onclick: async (e) => {
      if (await run(e.target, () => post(`${base}/comments/${open ? "open" : "close"}`, { index: idx() }), error)) notify(open ? "已开启留言" : "已关闭留言");
    } }, label);
  index.addEventListener("change", () => load().catch(showError));
  kind.addEventListener("change", () => load().catch(showError));
  view.append(
    pageHeader(`发布：${(p.titles || []).join(" / ")}`, h("a", { class: "btn", href: "#/publishing" }, "返回")),
    h(
      "dl",
      { class: "card facts" },
      [["状态", stateBadge(p.state)], ["提交时间", fmtTime(p.created_at)], ["发布时间", fmtTime(p.published_at)], ["错误", p.error || "—"]].map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
    ),
    h("div", { class: "toolbar" }, field("文章", index), field("留言", kind), toggle("开启留言", "comments-open", true), toggle("关闭留言", "comments-close", false)),
    error,
    list,
  );
  if (p.state === "published" || p.state === "publishing") await load();
  else list.append(h("p", { class: "muted" }, "发布成功后才有留言。"));
}
