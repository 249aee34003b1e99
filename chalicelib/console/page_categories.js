// Article categories. A category that still has articles is never deleted silently: the
// server answers 409 and the console asks where its articles should go.

import { ApiError, del, get, keyedPost, patch } from "./api.js";
import { confirmDialog, errorLine, field, h, notify, pageHeader, run, showError, table } from "./ui.js";

export async function render(view) {
  const { items } = await get("/admin/categories");
  const reload = () => {
    view.replaceChildren();
    render(view).catch(showError);
  };

  const name = h("input", { class: "input", id: "category-name", maxlength: 40, required: true, placeholder: "如：理财" });
  const description = h("input", { class: "input", id: "category-description", maxlength: 200 });
  const position = h("input", { class: "input", id: "category-position", type: "number", value: 0 });
  const error = errorLine();
  const add = h("button", { type: "submit", class: "btn btn-primary", id: "category-add" }, "添加分类");
  const create = keyedPost(); // one Idempotency-Key per submission, kept for its retries
  const form = h(
    "form",
    { class: "card form toolbar", id: "category-form" },
    field("名称", name),
    field("说明", description),
    field("排序", position, "小的在前"),
    add,
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: name.value, description: description.value, position: Number(position.value || 0) };
    if (await run(add, () => create("/admin/categories", body), error)) {
      notify(`分类「${body.name.trim()}」已添加`);
      reload();
    }
  });

  function row(category) {
    const tr = h("tr", { "data-id": category.id, "data-name": category.name });
    const show = () =>
      tr.replaceChildren(
        h("td", {}, category.name),
        h("td", { class: "clip" }, category.description || "—"),
        h("td", { class: "num" }, category.position),
        h("td", { class: "num" }, `${category.published_count} / ${category.article_count}`),
        h("td", {}, h("a", { href: category.url, target: "_blank", rel: "noopener" }, "公开页面")),
        h(
          "td",
          { class: "actions" },
          h("button", { type: "button", class: "btn btn-small", "data-role": "category-edit", onclick: edit }, "编辑"),
          h("button", { type: "button", class: "btn btn-small btn-danger", "data-role": "category-delete", onclick: (e) => remove(e.target) }, "删除"),
        ),
      );
    function edit() {
      const n = h("input", { class: "input", value: category.name, maxlength: 40, "data-role": "edit-name" });
      const d = h("input", { class: "input", value: category.description, maxlength: 200 });
      const p = h("input", { class: "input", type: "number", value: category.position });
      const saveButton = h("button", { type: "button", class: "btn btn-small btn-primary", "data-role": "category-save" }, "保存");
      saveButton.addEventListener("click", async () => {
        const saved = await run(saveButton, () =>
          patch(`/admin/categories/${category.id}`, { name: n.value, description: d.value, position: Number(p.value || 0) }),
        );
        if (saved) {
          Object.assign(category, saved);
          notify("分类已保存");
          show();
        }
      });
      tr.replaceChildren(
        h("td", {}, n),
        h("td", {}, d),
        h("td", {}, p),
        h("td", { class: "num" }, `${category.published_count} / ${category.article_count}`),
        h("td", {}),
        h("td", { class: "actions" }, saveButton, h("button", { type: "button", class: "btn btn-small", onclick: show }, "取消")),
      );
    }
    async function remove(button) {
      if (!(await confirmDialog(`删除分类「${category.name}」？`, { ok: "删除" }))) return;
      try {
        button.disabled = true;
        await del(`/admin/categories/${category.id}`);
        notify("分类已删除");
        reload();
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 409)) {
          showError(err);
          return;
        }
        await moveThenDelete(err);
      } finally {
        button.disabled = false;
      }
    }
    async function moveThenDelete(err) {
      const count = (err.body && err.body.article_count) || category.article_count;
      const target = h(
        "select",
        { class: "input", "data-role": "move-to" },
        items.filter((c) => c.id !== category.id).map((c) => h("option", { value: c.id }, `移到「${c.name}」`)),
        h("option", { value: "none" }, "设为未分类"),
      );
      const ok = await confirmDialog(`分类「${category.name}」下还有 ${count} 篇文章（含草稿）。先把它们移到：`, {
        ok: "移动并删除",
        extra: target,
      });
      if (!ok) return;
      try {
        const result = await del(`/admin/categories/${category.id}`, { move_to: target.value });
        notify(`已移动 ${result.moved} 篇文章并删除分类`);
        reload();
      } catch (again) {
        showError(again);
      }
    }
    show();
    return tr;
  }

  view.append(
    pageHeader("文章分类"),
    form,
    table(["名称", "说明", "排序", "已发布 / 全部", "", ""], items.map(row), "还没有分类"),
  );
}
