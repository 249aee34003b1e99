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

export async function api(method, path, body, params) {
  const headers = { Authorization: `Bearer ${token.get()}`, Accept: "application/json" };
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
