// Signing in: a person with username and password (POST /admin/auth/login, Cognito behind it;
// an MFA code when Cognito asks for one), or the owner with ADMIN_TOKEN (break-glass). Either
// way the console keeps one bearer token in sessionStorage.

import { post, token } from "./api.js";
import { h } from "./ui.js";

export function signInForm({ message, verify, done }) {
  const username = h("input", { class: "input", id: "signin-username", autocomplete: "username", placeholder: "用户名" });
  const password = h("input", { class: "input", type: "password", id: "signin-password", autocomplete: "current-password", placeholder: "密码" });
  const code = h("input", { class: "input mono", id: "signin-code", inputmode: "numeric", autocomplete: "one-time-code", placeholder: "6 位动态码" });
  const codeField = h("label", { class: "field", hidden: true }, h("span", { class: "field-label" }, "动态验证码（MFA）"), code);
  const error = h("p", { class: "form-error", role: "alert", "data-role": "signin-error" }, message || "");
  const userButton = h("button", { class: "btn btn-primary", type: "submit", id: "signin-user" }, "登录");
  const ownerToken = h("input", { class: "input", type: "password", id: "token", autocomplete: "off", placeholder: "ADMIN_TOKEN" });
  const ownerButton = h("button", { class: "btn", type: "submit", id: "signin" }, "用管理令牌登录");
  let challenge = null; // {challenge, session} while Cognito waits for a code

  async function finish(bearer) {
    token.set(bearer);
    try {
      await verify(); // proves the credential and learns who it is
    } catch (err) {
      token.clear();
      error.textContent = err.message;
      return;
    }
    done();
  }

  const userForm = h(
    "form",
    { class: "signin-part", id: "signin-user-form" },
    h("label", { class: "field" }, h("span", { class: "field-label" }, "用户名"), username),
    h("label", { class: "field" }, h("span", { class: "field-label" }, "密码"), password),
    codeField,
    userButton,
  );
  userForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    userButton.disabled = true;
    error.textContent = "";
    try {
      const answer = challenge
        ? await post("/admin/auth/challenge", {
            username: username.value.trim(),
            challenge: challenge.challenge,
            session: challenge.session,
            answers: { [`${challenge.challenge}_CODE`]: code.value.trim() },
          })
        : await post("/admin/auth/login", { username: username.value.trim(), password: password.value });
      if (answer.challenge) {
        challenge = answer;
        codeField.hidden = false;
        code.focus();
        error.textContent = "请输入身份验证器中的动态码。";
        return;
      }
      challenge = null;
      await finish(answer.token);
    } catch (err) {
      challenge = null;
      codeField.hidden = true;
      error.textContent = err.status === 401 ? "用户名或密码错误，或账号已停用。" : err.message;
    } finally {
      userButton.disabled = false;
    }
  });

  const ownerForm = h(
    "form",
    { class: "signin-part", id: "signin-owner-form" },
    h("p", { class: "muted" }, "所有者应急登录：管理令牌（ADMIN_TOKEN）。令牌只保存在本标签页的会话中。"),
    h("label", { class: "field" }, h("span", { class: "field-label" }, "管理令牌"), ownerToken),
    ownerButton,
  );
  ownerForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    ownerButton.disabled = true;
    error.textContent = "";
    await finish(ownerToken.value.trim());
    ownerButton.disabled = false;
  });

  const card = h("div", { class: "card signin-card" }, h("h1", {}, "wxless 管理后台"), error, userForm, h("hr", { class: "signin-or" }), ownerForm);
  return { card, focus: () => username.focus() };
}
