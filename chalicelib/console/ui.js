// Small DOM helpers. Everything user-supplied goes in as text nodes or properties, never as
// markup, so a title like "<img onerror=...>" shows as text.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "value" || key === "checked" || key === "selected" || key === "disabled") {
      el[key] = value;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function toast(message, kind = "error") {
  const box = document.getElementById("toasts");
  const item = h(
    "div",
    { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("span", { class: "toast-text" }, message),
    h("button", { class: "toast-close", type: "button", "aria-label": "关闭", onclick: () => item.remove() }, "×"),
  );
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 12000 : 4000);
  return item;
}

export function showError(err) {
  console.warn(err); // handled: shown to the user below
  toast(err && err.message ? err.message : String(err), "error");
}

export function notify(message) {
  toast(message, "ok");
}

// Run an async action from a button: disabled meanwhile; errors shown, never swallowed.
export async function run(button, action, errorBox) {
  if (button) button.disabled = true;
  if (errorBox) errorBox.textContent = "";
  try {
    return await action();
  } catch (err) {
    if (errorBox) errorBox.textContent = err.message || String(err);
    showError(err);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function confirmDialog(message, { ok = "确定", danger = true, extra = null } = {}) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "dialog", "data-role": "confirm" },
      h("p", { class: "dialog-text" }, message),
      extra,
      h(
        "div",
        { class: "dialog-actions" },
        h("button", { type: "button", class: "btn", "data-role": "cancel", onclick: () => done(false) }, "取消"),
        h(
          "button",
          { type: "button", class: danger ? "btn btn-danger" : "btn btn-primary", "data-role": "ok", onclick: () => done(true) },
          ok,
        ),
      ),
    );
    function done(answer) {
      dialog.close();
      dialog.remove();
      resolve(answer);
    }
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

const pad = (n) => String(n).padStart(2, "0");

export function fmtTime(epochSeconds) {
  if (!epochSeconds) return "—";
  const d = new Date(Number(epochSeconds) * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fmtDate(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind ? `badge-${kind}` : ""}` }, text);
}

export function field(label, control, hint) {
  return h("label", { class: "field" }, h("span", { class: "field-label" }, label), control, hint ? h("span", { class: "field-hint" }, hint) : null);
}

export function pageHeader(title, ...actions) {
  return h("div", { class: "page-head" }, h("h1", {}, title), h("div", { class: "page-actions" }, actions));
}

export function errorLine() {
  return h("p", { class: "form-error", role: "alert", "data-role": "form-error" });
}

export function table(headers, rows, emptyText = "暂无数据") {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table" },
      h("thead", {}, h("tr", {}, headers.map((label) => h("th", {}, label)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, emptyText))),
    ),
  );
}

export function link(href, text, attrs = {}) {
  return h("a", { href, ...attrs }, text);
}

export function lines(text) {
  return String(text || "")
    .split(/[\n,，]/)
    .map((s) => s.trim())
    .filter(Boolean);
}
