import { api, ApiError } from "../api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

// Where to go after sign-in: only a path on this site. The server sends only such a path
// (pages.local_target); this is checked again as the browser reads URLs, tab/CR/LF dropped and
// "\\" read as "/", so "/\t/evil.example" or "/\\evil.example" can never leave the site.
export function localTarget(raw) {
  const target = String(raw || "").replace(/[\t\n\r]/g, "").replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "");
  if (!target.startsWith("/") || target.startsWith("//") || target.includes("\\")) return "/home";
  if (/[\u0000-\u001f\u007f]/.test(target)) return "/home";
  const url = new URL(target, location.origin);
  return url.origin === location.origin ? url.pathname + url.search + url.hash : "/home";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const data = Object.fromEntries(new FormData(form));
  if (!data.username || !data.password) {
    error.textContent = "请输入用户名和密码";
    error.hidden = false;
    return;
  }
  try {
    await api.post("/api/auth/login", { username: data.username, password: data.password });
    location.href = localTarget(form.dataset.next);
  } catch (e) {
    error.textContent = e instanceof ApiError ? e.display : String(e);
    error.hidden = false;
  }
});
