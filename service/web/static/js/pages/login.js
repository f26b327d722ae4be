import { api, ApiError } from "../api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

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
    location.href = form.dataset.next || "/home";
  } catch (e) {
    error.textContent = e instanceof ApiError ? e.display : String(e);
    error.hidden = false;
  }
});
