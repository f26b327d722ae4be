// 申报项目: the declaration form (forms/declaration.json from /api/forms/declaration); the server
// checks the form and the rules of the measures (第六条 window, 第二十七条 整改) and answers 422.
import { api, ApiError, describe, fail, h, toast } from "../api.js";
import { renderForm } from "../schema-form.js";
import { nextStepsText } from "../worklists.js";
import { flash } from "./dept-common.js";

const box = document.getElementById("declare-form");
const button = document.getElementById("declare-submit");
let form;

async function init() {
  try {
    const { schema } = await api.get("/api/forms/declaration");
    form = renderForm(box, schema, {});
    button.disabled = false;
  } catch (e) {
    box.replaceChildren(h("p", { class: "form-error" }, `申报表加载失败：${describe(e)}`));
  }
}

button.addEventListener("click", async () => {
  form.clearErrors();
  button.disabled = true;
  button.textContent = "正在提交…";
  try {
    const done = await api.post("/api/projects", { data: form.getData() });
    flash(`申报成功，项目编号 ${done.code}${nextStepsText(done.next)}`);
    location.href = `/projects/${done.project_id}`;
  } catch (e) {
    button.disabled = false;
    button.textContent = "提交申报";
    if (e instanceof ApiError && e.status === 422) {
      // Field errors go under their fields; a rule of the measures (with its article) leads the form.
      const list = e.errors.length ? e.errors
        : [{ path: "", message: e.summary }, ...(e.field ? [{ path: e.field, message: e.message }] : [])];
      form.showErrors(list, e.errors.length ? e.summary : undefined);
      toast(e.display, "error");
    } else {
      fail(e);
    }
  }
});

init();
