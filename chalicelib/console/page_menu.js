// The custom menu: up to 3 buttons, each an action or a sub-menu of up to 5. Edited as a form
// (the common button types) or as JSON (every type WeChat knows); published to WeChat at once.
// The server checks WeChat's limits first and names the offending button.

import { ApiError, del, get, put } from "./api.js";
import { badge, confirmDialog, errorLine, field, fmtTime, h, notify, pageHeader, run } from "./ui.js";

// type -> the one value it needs; other types (miniprogram, media_id...) are edited as JSON.
const FORM_TYPES = [
  ["click", "发送点击事件（EventKey）", "key"],
  ["view", "打开网页", "url"],
  ["scancode_push", "扫码", "key"],
  ["scancode_waitmsg", "扫码（等待回复）", "key"],
  ["pic_photo_or_album", "拍照或相册", "key"],
  ["location_select", "发送位置", "key"],
];
const VALUE_OF = Object.fromEntries(FORM_TYPES.map(([type, , key]) => [type, key]));
const MAX_BUTTONS = 3;
const MAX_SUB = 5;

const formable = (menu) =>
  (menu.button || []).every((b) => (b.sub_button && b.sub_button.length ? b.sub_button.every((s) => VALUE_OF[s.type]) : VALUE_OF[b.type]));

function actionFields(button, onChange) {
  const type = h("select", { class: "input", "data-role": "menu-type" }, FORM_TYPES.map(([value, label]) => h("option", { value, selected: button.type === value }, label)));
  const value = h("input", { class: "input", "data-role": "menu-value" });
  value.value = button[VALUE_OF[button.type] || "key"] || "";
  const hint = () => (value.placeholder = VALUE_OF[type.value] === "url" ? "https://…" : "EventKey，由「菜单点击」规则回复");
  type.addEventListener("change", () => {
    hint();
    if (onChange) onChange();
  });
  hint();
  return {
    type,
    value,
    read: () => ({ type: type.value, [VALUE_OF[type.value]]: value.value.trim() }),
  };
}

function buttonEditor(button, remove) {
  const name = h("input", { class: "input", "data-role": "menu-name", maxlength: 16, value: button.name || "", placeholder: "最多 4 个汉字" });
  const hasSub = h("input", { type: "checkbox", "data-role": "menu-has-sub", checked: Boolean(button.sub_button && button.sub_button.length) });
  const action = actionFields(button);
  const subs = h("div", { class: "menu-subs" });
  const addSub = h("button", { type: "button", class: "btn btn-small", "data-role": "menu-add-sub" }, "＋ 子菜单项");
  function subRow(sub) {
    const subName = h("input", { class: "input", "data-role": "menu-sub-name", maxlength: 60, value: sub.name || "" });
    const subAction = actionFields(sub);
    const row = h(
      "div",
      { class: "menu-sub", "data-role": "menu-sub" },
      subName,
      subAction.type,
      subAction.value,
      h("button", { type: "button", class: "btn btn-small btn-link", onclick: () => { row.remove(); sync(); } }, "移除"),
    );
    row.read = () => ({ name: subName.value.trim(), ...subAction.read() });
    subs.append(row);
  }
  addSub.addEventListener("click", () => {
    if (subs.children.length < MAX_SUB) subRow({ type: "click" });
    sync();
  });
  for (const sub of button.sub_button || []) subRow(sub);
  const actionRow = h("div", { class: "row" }, field("动作", action.type), field("内容", action.value));
  function sync() {
    actionRow.hidden = hasSub.checked;
    subs.hidden = !hasSub.checked;
    addSub.hidden = !hasSub.checked || subs.children.length >= MAX_SUB;
    if (hasSub.checked && !subs.children.length) subRow({ type: "click" });
  }
  hasSub.addEventListener("change", sync);
  sync();
  const el = h(
    "fieldset",
    { class: "menu-button", "data-role": "menu-button" },
    h("div", { class: "row" }, field("菜单名称", name), h("label", { class: "check" }, hasSub, " 含子菜单")),
    actionRow,
    subs,
    h("div", { class: "form-actions" }, addSub, h("button", { type: "button", class: "btn btn-small btn-link", onclick: remove }, "删除此菜单")),
  );
  el.read = () =>
    hasSub.checked
      ? { name: name.value.trim(), sub_button: [...subs.children].map((row) => row.read()) }
      : { name: name.value.trim(), ...action.read() };
  return el;
}

export async function render(view) {
  let record = null;
  try {
    record = await get("/admin/menu");
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err; // 404: none published yet
  }
  const menu = (record && record.menu) || { button: [{ name: "我的账户", type: "click", key: "MENU_ACCOUNT" }] };
  const state = h("p", { class: "muted", "data-role": "menu-state" }, record ? `已于 ${fmtTime(record.published_at)} 发布` : "尚未通过后台发布菜单");
  const buttons = h("div", { class: "menu-buttons" });
  const add = h("button", { type: "button", class: "btn btn-small", "data-role": "menu-add" }, "＋ 一级菜单");
  const json = h("textarea", { class: "input mono", rows: 16, id: "menu-json", hidden: true });
  const toggle = h("button", { type: "button", class: "btn btn-small", "data-role": "menu-toggle-json" }, "JSON（高级）");
  const hints = h("div", { "data-role": "menu-hints" });
  const error = errorLine();

  const syncAdd = () => (add.hidden = !json.hidden || buttons.children.length >= MAX_BUTTONS);
  function addButton(button) {
    const el = buttonEditor(button, () => {
      el.remove();
      syncAdd();
    });
    buttons.append(el);
    syncAdd();
  }
  add.addEventListener("click", () => addButton({ type: "click" }));
  const readForm = () => ({ button: [...buttons.children].map((el) => el.read()) });
  function showForm(value) {
    buttons.replaceChildren();
    for (const button of value.button || []) addButton(button);
    json.hidden = true;
    buttons.hidden = false;
    toggle.textContent = "JSON（高级）";
    syncAdd();
  }
  function showJson(value) {
    json.value = JSON.stringify(value, null, 2);
    json.hidden = false;
    buttons.hidden = true;
    toggle.textContent = "表单编辑";
    syncAdd();
  }
  function current() {
    if (json.hidden) return readForm();
    try {
      return JSON.parse(json.value);
    } catch (err) {
      throw new Error(`菜单 JSON 无法解析：${err.message}`);
    }
  }
  toggle.addEventListener("click", () =>
    run(toggle, async () => {
      const value = current();
      if (!json.hidden && !formable(value)) throw new Error("此菜单含表单不支持的类型（如小程序），请在 JSON 中编辑");
      if (json.hidden) showJson(value);
      else showForm(value);
    }, error),
  );
  if (formable(menu)) showForm(menu);
  else showJson(menu);

  const publish = h("button", { type: "submit", class: "btn btn-primary", id: "menu-publish" }, "发布到微信");
  const remove = h(
    "button",
    {
      type: "button",
      class: "btn btn-danger",
      id: "menu-delete",
      onclick: async () => {
        if (!(await confirmDialog("删除公众号的自定义菜单？粉丝将看不到任何菜单。", { ok: "删除菜单" }))) return;
        if ((await run(remove, () => del("/admin/menu"), error)) !== undefined) {
          notify("菜单已删除");
          state.textContent = "菜单已删除";
          hints.replaceChildren();
        }
      },
    },
    "删除菜单",
  );
  const form = h(
    "form",
    { class: "card form", id: "menu-form" },
    h("p", { class: "muted" }, "最多 3 个一级菜单，每个最多 5 个子菜单项。点击类菜单发送 EventKey，由「关键词回复」中的菜单点击规则回复。"),
    buttons,
    json,
    h("div", { class: "form-actions" }, add, toggle),
    error,
    hints,
    h("div", { class: "form-actions" }, publish, remove),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const saved = await run(publish, () => put("/admin/menu", current()), error);
    if (!saved) return;
    notify("菜单已发布");
    state.textContent = `已于 ${fmtTime(saved.published_at)} 发布`;
    const missing = saved.unanswered_click_keys || [];
    hints.replaceChildren(
      missing.length
        ? h("p", { class: "badge-warn", "data-role": "menu-unanswered" }, "这些点击菜单还没有启用的回复规则：", missing.map((k) => badge(k, "warn")))
        : h("p", { class: "muted" }, "每个点击菜单都有回复规则。"),
    );
  });
  view.append(pageHeader("自定义菜单"), state, form);
}
