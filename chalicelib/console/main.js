// The console shell: sign-in, navigation and a hash router. Each page is a module exporting
// `render(view, params)`.

import { get, token } from "./api.js";
import { clear, h, showError, toast } from "./ui.js";
import * as dashboard from "./page_dashboard.js";
import * as rules from "./page_rules.js";
import * as replies from "./page_replies.js";
import * as messages from "./page_messages.js";
import * as articles from "./page_articles.js";
import * as categories from "./page_categories.js";
import * as flows from "./page_flows.js";
import * as followers from "./page_followers.js";
import * as campaigns from "./page_campaigns.js";
import * as menu from "./page_menu.js";
import * as points from "./page_points.js";
import * as qrcodes from "./page_qrcodes.js";
import * as desk from "./page_desk.js";

const PAGES = [
  ["dashboard", "数据概览", dashboard],
  ["rules", "关键词回复", rules],
  ["replies", "关注 / 默认回复", replies],
  ["messages", "消息记录", messages],
  ["articles", "文章", articles],
  ["categories", "文章分类", categories],
  ["flows", "多轮对话", flows],
  ["followers", "粉丝", followers],
  ["campaigns", "群发", campaigns],
  ["menu", "自定义菜单", menu],
  ["points", "网点与位置", points],
  ["qrcodes", "渠道二维码", qrcodes],
  ["desk", "客服工作台", desk],
];

const app = document.getElementById("app");
let view = null;
let nav = null;

function route() {
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || "dashboard").split("/");
  const page = PAGES.find(([key]) => key === name) || PAGES[0];
  return { page, params: rest.map(decodeURIComponent) };
}

let signingIn = false; // the token is being checked: navigation waits for the answer

async function render() {
  if (signingIn) return;
  if (!token.get()) {
    signIn();
    return;
  }
  if (!view) shell();
  const { page, params } = route();
  for (const a of nav.querySelectorAll("a")) a.classList.toggle("active", a.dataset.page === page[0]);
  document.title = `${page[1]} · wxless 管理后台`;
  // Each render draws into its own container: a slower, older render (the user clicked on)
  // finishes into a detached element instead of doubling the page.
  const container = h("div", { class: "page" });
  view.replaceChildren(container);
  try {
    await page[2].render(container, params);
  } catch (err) {
    container.append(h("p", { class: "form-error", role: "alert" }, `页面加载失败：${err.message}`));
    if (container.isConnected) showError(err);
  }
}

function shell() {
  clear(app);
  app.className = "shell";
  nav = h(
    "nav",
    { class: "nav" },
    h("div", { class: "brand" }, "wxless", h("small", {}, "公众号管理后台")),
    PAGES.map(([key, label]) => h("a", { href: `#/${key}`, "data-page": key }, label)),
    h("button", { type: "button", class: "btn btn-link signout", "data-role": "signout", onclick: signOut }, "退出登录"),
  );
  view = h("main", { class: "view", id: "view" });
  app.append(nav, view);
}

function signOut() {
  token.clear();
  view = null;
  signIn();
}

function signIn(message) {
  view = null;
  clear(app);
  app.className = "signin";
  const input = h("input", { class: "input", type: "password", id: "token", autocomplete: "current-password", required: true, placeholder: "ADMIN_TOKEN" });
  const error = h("p", { class: "form-error", role: "alert", "data-role": "signin-error" }, message || "");
  const button = h("button", { class: "btn btn-primary", type: "submit", id: "signin" }, "登录");
  const form = h(
    "form",
    { class: "card signin-card" },
    h("h1", {}, "wxless 管理后台"),
    h("p", { class: "muted" }, "输入管理令牌（ADMIN_TOKEN）。令牌只保存在本标签页的会话中。"),
    h("label", { class: "field" }, h("span", { class: "field-label" }, "管理令牌"), input),
    error,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.textContent = "";
    token.set(input.value.trim());
    signingIn = true;
    let ok = false;
    try {
      await get("/admin/rules"); // proves the token before showing anything
      ok = true;
    } catch (err) {
      token.clear();
      error.textContent = err.message;
    } finally {
      signingIn = false;
      button.disabled = false;
    }
    if (ok) render();
  });
  app.append(form);
  input.focus();
}

window.addEventListener("hashchange", render);
window.addEventListener("wxless:unauthorized", () => {
  if (!token.get() || app.classList.contains("signin")) return; // the sign-in form reports it
  token.clear();
  signIn("登录已失效，请重新输入管理令牌。");
});
window.addEventListener("unhandledrejection", (event) => {
  showError(event.reason || "未知错误");
});
if (!window.fetch) toast("浏览器版本过旧，无法使用管理后台。");
render();
