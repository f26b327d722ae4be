// Renders a task form from its JSON Schema (draft 2020-12, conventions in forms/README.md) and
// reads it back as typed data. The server validates every submission; this renderer only picks
// controls and puts the server's 422 messages next to the fields they name.
//
//   const form = renderForm(container, schema, data, {readOnly, projectId, workItemId, attachments});
//   form.getData()            → typed object (numbers as numbers, empty optional fields omitted)
//   form.showErrors(errors)   → errors: [{path: "a/0/b", message}] (or an ApiError)
//   form.clearErrors()
//   form.element
import { api, fail, h, toast } from "./api.js";

let seq = 0;
const nextId = () => `sf-${++seq}`;

const UNIT_RE = /（(万元|%|月|个|人|天|年)）$/;

function unitOf(schema) {
  const m = UNIT_RE.exec(schema.title || "");
  if (m) return m[1];
  if (schema["x-unit"]) return schema["x-unit"];
  return null;
}

function labelText(schema, fallback) {
  return (schema.title || fallback || "").replace(UNIT_RE, "");
}

const isEmpty = (v) => v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);

function fmtNumber(value, schema) {
  if (value === undefined || value === null || value === "") return "";
  const cents = schema.multipleOf === 0.01;
  return Number(value).toLocaleString("zh-CN", cents ? { minimumFractionDigits: 2, maximumFractionDigits: 2 } : {});
}

// The wrapper every field gets: label, control, help text; errors are appended to it.
function fieldShell(schema, name, { required, control, forId, inline = false }) {
  const title = labelText(schema, name);
  const label = inline
    ? h("span", { class: "sf-label" }, title, required ? h("span", { class: "req", title: "必填" }, "*") : null)
    : h("label", { for: forId }, title, required ? h("span", { class: "req", title: "必填" }, "*") : null);
  return h("div", { class: "sf-field", dataset: { name } },
    label, control, schema.description ? h("div", { class: "sf-help" }, schema.description) : null);
}

function attachmentLink(id, ctx) {
  if (isEmpty(id)) return h("span", { class: "muted" }, "（未上传）");
  const meta = ctx.attachmentById(id);
  const name = meta ? meta.filename : `附件 ${id}`;
  const link = /^\d+$/.test(String(id)) ? h("a", { href: `/api/attachments/${id}`, target: "_blank", rel: "noopener" }, name)
    : h("span", {}, name);
  return h("span", { class: "sf-file-name" }, link,
    meta ? h("span", { class: "muted" }, ` （${Math.max(1, Math.round(meta.size / 1024))} KB）`) : null);
}

// ---- scalar controls ----------------------------------------------------------------------

function scalarNode(schema, name, value, required, ctx) {
  const id = nextId();
  const type = schema.type;
  const unit = unitOf(schema);

  if (ctx.readOnly) {
    let text;
    if (schema["x-widget"] === "file") text = attachmentLink(value, ctx);
    else if (type === "boolean") text = value === true ? "是" : value === false ? "否" : "";
    else if (type === "number" || type === "integer") text = isEmpty(value) ? "" : `${fmtNumber(value, schema)}${unit ? " " + unit : ""}`;
    else text = value ?? "";
    const shown = isEmpty(text) ? h("span", { class: "muted" }, "—") : text;
    const el = fieldShell(schema, name, { required: false, inline: true,
      control: h("div", { class: `sf-value${schema["x-widget"] === "textarea" ? " long" : ""}` }, shown) });
    el.querySelector(".sf-help")?.remove();
    return { el, get: () => value, setPath: (p) => { el.dataset.path = p; } };
  }

  let control;
  let get;
  let focusEl;

  if (schema["x-widget"] === "file") {
    let current = isEmpty(value) ? "" : String(value);
    const nameBox = h("span", { class: "sf-file-current" });
    const input = h("input", { type: "file", id, class: "sf-file-input" });
    const clear = h("button", { type: "button", class: "sf-file-clear", onclick: () => { current = ""; paint(); } }, "移除");
    const status = h("span", { class: "sf-file-status muted" });
    const paint = () => {
      nameBox.replaceChildren(attachmentLink(current, ctx));
      clear.hidden = !current;
    };
    paint();
    if (ctx.projectId) {
      input.addEventListener("change", async () => {
        const file = input.files && input.files[0];
        if (!file) return;
        const body = new FormData();
        body.append("file", file);
        if (ctx.workItemId) body.append("work_item_id", String(ctx.workItemId));
        status.textContent = "正在上传…";
        input.disabled = true;
        try {
          const row = await api.upload(`/api/projects/${ctx.projectId}/attachments`, body);
          ctx.addAttachment(row);
          current = String(row.id);
          status.textContent = "";
          toast(`已上传：${row.filename}`, "success");
        } catch (e) {
          status.textContent = "";
          fail(e);
        } finally {
          input.disabled = false;
          input.value = "";
          paint();
        }
      });
      control = h("div", { class: "sf-file" }, nameBox, clear, input, status);
    } else {
      control = h("div", { class: "sf-file" }, h("span", { class: "muted" }, "提交后可在项目页面上传附件"));
    }
    focusEl = input;
    get = () => (current === "" ? undefined : current);
  } else if (Array.isArray(schema.enum)) {
    const select = h("select", { id, name },
      h("option", { value: "" }, "请选择"),
      schema.enum.map((v) => h("option", { value: String(v), selected: String(v) === String(value ?? "") }, String(v))));
    control = select;
    focusEl = select;
    get = () => {
      if (select.value === "") return undefined;
      const found = schema.enum.find((v) => String(v) === select.value);
      return found === undefined ? select.value : found;
    };
  } else if (type === "boolean") {
    const group = `${id}-b`;
    const yes = h("input", { type: "radio", name: group, value: "true", id: `${id}-y`, checked: value === true });
    const no = h("input", { type: "radio", name: group, value: "false", id: `${id}-n`, checked: value === false });
    control = h("div", { class: "sf-checks sf-bool", role: "radiogroup" },
      h("label", { for: `${id}-y` }, yes, "是"), h("label", { for: `${id}-n` }, no, "否"));
    focusEl = yes;
    get = () => (yes.checked ? true : no.checked ? false : undefined);
    control.addEventListener("change", () => ctx.changed());
  } else if (type === "number" || type === "integer") {
    const input = h("input", { type: "number", id, name, inputmode: type === "integer" ? "numeric" : "decimal",
      step: type === "integer" ? "1" : schema.multipleOf ? String(schema.multipleOf) : "any",
      min: schema.minimum, max: schema.maximum, value: isEmpty(value) ? undefined : String(value) });
    control = unit ? h("div", { class: "sf-money" }, input, h("span", { class: "unit" }, unit)) : input;
    focusEl = input;
    get = () => {
      const raw = input.value.trim();
      if (raw === "") return input.validity && input.validity.badInput ? "" : undefined;
      const n = Number(raw);
      return Number.isFinite(n) ? n : raw;
    };
  } else if (schema["x-widget"] === "textarea") {
    const area = h("textarea", { id, name, maxlength: schema.maxLength, rows: schema.maxLength > 2000 ? 4 : 3 }, value ?? "");
    const counter = schema.maxLength ? h("div", { class: "sf-counter muted" }) : null;
    const count = () => { if (counter) counter.textContent = `${area.value.length} / ${schema.maxLength}`; };
    area.addEventListener("input", count);
    count();
    control = h("div", { class: "sf-textarea" }, area, counter);
    focusEl = area;
    get = () => (area.value.trim() === "" ? undefined : area.value);
  } else {
    let inputType = "text";
    if (schema.format === "date") inputType = "date";
    else if (schema.format === "email") inputType = "email";
    else if (schema.format === "uri") inputType = "url";
    else if (/电话|手机/.test(schema.title || "")) inputType = "tel";
    const input = h("input", { type: inputType, id, name, maxlength: schema.maxLength,
      placeholder: inputType === "url" ? "https://" : undefined, value: value ?? undefined });
    control = input;
    focusEl = input;
    get = () => (input.value.trim() === "" ? undefined : input.value.trim());
  }

  const el = fieldShell(schema, name, { required, control, forId: id, inline: type === "boolean" });
  el.classList.add(`sf-${schema["x-widget"] || (schema.enum ? "enum" : type)}`);
  return { el, get, focus: () => focusEl && focusEl.focus(), setPath: (p) => { el.dataset.path = p; } };
}

// ---- arrays ------------------------------------------------------------------------------

function checkGroupNode(schema, name, value, required, ctx) {
  const chosen = new Set(Array.isArray(value) ? value.map(String) : []);
  const id = nextId();
  if (ctx.readOnly) {
    const el = fieldShell(schema, name, { required: false, inline: true,
      control: h("div", { class: "sf-value" }, chosen.size ? [...chosen].join("、") : h("span", { class: "muted" }, "—")) });
    el.querySelector(".sf-help")?.remove();
    return { el, get: () => value, setPath: (p) => { el.dataset.path = p; } };
  }
  const boxes = schema.items.enum.map((v, i) => h("input", { type: "checkbox", id: `${id}-${i}`, value: String(v), checked: chosen.has(String(v)) }));
  const control = h("div", { class: "sf-checks" },
    boxes.map((box, i) => h("label", { for: box.id }, box, String(schema.items.enum[i]))));
  const el = fieldShell(schema, name, { required, control, inline: true });
  return {
    el,
    get: () => {
      const out = schema.items.enum.filter((v, i) => boxes[i].checked);
      return out.length || required ? out : undefined;
    },
    focus: () => boxes[0] && boxes[0].focus(),
    setPath: (p) => { el.dataset.path = p; },
  };
}

function fileListNode(schema, name, value, required, ctx) {
  let ids = Array.isArray(value) ? value.map(String) : [];
  const list = h("ul", { class: "sf-file-list" });
  const paint = () => {
    list.replaceChildren(...ids.map((att, i) => h("li", {}, attachmentLink(att, ctx),
      ctx.readOnly ? null : h("button", { type: "button", class: "sf-file-clear",
        onclick: () => { ids = ids.filter((_, j) => j !== i); paint(); } }, "移除"))));
    if (!ids.length) list.append(h("li", { class: "muted" }, "（无）"));
  };
  paint();
  let input = null;
  const status = h("span", { class: "sf-file-status muted" });
  if (!ctx.readOnly && ctx.projectId) {
    input = h("input", { type: "file", multiple: true, id: nextId() });
    input.addEventListener("change", async () => {
      const files = [...(input.files || [])];
      input.disabled = true;
      for (const file of files) {
        const body = new FormData();
        body.append("file", file);
        if (ctx.workItemId) body.append("work_item_id", String(ctx.workItemId));
        status.textContent = `正在上传 ${file.name}…`;
        try {
          const row = await api.upload(`/api/projects/${ctx.projectId}/attachments`, body);
          ctx.addAttachment(row);
          ids.push(String(row.id));
        } catch (e) {
          fail(e);
        }
      }
      status.textContent = "";
      input.disabled = false;
      input.value = "";
      paint();
    });
  }
  const control = h("div", { class: "sf-file" }, list, input, status);
  const el = fieldShell(schema, name, { required: required && !ctx.readOnly, control, forId: input?.id });
  if (ctx.readOnly) el.querySelector(".sf-help")?.remove();
  return {
    el,
    get: () => (ctx.readOnly ? value : ids.length || required ? [...ids] : undefined),
    focus: () => input && input.focus(),
    setPath: (p) => { el.dataset.path = p; },
  };
}

function rowsNode(schema, name, value, required, ctx) {
  const itemSchema = schema.items || {};
  const isObject = itemSchema.type === "object";
  const min = schema.minItems || 0;
  const max = schema.maxItems ?? Infinity;
  const rows = [];
  const box = h("div", { class: "sf-rows" });
  const addBtn = h("button", { type: "button", class: "sf-add", onclick: () => { addRow(undefined); sync(); rows.at(-1)?.node.focus?.(); } }, "＋ 添加一行");
  let path = name;

  function addRow(rowValue) {
    const node = isObject
      ? objectNode(itemSchema, "", rowValue || {}, false, ctx, { row: true })
      : nodeFor(itemSchema, "", rowValue, true, ctx);
    const head = h("div", { class: "sf-row-head" }, h("span", { class: "sf-row-no" }));
    const row = { node, el: h("div", { class: "sf-row" }, head, node.el) };
    if (!ctx.readOnly) {
      row.remove = h("button", { type: "button", class: "sf-row-remove", title: "删除此行",
        onclick: () => { rows.splice(rows.indexOf(row), 1); row.el.remove(); sync(); ctx.changed(); } }, "删除");
      head.append(row.remove);
    }
    rows.push(row);
    box.append(row.el);
  }

  function sync() {
    rows.forEach((row, i) => {
      row.el.querySelector(".sf-row-no").textContent = `第 ${i + 1} 行`;
      row.node.setPath(`${path}/${i}`);
      if (row.remove) row.remove.disabled = rows.length <= min;
    });
    addBtn.disabled = rows.length >= max;
    empty.hidden = rows.length > 0;
  }

  const initial = Array.isArray(value) ? value : [];
  const empty = h("div", { class: "sf-rows-empty muted" }, ctx.readOnly ? "（无）" : "暂无，可点击“添加一行”");
  box.append(empty);
  initial.forEach((v) => addRow(v));
  if (!ctx.readOnly) while (rows.length < min) addRow(undefined);

  const limits = [];
  if (min) limits.push(`至少 ${min} 行`);
  if (max !== Infinity) limits.push(`最多 ${max} 行`);
  const control = h("div", {}, box, ctx.readOnly ? null : h("div", { class: "sf-rows-actions" }, addBtn,
    limits.length ? h("span", { class: "muted" }, limits.join("，")) : null));
  const el = h("fieldset", { class: "sf-group sf-array", dataset: { name } },
    h("legend", {}, labelText(schema, name), required && !ctx.readOnly ? h("span", { class: "req", title: "必填" }, "*") : null),
    schema.description && !ctx.readOnly ? h("div", { class: "sf-help" }, schema.description) : null,
    control);
  sync();
  return {
    el,
    get: () => {
      const out = rows.map((r) => {
        const v = r.node.get();
        return v === undefined ? (isObject ? {} : "") : v;
      });
      return out.length || required ? out : undefined;
    },
    focus: () => (rows[0] ? rows[0].node.focus?.() : addBtn.focus()),
    setPath: (p) => { path = p; el.dataset.path = p; sync(); },
  };
}

// ---- objects -----------------------------------------------------------------------------

function conditionalRequired(schema) {
  // Top-level if/then (and allOf of them) with `const` conditions: which fields become required.
  const rules = [];
  const add = (s) => {
    if (!s || !s.if || !s.then || !Array.isArray(s.then.required)) return;
    const conds = Object.entries(s.if.properties || {}).filter(([, c]) => "const" in c).map(([k, c]) => [k, c.const]);
    if (conds.length) rules.push({ conds, required: s.then.required });
  };
  add(schema);
  (schema.allOf || []).forEach(add);
  return rules;
}

// Property order is the author's order, as long as the JSON kept it. A server that sorts keys
// (Flask's default) loses it; then the `required` list (kept in author order) leads, the other
// fields follow and 办理意见 comes last.
function orderedProperties(schema) {
  const entries = Object.entries(schema.properties || {});
  if (Array.isArray(schema["x-order"])) {
    const rank = new Map(schema["x-order"].map((k, i) => [k, i]));
    return entries.sort(([a], [b]) => (rank.get(a) ?? 1e9) - (rank.get(b) ?? 1e9));
  }
  const keys = entries.map(([k]) => k);
  const sorted = keys.length > 1 && keys.every((k, i) => i === 0 || keys[i - 1] < k);
  if (!sorted) return entries;
  const req = schema.required || [];
  const rank = (k) => (k === "opinion" ? 2e9 : req.includes(k) ? req.indexOf(k) : 1e9);
  return entries.map((e, i) => [e, i]).sort(([[a], i], [[b], j]) => rank(a) - rank(b) || i - j).map(([e]) => e);
}

function objectNode(schema, name, value, required, ctx, { row = false, root = false } = {}) {
  const props = schema.properties || {};
  const req = new Set(schema.required || []);
  const children = {};
  const body = h("div", { class: row ? "sf-row-fields" : "sf-object-fields" });
  const data = value && typeof value === "object" ? value : {};
  for (const [key, sub] of orderedProperties(schema)) {
    const childValue = key in data ? data[key] : (ctx.readOnly ? undefined : sub.default);
    const child = nodeFor(sub, key, childValue, req.has(key), ctx);
    children[key] = child;
    body.append(child.el);
  }
  // Fields the schema does not know are kept as they are (never silently dropped).
  const extra = Object.fromEntries(Object.entries(data).filter(([k]) => !(k in props)));

  // `x-show-if` {field: value | [values]} (the form builder's 显示条件): the field is shown only
  // while the other field has that value, and a hidden field's value is not submitted.
  const conditional = Object.entries(props).filter(([, sub]) => sub && sub["x-show-if"] && typeof sub["x-show-if"] === "object");
  const applyShown = () => {
    if (!conditional.length || ctx.readOnly) return;
    const current = {};
    for (const [k, c] of Object.entries(children)) current[k] = c.get();
    for (const [k, sub] of conditional) {
      const on = Object.entries(sub["x-show-if"]).every(([f, v]) => (Array.isArray(v) ? v.includes(current[f]) : current[f] === v));
      if (children[k]) children[k].el.hidden = !on;
    }
  };
  if (conditional.length && !ctx.readOnly) {
    ctx.listeners.push(applyShown);
    body.addEventListener("change", applyShown);
    body.addEventListener("input", applyShown);
    applyShown();
  }

  const rules = conditionalRequired(schema);
  const markConditional = () => {
    if (!rules.length || ctx.readOnly) return;
    const current = {};
    for (const [k, c] of Object.entries(children)) current[k] = c.get();
    for (const rule of rules) {
      const on = rule.conds.every(([k, v]) => current[k] === v);
      for (const k of rule.required) {
        const el = children[k]?.el;
        if (!el || req.has(k)) continue;
        const label = el.querySelector(":scope > label, :scope > .sf-label, :scope > legend");
        let star = label?.querySelector(".req.cond");
        if (on && label && !star) label.append(h("span", { class: "req cond", title: "必填" }, "*"));
        if (!on && star) star.remove();
      }
    }
  };
  if (rules.length) {
    ctx.listeners.push(markConditional);
    body.addEventListener("change", markConditional);
  }

  let el;
  if (root || row) el = h("div", { class: root ? "sf-root" : "sf-row-body" }, body);
  else {
    el = h("fieldset", { class: "sf-group", dataset: { name } },
      h("legend", {}, labelText(schema, name), required && !ctx.readOnly ? h("span", { class: "req" }, "*") : null),
      schema.description && !ctx.readOnly ? h("div", { class: "sf-help" }, schema.description) : null, body);
  }
  if (rules.length) setTimeout(markConditional, 0);
  return {
    el,
    get: () => {
      if (ctx.readOnly) return value;
      const out = { ...extra };
      for (const [k, c] of Object.entries(children)) {
        if (c.el.hidden) continue;
        const v = c.get();
        if (v !== undefined) out[k] = v;
      }
      return Object.keys(out).length || required || root ? out : undefined;
    },
    focus: () => Object.values(children)[0]?.focus?.(),
    setPath: (p) => {
      if (!root) el.dataset.path = p;
      for (const [k, c] of Object.entries(children)) c.setPath(p ? `${p}/${k}` : k);
    },
  };
}

function nodeFor(schema, name, value, required, ctx) {
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  const s = type === schema.type ? schema : { ...schema, type };
  if (type === "object") return objectNode(s, name, value, required, ctx);
  if (type === "array") {
    const items = s.items || {};
    if (Array.isArray(items.enum)) return checkGroupNode(s, name, value, required, ctx);
    if (items["x-widget"] === "file") return fileListNode(s, name, value, required, ctx);
    return rowsNode(s, name, value, required, ctx);
  }
  return scalarNode(s, name, value, required, ctx);
}

// ---- public ------------------------------------------------------------------------------

export function renderForm(container, schema, data = {}, options = {}) {
  const attachments = new Map((options.attachments || []).map((a) => [String(a.id), a]));
  const ctx = {
    readOnly: Boolean(options.readOnly),
    projectId: options.projectId || null,
    workItemId: options.workItemId || null,
    listeners: [],
    attachmentById: (id) => attachments.get(String(id)),
    addAttachment: (row) => { attachments.set(String(row.id), row); options.onUpload?.(row); },
    changed: () => ctx.listeners.forEach((fn) => fn()),
  };
  const summary = h("div", { class: "form-error sf-summary", role: "alert", hidden: true });
  const root = objectNode(schema || { type: "object", properties: {} }, "", data || {}, true, ctx, { root: true });
  root.setPath("");
  const element = h("div", { class: `sf-form${ctx.readOnly ? " sf-readonly" : ""}` }, summary, root.el);
  container.replaceChildren(element);

  function clearErrors() {
    summary.hidden = true;
    summary.replaceChildren();
    element.querySelectorAll(".sf-error").forEach((n) => n.remove());
    element.querySelectorAll(".has-error").forEach((n) => n.classList.remove("has-error"));
  }

  function fieldFor(path) {
    const parts = String(path || "").split("/").filter(Boolean);
    while (parts.length) {
      const found = element.querySelector(`[data-path="${CSS.escape(parts.join("/"))}"]`);
      if (found) return found;
      parts.pop();
    }
    return null;
  }

  function showErrors(errors, headline) {
    clearErrors();
    let list = errors;
    if (errors && !Array.isArray(errors)) {
      // An ApiError: its field errors, or its one message on its field.
      headline = headline || errors.summary;
      list = errors.errors && errors.errors.length ? errors.errors
        : errors.field ? [{ path: errors.field, message: errors.summary }] : [];
    }
    list = list || [];
    const unmatched = [];
    let first = null;
    for (const err of list) {
      const field = fieldFor(err.path);
      if (!field) { unmatched.push(err.message); continue; }
      field.classList.add("has-error");
      const msg = h("div", { class: "sf-error", role: "alert" }, err.message);
      // Right under the control (before the help text), inside the field it names.
      const help = field.querySelector(":scope > .sf-help");
      if (field.tagName === "FIELDSET") field.querySelector(":scope > legend").after(msg);
      else if (help) help.before(msg);
      else field.append(msg);
      first = first || field;
    }
    const lines = [];
    if (headline && !(list.length === 1 && unmatched.length === 0 && headline === list[0].message)) lines.push(headline);
    if (list.length - unmatched.length > 0) lines.push(`共有 ${list.length - unmatched.length} 处需要修改，已在下方标红。`);
    if (lines.length || unmatched.length) {
      summary.replaceChildren(...lines.map((l) => h("div", { class: "sf-summary-head" }, l)));
      if (unmatched.length) summary.append(h("ul", {}, unmatched.map((m) => h("li", {}, m))));
      summary.hidden = false;
    }
    const target = first || (summary.hidden ? null : summary);
    if (target) {
      target.scrollIntoView({ block: "center" });
      const input = first && first.querySelector("input:not([type=hidden]), select, textarea");
      if (input) input.focus({ preventScroll: true });
    }
  }

  return {
    element,
    getData: () => root.get(),
    showErrors,
    clearErrors,
  };
}
