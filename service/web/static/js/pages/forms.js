// 表单设计: the task forms (JSON Schema) with a JSON editor, a live preview rendered by the same
// renderer the task pages use, 校验 against the server's rules (schema, example, the engine-field
// contract of the process) and 保存 as a new revision.
import { api, ApiError, describe, fail, fmtTime, h, toast } from "../api.js";
import { renderForm } from "../schema-form.js";
import { mountBuilder } from "../form-builder.js";

const $ = (id) => document.getElementById(id);
const SOURCE_LABELS = { file: "文件版本", db: "已在线修改" };
// Revision 0 is the file in forms/; each save adds one.
const revisionLabel = (n) => (n ? `第 ${n} 版` : "初始版");

const state = {
  forms: [],
  taskNames: {}, // task id → task name in the latest process version
  name: null,
  form: null, // GET /api/forms/{name}
  savedText: "",
  schema: null, // last parsed schema (null while the JSON is broken)
  preview: null, // renderForm handle
  data: {},
};

// ---- editor -----------------------------------------------------------------------------------

const textarea = $("schema-text");
const gutter = $("gutter");

function renderGutter(badLine = null) {
  const count = textarea.value.split("\n").length;
  const rows = [];
  for (let i = 1; i <= count; i++) rows.push(h("div", { class: i === badLine ? "bad" : undefined }, String(i)));
  gutter.replaceChildren(...rows);
  gutter.scrollTop = textarea.scrollTop;
}

textarea.addEventListener("scroll", () => { gutter.scrollTop = textarea.scrollTop; });

function replaceSelection(text, selectStart, selectEnd) {
  // execCommand keeps the browser's own undo history; fall back to setRangeText.
  if (!document.execCommand("insertText", false, text)) {
    textarea.setRangeText(text, textarea.selectionStart, textarea.selectionEnd, "end");
    textarea.dispatchEvent(new Event("input"));
  }
  if (selectStart !== undefined) textarea.setSelectionRange(selectStart, selectEnd);
}

textarea.addEventListener("keydown", (event) => {
  const { selectionStart: start, selectionEnd: end, value } = textarea;
  if (event.key === "Tab") {
    event.preventDefault();
    const lineStart = value.lastIndexOf("\n", start - 1) + 1;
    if (start === end && !event.shiftKey) {
      replaceSelection("  ");
      return;
    }
    // Indent or dedent every selected line.
    const block = value.slice(lineStart, end);
    const lines = block.split("\n");
    const changed = event.shiftKey ? lines.map((l) => l.replace(/^ {1,2}/, "")) : lines.map((l) => "  " + l);
    const text = changed.join("\n");
    textarea.setSelectionRange(lineStart, end);
    replaceSelection(text, lineStart, lineStart + text.length);
  } else if (event.key === "Enter" && !event.isComposing) {
    // Keep the indentation of the current line (one more after an opening bracket).
    const lineStart = value.lastIndexOf("\n", start - 1) + 1;
    const indent = /^ */.exec(value.slice(lineStart, start))[0];
    const before = value.slice(0, start).trimEnd();
    const extra = /[[{]$/.test(before) ? "  " : "";
    event.preventDefault();
    replaceSelection("\n" + indent + extra);
  }
});

let timer = null;
textarea.addEventListener("input", () => {
  renderGutter();
  refreshDirty();
  clearTimeout(timer);
  timer = setTimeout(reparse, 300);
});

// ---- JSON parsing with line/column ------------------------------------------------------------

function lineCol(text, position) {
  const before = text.slice(0, position);
  const line = before.split("\n").length;
  return { line, column: position - before.lastIndexOf("\n") };
}

function jsonError(text, error) {
  const msg = String(error.message || error);
  let where = null;
  const lc = /line (\d+) column (\d+)/.exec(msg);
  const pos = /position (\d+)/.exec(msg);
  if (lc) where = { line: Number(lc[1]), column: Number(lc[2]) };
  else if (pos) where = lineCol(text, Number(pos[1]));
  else if (/Unexpected end of JSON input/.test(msg)) where = lineCol(text, text.length);
  let hint = "JSON 格式错误";
  if (/Unexpected end/.test(msg)) hint = "JSON 不完整（缺少右括号或引号？）";
  else if (/Expected ',' or '}'|Expected ',' or ']'/.test(msg)) hint = "缺少逗号或右括号";
  else if (/Expected double-quoted property name/.test(msg)) hint = "属性名须用英文双引号括起（或多了一个逗号）";
  else if (/Unexpected token|Unexpected non-whitespace/.test(msg)) hint = "此处有多余或不合法的字符";
  else if (/Bad control character/.test(msg)) hint = "字符串中有不允许的控制字符（换行请写作 \\n）";
  return { where, hint, detail: msg };
}

function reparse() {
  const text = textarea.value;
  const box = $("json-error");
  let schema;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    const { where, hint, detail } = jsonError(text, error);
    state.schema = null;
    box.hidden = false;
    box.replaceChildren(
      h("strong", {}, where ? `第 ${where.line} 行第 ${where.column} 列：${hint}` : hint),
      h("div", { class: "small muted" }, detail));
    renderGutter(where?.line ?? null);
    $("preview").replaceChildren(h("p", { class: "form-error" }, "JSON 有语法错误，修正后即可预览。"));
    $("load-example").disabled = true;
    return;
  }
  box.hidden = true;
  renderGutter();
  state.schema = schema;
  renderPreview();
}

// ---- preview ----------------------------------------------------------------------------------

function renderPreview() {
  const schema = state.schema;
  if (state.preview) {
    try { state.data = state.preview.getData(); } catch { /* keep the previous data */ }
  }
  $("preview-title").textContent = schema && typeof schema === "object" ? schema.title || "" : "";
  $("preview-desc").textContent = schema && typeof schema === "object" ? schema.description || "" : "";
  const container = $("preview");
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) {
    state.preview = null;
    container.replaceChildren(h("p", { class: "form-error" }, "表单定义应为 JSON 对象。"));
    return;
  }
  try {
    state.preview = renderForm(container, schema, state.data || {}, { readOnly: false });
  } catch (error) {
    state.preview = null;
    container.replaceChildren(h("p", { class: "form-error" }, "无法预览：" + (error.message || error)));
  }
  $("load-example").disabled = !(Array.isArray(schema.examples) && schema.examples.length);
  $("clear-data").disabled = false;
}

$("load-example").addEventListener("click", () => {
  const example = state.schema?.examples?.[0];
  if (!example) return;
  state.preview = null;
  state.data = structuredClone(example);
  renderPreview();
});

$("clear-data").addEventListener("click", () => {
  state.preview = null;
  state.data = {};
  renderPreview();
});

// ---- visual builder (可视化设计) ------------------------------------------------------------------
// The builder edits its own copy of the schema and writes it into the JSON editor after every
// change, so 校验, 保存, the dirty flag and the preview work exactly as for typed JSON.

let builderSchema = null;

function builderChanged() {
  textarea.value = JSON.stringify(builderSchema, null, 2);
  renderGutter();
  refreshDirty();
  reparse();
}

function showBuilder(on) {
  if (on) {
    reparse();
    if (state.schema === null) {
      toast("JSON 有语法错误，修正后才能可视化编辑", "error");
      return;
    }
    builderSchema = structuredClone(state.schema);
    mountBuilder($("form-builder"), builderSchema, builderChanged);
  }
  $("form-builder").hidden = !on;
  $("code-editor").hidden = on;
  $("tab-builder").setAttribute("aria-selected", String(on));
  $("tab-json").setAttribute("aria-selected", String(!on));
}

$("tab-builder").addEventListener("click", () => showBuilder(true));
$("tab-json").addEventListener("click", () => showBuilder(false));

// ---- list -------------------------------------------------------------------------------------

function taskLabel(id) {
  const name = state.taskNames[id];
  return name ? `${name}（${id}）` : id;
}

function renderList() {
  const filter = $("form-filter").value.trim().toLowerCase();
  const list = $("form-list");
  const rows = state.forms.filter((f) => !filter || [f.name, f.title, ...f.tasks, ...f.tasks.map((t) => state.taskNames[t] || "")]
    .some((s) => String(s).toLowerCase().includes(filter)));
  if (!rows.length) {
    list.replaceChildren(h("li", { class: "muted" }, state.forms.length ? "没有匹配的表单" : "没有表单"));
    return;
  }
  list.replaceChildren(...rows.map((f) => {
    const li = h("li", { class: f.name === state.name ? "on" : "", "data-name": f.name, tabindex: "0", role: "button" },
      h("div", { class: "f-title" }, f.title || f.name),
      h("div", { class: "f-meta" }, h("code", {}, f.name),
        h("span", { class: "badge blue" }, revisionLabel(f.revision)),
        h("span", { class: f.source === "db" ? "badge yellow" : "badge" }, SOURCE_LABELS[f.source] || f.source)),
      h("div", { class: "f-meta" }, f.tasks.length ? "使用任务：" + f.tasks.map(taskLabel).join("、") : "当前流程未使用"));
    const open = () => select(f.name);
    li.addEventListener("click", open);
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
    return li;
  }));
}

$("form-filter").addEventListener("input", renderList);

// ---- dirty state ------------------------------------------------------------------------------

const isDirty = () => state.name !== null && textarea.value !== state.savedText;

function refreshDirty() {
  $("dirty-flag").hidden = !isDirty();
}

window.addEventListener("beforeunload", (event) => {
  if (isDirty()) {
    event.preventDefault();
    event.returnValue = "";
  }
});

function confirmDiscard() {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "confirm-dialog" },
      h("h2", {}, "放弃未保存的修改？"),
      h("p", {}, "当前表单有未保存的修改，切换后这些修改将丢失。"),
      h("div", { class: "actions dialog-actions" },
        h("button", { type: "button", onclick: () => dialog.close("cancel") }, "继续编辑"),
        h("button", { type: "button", class: "danger", onclick: () => dialog.close("ok") }, "放弃修改")));
    dialog.addEventListener("close", () => { resolve(dialog.returnValue === "ok"); dialog.remove(); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// ---- select / validate / save -----------------------------------------------------------------

function showMeta() {
  const f = state.form;
  const row = state.forms.find((r) => r.name === f.name);
  $("editor-title").textContent = `${row?.title || f.schema?.title || f.name}`;
  $("form-meta").replaceChildren(
    h("code", {}, f.name), " · ", h("span", { id: "form-revision" }, revisionLabel(f.revision)), " · ",
    SOURCE_LABELS[f.source] || f.source,
    f.saved_by ? ` · ${f.saved_by} 保存于 ${fmtTime(f.saved_at)}` : "");
}

function showIssues(issues, headline) {
  const box = $("form-issues");
  if (!issues) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.hidden = false;
  if (!issues.length) {
    box.replaceChildren(h("p", { class: "ok-line" }, "✓ " + headline));
    return;
  }
  box.replaceChildren(h("div", { class: "form-error" }, h("strong", {}, headline),
    h("ul", { id: "issue-list" }, issues.map((i) => h("li", {}, i.path ? h("code", {}, i.path) : null, i.path ? " " : null, i.message)))));
}

async function select(name) {
  if (name === state.name) return;
  if (isDirty() && !(await confirmDiscard())) return;
  try {
    const form = await api.get(`/api/forms/${encodeURIComponent(name)}`);
    state.name = name;
    state.form = form;
    state.savedText = JSON.stringify(form.schema, null, 2);
    state.preview = null;
    state.data = {};
    textarea.value = state.savedText;
    textarea.disabled = false;
    textarea.scrollTop = 0;
    $("validate").disabled = false;
    $("save").disabled = false;
    history.replaceState(null, "", `/designer/forms?name=${encodeURIComponent(name)}`);
    showMeta();
    showIssues(null);
    renderList();
    refreshDirty();
    reparse();
    $("tab-builder").disabled = false;
    $("tab-json").disabled = false;
    if (!$("form-builder").hidden) showBuilder(true);
  } catch (error) {
    fail(error);
  }
}

function currentSchema() {
  reparse();
  if (state.schema === null) {
    toast("JSON 有语法错误，请先修正", "error");
    return null;
  }
  return state.schema;
}

async function validate() {
  const schema = currentSchema();
  if (schema === null) return;
  $("validate").disabled = true;
  try {
    const result = await api.post(`/api/forms/${encodeURIComponent(state.name)}/validate`, { schema });
    showIssues(result.issues, result.valid ? "校验通过，可以保存。" : `校验未通过：发现 ${result.issues.length} 个问题`);
  } catch (error) {
    showIssues(error.issues?.length ? error.issues : error.errors || [], error.message || String(error));
  } finally {
    $("validate").disabled = false;
  }
}

async function save() {
  const schema = currentSchema();
  if (schema === null) return;
  $("save").disabled = true;
  try {
    const saved = await api.put(`/api/forms/${encodeURIComponent(state.name)}`, { schema });
    state.form = { ...state.form, schema, revision: saved.revision, source: saved.source,
      saved_by: saved.saved_by, saved_at: saved.saved_at };
    state.savedText = textarea.value;
    const row = state.forms.find((r) => r.name === state.name);
    if (row) Object.assign(row, { revision: saved.revision, source: saved.source, title: schema.title || row.title });
    showMeta();
    renderList();
    refreshDirty();
    showIssues([], `已保存为${revisionLabel(saved.revision)}。之后打开的任务按新版本填写。`);
    toast(`表单已保存（${revisionLabel(saved.revision)}）`, "success");
  } catch (error) {
    if (error instanceof ApiError && (error.issues?.length || error.errors?.length)) {
      showIssues(error.issues?.length ? error.issues : error.errors, `${error.message}：`);
    } else {
      showIssues([], "");
      $("form-issues").replaceChildren(h("p", { class: "form-error" }, "保存失败：" + describe(error)));
      fail(error);
    }
  } finally {
    $("save").disabled = false;
  }
}

$("validate").addEventListener("click", validate);
$("save").addEventListener("click", save);

// ---- load -------------------------------------------------------------------------------------

async function taskNames() {
  try {
    const version = await api.get("/api/processes/latest");
    const names = {};
    for (const [file, text] of Object.entries(version.files || {})) {
      if (!file.endsWith(".bpmn")) continue;
      const doc = new DOMParser().parseFromString(text, "application/xml");
      for (const el of doc.getElementsByTagNameNS("*", "userTask")) names[el.getAttribute("id")] = el.getAttribute("name");
    }
    return names;
  } catch {
    return {};
  }
}

async function load() {
  try {
    const [forms, names] = await Promise.all([api.get("/api/forms"), taskNames()]);
    state.forms = forms;
    state.taskNames = names;
    renderList();
    const wanted = new URLSearchParams(location.search).get("name");
    if (wanted && forms.some((f) => f.name === wanted)) await select(wanted);
  } catch (error) {
    $("form-list").replaceChildren(h("li", { class: "form-error" }, "表单列表加载失败：" + describe(error)));
    fail(error);
  }
}

renderGutter();
load();
