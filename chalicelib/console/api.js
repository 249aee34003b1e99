// The admin API client: Bearer token from sessionStorage (never in a URL), JSON in and out, and
// every failure raised as an ApiError carrying the server's own message.

const KEY = "wxless.adminToken";

export const token = {
  get: () => sessionStorage.getItem(KEY) || "",
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

// Served at <prefix>/console (the prefix is the API Gateway stage, or nothing locally): the
// API lives under the same prefix.
export const BASE = location.pathname.replace(/\/console\/?$/, "");

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function query(params) {
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") qs.set(key, String(value));
  }
  const text = qs.toString();
  return text ? `?${text}` : "";
}

export async function api(method, path, body, params, idempotencyKey) {
  const headers = { Authorization: `Bearer ${token.get()}`, Accept: "application/json" };
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(BASE + path + query(params), init);
  } catch (err) {
    throw new ApiError(0, `无法连接服务器：${err.message}`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const detail = data && typeof data.error === "string" ? data.error : text.slice(0, 200);
    const err = new ApiError(response.status, `${describe(response.status)}：${detail || response.statusText}`, data);
    if (response.status === 401) window.dispatchEvent(new CustomEvent("wxless:unauthorized", { detail: err }));
    throw err;
  }
  return data;
}

function describe(status) {
  return (
    {
      400: "请求有误",
      401: "未登录或令牌无效",
      403: "拒绝访问",
      404: "未找到",
      409: "冲突",
      429: "尝试过多",
      502: "微信接口出错",
      503: "服务暂不可用",
    }[status] || `HTTP ${status}`
  );
}

export const get = (path, params) => api("GET", path, undefined, params);
export const post = (path, body, params) => api("POST", path, body === undefined ? {} : body, params);
export const put = (path, body) => api("PUT", path, body);
export const patch = (path, body) => api("PATCH", path, body);
export const del = (path, params) => api("DELETE", path, undefined, params);

// Creates carry an Idempotency-Key: one per form submission, sent again when that same submission
// is retried (the answer was lost, or the server said retry), so the server makes the thing once.
// A success, a final refusal or a changed form starts a new submission with a new key.
// Usage, once per form: `const create = keyedPost();`, then `create("/admin/rules", body)`.
export function keyedPost() {
  let pending = null; // { request, key } of the last attempt that may still be retried
  return async (path, body) => {
    const request = JSON.stringify([path, body]);
    if (!pending || pending.request !== request) pending = { request, key: newKey() };
    try {
      const data = await api("POST", path, body, undefined, pending.key);
      pending = null;
      return data;
    } catch (err) {
      if (!retryable(err)) pending = null;
      throw err;
    }
  };
}

function retryable(err) {
  // 0: no answer (network); 5xx; 409 "still in progress" says retryable: true.
  return err instanceof ApiError && (err.status === 0 || err.status >= 500 || Boolean(err.body && err.body.retryable));
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
