// 可视化表单设计: add, order and configure the fields of a task form without writing JSON.
// The builder edits the JSON Schema object itself, key by key: a field's editor writes back only
// what the designer changed, so every other keyword (maxLength, pattern, x-prefill, if/then …)
// survives untouched and opening and confirming a field changes nothing (tests/web).
import { h } from "./api.js";

const UNIT_RE = /（(万元|%|月|个|人|天|年)）$/;

export const KINDS = {
  text: "单行文本", textarea: "多行文本", number: "数字", integer: "整数", date: "日期", select: "单选",
  multiselect: "多选", boolean: "是/否", file: "附件", files: "多个附件", table: "表格（多行）",
  group: "分组", other: "其他（请在 JSON 中编辑）",
};
const NEW_KINDS = ["text", "textarea", "number", "integer", "date", "select", "multiselect", "boolean", "file",
  "files", "table"];

const typeOf = (s) => (Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type);

export function kindOf(s) {
  const type = typeOf(s || {});
  if (type === "array") {
    const items = s.items || {};
    if (items["x-widget"] === "file") return "files";
    if (typeOf(items) === "object") return "table";
    if (Array.isArray(items.enum)) return "multiselect";
    return "other";
  }
  if (type === "string") {
    if (s["x-widget"] === "file") return "file";
    if (s["x-widget"] === "textarea") return "textarea";
    if (Array.isArray(s.enum)) return "select";
    if (s.format === "date") return "date";
    return "text";
  }
  if (type === "number") return "number";
  if (type === "integer") return "integer";
  if (type === "boolean") return "boolean";
  if (type === "object") return "group";
  return "other";
}

function defaultsFor(kind) {
  switch (kind) {
    case "text": return { type: "string", minLength: 1, maxLength: 200 };
    case "textarea": return { type: "string", minLength: 1, maxLength: 2000, "x-widget": "textarea" };
    case "number": return { type: "number", minimum: 0, multipleOf: 0.01 };
    case "integer": return { type: "integer", minimum: 0 };
    case "date": return { type: "string", format: "date" };
    case "select": return { type: "string", enum: ["选项一", "选项二"] };
    case "multiselect": return { type: "array", items: { type: "string", enum: ["选项一", "选项二"] }, uniqueItems: true };
    case "boolean": return { type: "boolean" };
    case "file": return { type: "string", "x-widget": "file" };
    case "files": return { type: "array", items: { type: "string", "x-widget": "file" } };
    case "table": return { type: "array", items: { type: "object", additionalProperties: false, required: [], properties: {} } };
    default: return { type: "string" };
  }
}

// Keys that describe the field rather than its type: kept when the type changes.
const KEEP_ON_KIND_CHANGE = ["title", "description", "x-show-if", "x-prefill", "x-unit"];

function splitTitle(s) {
  const title = s.title || "";
  const m = UNIT_RE.exec(title);
  return m ? { label: title.slice(0, m.index), unit: m[1], inTitle: true } : { label: title, unit: s["x-unit"] || "", inTitle: false };
}

function options(s) {
  const list = kindOf(s) === "multiselect" ? (s.items || {}).enum : s.enum;
  return (list || []).map(String).join("\n");
}

function setOptions(s, text) {
  const values = text.split("\n").map((v) => v.trim()).filter(Boolean);
  if (kindOf(s) === "multiselect") s.items = { ...(s.items || {}), enum: values };
  else s.enum = values;
}

// ---- one field's editor ------------------------------------------------------------------------

function conditionOf(s) {
  const cond = s["x-show-if"];
  if (!cond || typeof cond !== "object") return null;
  const [field, value] = Object.entries(cond)[0] || [];
  return field === undefined ? null : { field, value };
}

function parseConditionValue(raw, target) {
  if (!target) return raw;
  const kind = kindOf(target);
  if (kind === "boolean") return ["true", "是", "1", "yes"].includes(raw.trim().toLowerCase());
  if (kind === "number" || kind === "integer") return Number(raw);
  return raw;
}

// A field shown only under a condition cannot be required outright (the server would demand it
// while hidden): "必填" then means "required while shown", an if/then rule in allOf marked by its
// $comment so the builder finds it again.
const ruleMark = (key) => `x-show-if:${key}`;
const ruleIndex = (parent, key) => (parent.allOf || []).findIndex((r) => r && r.$comment === ruleMark(key));

function setRequired(parent, key, cond, on) {
  if (parent.required) parent.required = parent.required.filter((k) => k !== key);
  const i = ruleIndex(parent, key);
  if (i >= 0) {
    parent.allOf.splice(i, 1);
    if (!parent.allOf.length) delete parent.allOf;
  }
  if (!on) return;
  if (!cond) {
    (parent.required || (parent.required = [])).push(key);
    return;
  }
  (parent.allOf || (parent.allOf = [])).push({ $comment: ruleMark(key),
    if: { properties: { [cond.field]: { const: cond.value } }, required: [cond.field] }, then: { required: [key] } });
}

function fieldEditor(parent, key, { onDone, onCancel, onNested }) {
  const s = parent.properties[key];
  const kind = kindOf(s);
  const { label, unit, inTitle } = splitTitle(s);
  const required = (parent.required || []).includes(key) || ruleIndex(parent, key) >= 0;
  const cond = conditionOf(s);
  const siblings = Object.keys(parent.properties).filter((k) => k !== key);

  const inputs = {
    label: h("input", { type: "text", value: label, name: "label", "aria-label": "标题" }),
    unit: h("input", { type: "text", value: unit, name: "unit", "aria-label": "单位", placeholder: "如 万元" }),
    kind: h("select", { name: "kind", "aria-label": "类型" },
      Object.entries(KINDS).filter(([k]) => NEW_KINDS.includes(k) || k === kind)
        .map(([k, text]) => h("option", { value: k, selected: k === kind }, text))),
    required: h("input", { type: "checkbox", name: "required", checked: required }),
    help: h("textarea", { name: "help", rows: 2, "aria-label": "帮助文字" }, s.description || ""),
    options: h("textarea", { name: "options", rows: 4, "aria-label": "选项（每行一个）" }, options(s)),
    condField: h("select", { name: "cond-field", "aria-label": "显示条件字段" },
      h("option", { value: "" }, "始终显示"),
      siblings.map((k) => h("option", { value: k, selected: cond?.field === k }, `${parent.properties[k].title || k}`))),
    condValue: h("input", { type: "text", name: "cond-value", "aria-label": "显示条件取值",
      value: cond ? String(cond.value) : "", placeholder: "取值，如 是、true" }),
  };
  const unitRow = h("label", { class: "fb-unit" }, "单位", inputs.unit);
  const optionsRow = h("label", { class: "fb-options" }, "选项（每行一个）", inputs.options);
  const columns = h("div", { class: "fb-columns" });
  const showFor = () => {
    const k = inputs.kind.value;
    unitRow.hidden = !(k === "number" || k === "integer");
    optionsRow.hidden = !(k === "select" || k === "multiselect");
    columns.hidden = k !== "table" || kind !== "table";
  };
  inputs.kind.addEventListener("change", showFor);
  if (kind === "table") {
    columns.append(h("h4", {}, "表格的列"));
    // Columns change the schema at once (like the form's own fields): the JSON follows each edit.
    fieldList(columns, s.items, { onChange: onNested });
  }
  showFor();

  const apply = () => {
    const newKind = inputs.kind.value;
    if (newKind !== kind) {
      const kept = Object.fromEntries(KEEP_ON_KIND_CHANGE.filter((k) => k in s).map((k) => [k, s[k]]));
      for (const k of Object.keys(s)) delete s[k];
      Object.assign(s, kept, defaultsFor(newKind), kept);
    }
    // Title and unit: rewritten only when the designer changed them.
    const newLabel = inputs.label.value.trim();
    const newUnit = inputs.unit.value.trim();
    if (newLabel !== label || newUnit !== unit) {
      if (inTitle || (!s["x-unit"] && newUnit && UNIT_RE.test(`（${newUnit}）`))) {
        s.title = newUnit ? `${newLabel}（${newUnit}）` : newLabel;
        delete s["x-unit"];
      } else {
        s.title = newLabel;
        if (newUnit) s["x-unit"] = newUnit; else delete s["x-unit"];
      }
    }
    if (inputs.help.value !== (s.description || "")) {
      if (inputs.help.value.trim()) s.description = inputs.help.value; else delete s.description;
    }
    if ((newKind === "select" || newKind === "multiselect") && inputs.options.value !== options(s)) {
      setOptions(s, inputs.options.value);
    }
    const newCond = inputs.condField.value;
    const oldText = cond ? String(cond.value) : "";
    const condChanged = newCond !== (cond?.field || "") || (newCond && inputs.condValue.value !== oldText);
    if (condChanged) {
      if (newCond) s["x-show-if"] = { [newCond]: parseConditionValue(inputs.condValue.value, parent.properties[newCond]) };
      else delete s["x-show-if"];
    }
    if (condChanged || inputs.required.checked !== required) {
      setRequired(parent, key, conditionOf(s), inputs.required.checked);
    }
    onDone();
  };

  return h("div", { class: "fb-editor", dataset: { field: key } },
    h("div", { class: "fb-grid" },
      h("label", {}, "字段标识", h("code", {}, key)),
      h("label", {}, "标题", inputs.label),
      h("label", {}, "类型", inputs.kind),
      unitRow,
      h("label", { class: "fb-check" }, inputs.required, "必填"),
      h("label", { class: "fb-help" }, "帮助文字", inputs.help),
      optionsRow,
      h("div", { class: "fb-cond" }, h("span", {}, "显示条件：当"), inputs.condField, h("span", {}, "为"), inputs.condValue,
        h("span", {}, "时显示"))),
    columns,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "primary", onclick: apply }, "确定"),
      h("button", { type: "button", onclick: onCancel }, "取消")));
}

// ---- the list of fields of an object (the form, or a table's row) ------------------------------

function move(parent, key, delta) {
  const keys = Object.keys(parent.properties);
  const i = keys.indexOf(key);
  const j = i + delta;
  if (j < 0 || j >= keys.length) return false;
  [keys[i], keys[j]] = [keys[j], keys[i]];
  const props = parent.properties;
  parent.properties = Object.fromEntries(keys.map((k) => [k, props[k]]));
  return true;
}

const KEY_RE = /^[a-z][a-z0-9_]{0,63}$/;

export function fieldList(container, parent, { onChange }) {
  parent.properties = parent.properties || {};
  let editing = null;
  const list = h("ol", { class: "fb-fields" });
  const addKind = h("select", { "aria-label": "新字段类型" }, NEW_KINDS.map((k) => h("option", { value: k }, KINDS[k])));
  const addKey = h("input", { type: "text", placeholder: "字段标识，如 contact_name", "aria-label": "新字段标识" });
  const addTitle = h("input", { type: "text", placeholder: "标题，如 联系人", "aria-label": "新字段标题" });
  const addError = h("span", { class: "form-error", role: "alert", hidden: true });
  const refuse = (text) => { addError.textContent = text; addError.hidden = !text; };

  const changed = () => { render(); onChange(); };
  function render() {
    const req = new Set(parent.required || []);
    list.replaceChildren(...Object.entries(parent.properties).map(([key, s]) => {
      if (editing === key) {
        return h("li", { class: "fb-field editing", dataset: { field: key } },
          fieldEditor(parent, key, { onDone: () => { editing = null; changed(); }, onCancel: () => { editing = null; render(); },
            onNested: onChange }));
      }
      const kind = kindOf(s);
      const cond = conditionOf(s);
      return h("li", { class: "fb-field", dataset: { field: key } },
        h("div", { class: "fb-summary" },
          h("strong", {}, s.title || key), " ", h("code", { class: "small" }, key), " ",
          h("span", { class: "badge" }, KINDS[kind]),
          req.has(key) || ruleIndex(parent, key) >= 0 ? h("span", { class: "badge red" }, req.has(key) ? "必填" : "显示时必填")
            : null,
          cond ? h("span", { class: "badge blue" }, `条件显示：${(parent.properties[cond.field] || {}).title || cond.field} 为 ${
            cond.value === true ? "是" : cond.value === false ? "否" : cond.value}`) : null,
          kind === "table" ? h("span", { class: "muted small" }, ` ${Object.keys((s.items || {}).properties || {}).length} 列`) : null),
        h("div", { class: "fb-buttons" },
          h("button", { type: "button", title: "上移", "aria-label": `上移 ${key}`, onclick: () => move(parent, key, -1) && changed() }, "↑"),
          h("button", { type: "button", title: "下移", "aria-label": `下移 ${key}`, onclick: () => move(parent, key, 1) && changed() }, "↓"),
          kind === "other" || kind === "group" ? null
            : h("button", { type: "button", class: "fb-edit", onclick: () => { editing = key; render(); } }, "编辑"),
          h("button", { type: "button", class: "danger", "aria-label": `删除 ${key}`, onclick: () => {
            delete parent.properties[key];
            // Its "required while shown" rule goes with it, and no field stays hidden behind it.
            setRequired(parent, key, null, false);
            for (const other of Object.values(parent.properties)) {
              if (other && other["x-show-if"] && key in other["x-show-if"]) delete other["x-show-if"];
            }
            changed();
          } }, "删除")));
    }));
  }
  const add = () => {
    const key = addKey.value.trim();
    refuse("");
    if (!KEY_RE.test(key)) {
      refuse("字段标识须以小写字母开头，只含小写字母、数字和下划线");
      return;
    }
    if (key in parent.properties) {
      refuse(`已有字段 ${key}`);
      return;
    }
    parent.properties[key] = { title: addTitle.value.trim() || key, ...defaultsFor(addKind.value) };
    addKey.value = "";
    addTitle.value = "";
    editing = key;
    changed();
  };
  render();
  container.append(list, h("div", { class: "fb-add" }, addKind, addKey, addTitle,
    h("button", { type: "button", class: "fb-add-button", onclick: add }, "添加字段"), addError));
}

// The whole form: its title and description, then the fields.
export function mountBuilder(container, schema, onChange) {
  container.replaceChildren();
  if (!schema || typeof schema !== "object" || typeOf(schema) !== "object") {
    container.append(h("p", { class: "form-error" }, "表单根节点须为 object，才能可视化编辑；请在 JSON 中修正。"));
    return;
  }
  const title = h("input", { type: "text", value: schema.title || "", "aria-label": "表单标题" });
  const description = h("textarea", { rows: 2, "aria-label": "表单说明" }, schema.description || "");
  title.addEventListener("change", () => { schema.title = title.value; onChange(); });
  description.addEventListener("change", () => { schema.description = description.value; onChange(); });
  container.append(h("div", { class: "fb-grid fb-form" }, h("label", {}, "表单标题", title),
    h("label", { class: "fb-help" }, "表单说明（引用的条款）", description)));
  fieldList(container, schema, { onChange });
}
