// The one way pages talk to the server: JSON over /api with the session cookie and the CSRF
// token, errors turned into ApiError carrying the server's zh-CN message, article and field errors.

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `请求失败（${status}）`);
    this.status = status;
    this.code = error.code;
    this.article = error.article;
    this.field = error.field;
    // 422 form errors: [{path, message}], path like "budget/0/amount".
    this.errors = error.errors || [];
    this.issues = error.issues || [];
  }

  // The general message with its article: a headline above field errors shown one by one.
  get summary() {
    return this.article ? `${this.message}（${this.article}）` : this.message;
  }

  // What to tell the user: the field messages of a 422 say what to correct ("退回理由：不能为空");
  // the general message alone ("表单数据不符合要求") would not.
  get display() {
    let text = this.message;
    if (this.errors.length) {
      const shown = this.errors.slice(0, 3).map((e) => e.message).join("；");
      text = this.errors.length > 3 ? `${shown} 等 ${this.errors.length} 处` : shown;
    }
    return this.article ? `${text}（${this.article}）` : text;
  }
}

async function request(method, url, body, { raw = false } = {}) {
  const headers = { Accept: "application/json" };
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (method !== "GET") headers["X-CSRF-Token"] = csrf();
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, { error: { message: "无法连接服务器，请检查网络后重试" } });
  }
  if (response.status === 401 && !url.startsWith("/api/auth/login")) {
    // Listeners run before the page is left: the task page keeps what was typed (drafts.js).
    window.dispatchEvent(new CustomEvent("govflow:session-expired", { detail: { method, url } }));
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    throw new ApiError(401, { error: { message: "登录已过期，请重新登录" } });
  }
  if (!response.ok) {
    let data = null;
    try { data = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, data);
  }
  if (raw) return response;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("application/json") ? response.json() : response.text();
}

export const api = {
  get: (url) => request("GET", url),
  post: (url, body = {}) => request("POST", url, body),
  put: (url, body) => request("PUT", url, body),
  del: (url) => request("DELETE", url),
  upload: (url, formData) => request("POST", url, formData),
  raw: (method, url, body) => request(method, url, body, { raw: true }),
};

export function pageData() {
  const node = document.getElementById("page-data");
  return node ? JSON.parse(node.textContent || "{}") : {};
}

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Builds an element: h("td", {class: "x", onclick: fn}, "text", child).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    // Through CSSOM: the Content-Security-Policy refuses style attributes, not element.style.
    else if (key === "style") el.style.cssText = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Forms marked data-no-submit (filters that apply as their fields change): Enter must not submit
// (reload) the page. Here rather than an inline onsubmit handler, which the Content-Security-Policy refuses.
document.addEventListener("submit", (event) => {
  if (event.target instanceof HTMLFormElement && event.target.hasAttribute("data-no-submit")) event.preventDefault();
});

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

// What to tell the user about any error, ours or the browser's.
export function describe(error) {
  if (error instanceof ApiError) return error.display;
  return (error && error.message) || String(error);
}

// The budget year offices plan for: next year, by Beijing time.
export function nextBudgetYear() {
  return new Date(Date.now() + 8 * 3600 * 1000).getUTCFullYear() + 1;
}

// A message box that is hidden while it has nothing to say.
export function say(box, text) {
  box.textContent = text;
  box.hidden = !text;
}

export function fail(error) {
  toast(describe(error), "error");
}

const pad = (n) => String(n).padStart(2, "0");

// Server times are UTC ISO strings without zone; users read Beijing time.
export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : iso + "Z");
  const bj = new Date(d.getTime() + 8 * 3600 * 1000);
  return `${bj.getUTCFullYear()}-${pad(bj.getUTCMonth() + 1)}-${pad(bj.getUTCDate())} ${pad(bj.getUTCHours())}:${pad(bj.getUTCMinutes())}`;
}

export function fmtDate(iso) {
  return iso ? String(iso).slice(0, 10) : "";
}

export function fmtMoney(value) {
  if (value === null || value === undefined || value === "") return "";
  return `${Number(value).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 })} 万元`;
}

// Process keys as users read them.
export const PROCESS_NAMES = { govflow_lifecycle: "市级政务数字化项目全生命周期" };
export const STATUS_LABELS = { active: "在办", completed: "已办结", ended: "已终止", open: "待办", cancelled: "已取消" };
export const WARNING_LABELS = { yellow: "黄牌", red: "红牌" };

// The browser's own file control speaks the browser's language ("Choose File"); every file input
// on every page gets a Chinese button and file name beside it instead, also those added later.
function enhanceFileInput(input) {
  if (input.dataset.gfPicker) return;
  input.dataset.gfPicker = "1";
  const name = h("span", { class: "file-name muted" }, "未选择文件");
  const button = h("button", { type: "button", class: "file-button", onclick: () => input.click() },
    input.multiple ? "选择文件（可多选）" : "选择文件");
  const show = () => {
    name.textContent = input.files && input.files.length ? [...input.files].map((f) => f.name).join("，") : "未选择文件";
  };
  input.classList.add("file-native");
  input.addEventListener("change", show);
  input.after(button, name);
}

function enhanceFileInputs(root) {
  if (root.matches?.('input[type="file"]')) enhanceFileInput(root);
  root.querySelectorAll?.('input[type="file"]').forEach(enhanceFileInput);
}

if (typeof document !== "undefined") {
  const start = () => {
    enhanceFileInputs(document.body);
    new MutationObserver((changes) => changes.forEach((c) => c.addedNodes.forEach((n) => {
      if (n.nodeType === 1) enhanceFileInputs(n);
    }))).observe(document.body, { childList: true, subtree: true });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
