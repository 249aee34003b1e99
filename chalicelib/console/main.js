// The console shell: sign-in, navigation and a hash router. Each page is a module exporting
// `render(view, params)`; a page is listed with the permissions to read it and to change what it
// shows (chalicelib/access/roles.py): the console shows a role only what it may use.

import { token } from "./api.js";
import * as session from "./session.js";
import { signInForm } from "./signin.js";
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
import * as faq from "./page_faq.js";
import * as users from "./page_users.js";
import * as apiKeys from "./page_keys.js";
import * as audit from "./page_audit.js";
import * as publishing from "./page_publishing.js";
import * as qrcodes from "./page_qrcodes.js";
import * as desk from "./page_desk.js";

// [key, label, module, permission to read, permission to write]
const PAGES = [
  ["dashboard", "数据概览", dashboard, "stats:read"],
  ["rules", "关键词回复", rules, "rules:read", "rules:write"],
  ["faq", "智能问答", faq, "faq:read", "faq:write"],
  ["replies", "关注 / 默认回复", replies, "replies:read", "replies:write"],
  ["messages", "消息记录", messages, "messages:read", "conversations:reply"],
  ["articles", "文章", articles, "articles:read", "articles:write"],
  ["categories", "文章分类", categories, "categories:read", "categories:write"],
  ["flows", "多轮对话", flows, "flows:read", "flows:write"],
  ["followers", "粉丝", followers, "followers:read", "followers:write"],
  ["campaigns", "群发", campaigns, "campaigns:read", "campaigns:write"],
  ["menu", "自定义菜单", menu, "menu:read", "menu:write"],
  ["points", "网点与位置", points, "points:read", "points:write"],
  ["users", "成员与角色", users, "users:read", "users:write"],
  ["keys", "API 密钥", apiKeys, "keys:read", "keys:write"],
  ["audit", "操作日志", audit, "audit:read"],
  ["publishing", "发布与留言", publishing, "articles:read", "articles:write"],
  ["qrcodes", "渠道二维码", qrcodes, "qrcodes:read", "qrcodes:write"],
  ["desk", "客服工作台", desk, "conversations:read", "conversations:reply"],
];
const visible = () => PAGES.filter((p) => session.can(p[3]));

const app = document.getElementById("app");
let view = null;
let nav = null;

function route() {
  const pages = visible();
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || (pages[0] || PAGES[0])[0]).split("/");
  const page = pages.find(([key]) => key === name) || pages[0];
  return { page, params: rest.map(decodeURIComponent) };
}

let signingIn = false; // the token is being checked: navigation waits for the answer

async function render() {
  if (signingIn) return;
  if (!token.get()) {
    signIn();
    return;
  }
  if (!session.current()) {
    try {
      await session.load(); // a reload: the token is in this tab's session, who it is is not
    } catch (err) {
      token.clear();
      signIn(err.message);
      return;
    }
  }
  if (!view) shell();
  const { page, params } = route();
  if (!page) {
    view.replaceChildren(h("p", { class: "muted", "data-role": "no-pages" }, "你的角色没有可用的页面。"));
    return;
  }
  for (const a of nav.querySelectorAll("a")) a.classList.toggle("active", a.dataset.page === page[0]);
  document.title = `${page[1]} · wxless 管理后台`;
  // Each render draws into its own container: a slower, older render (the user clicked on)
  // finishes into a detached element instead of doubling the page.
  const container = h("div", { class: "page" });
  view.replaceChildren(container);
  try {
    await page[2].render(container, params);
    session.guard(container, page[4] && !session.can(page[4]));
  } catch (err) {
    container.append(h("p", { class: "form-error", role: "alert" }, `页面加载失败：${err.message}`));
    if (container.isConnected) showError(err);
  }
}

function shell() {
  clear(app);
  app.className = "shell";
  const me = session.current();
  nav = h(
    "nav",
    { class: "nav" },
    h("div", { class: "brand" }, "wxless", h("small", {}, "公众号管理后台")),
    h(
      "div",
      { class: "whoami", "data-role": "whoami" },
      h("strong", { "data-role": "whoami-name" }, me.actor),
      h("span", { "data-role": "whoami-role", "data-value": me.role }, session.ROLE_NAMES[me.role] || me.role),
    ),
    visible().map(([key, label]) => h("a", { href: `#/${key}`, "data-page": key }, label)),
    h("button", { type: "button", class: "btn btn-link signout", "data-role": "signout", onclick: signOut }, "退出登录"),
  );
  view = h("main", { class: "view", id: "view" });
  app.append(nav, view);
}

function signOut() {
  token.clear();
  session.forget();
  view = null;
  signIn();
}

function signIn(message) {
  view = null;
  session.forget();
  clear(app);
  app.className = "signin";
  const form = signInForm({
    message,
    verify: async () => {
      signingIn = true; // navigation waits for the answer
      try {
        await session.load();
      } finally {
        signingIn = false;
      }
    },
    done: () => render(),
  });
  app.append(form.card);
  form.focus();
}

window.addEventListener("hashchange", render);
window.addEventListener("wxless:unauthorized", () => {
  if (!token.get() || app.classList.contains("signin")) return; // the sign-in form reports it
  token.clear();
  signIn("登录已失效，请重新登录。");
});
window.addEventListener("unhandledrejection", (event) => {
  showError(event.reason || "未知错误");
});
if (!window.fetch) toast("浏览器版本过旧，无法使用管理后台。");
render();
