// 流程建模: the deployed lifecycle opened in the bpmn-js Modeler (zh-CN), a properties panel for
// names, conditions and the Spiff extension properties of user tasks, 校验 against the server's
// deploy-time rules with the issues marked on the diagram, and 部署新版本 of the whole bundle.
import { api, describe, fail, fmtTime, h } from "../api.js";
import { bundleActions, busy } from "../bundle-actions.js";
import zhTranslate from "../bpmn-zh.js";
import { approvalModeField, registerApprovalMode } from "../approval-mode.js";

const SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core";

// Spiff extension properties of a user task, in the order designers read them.
const SPIFF_FIELDS = [
  ["form", "表单", "forms/ 中的表单名，如 declaration"],
  ["stage", "阶段", "办理人看到的生命周期阶段"],
  ["sla_days", "办理时限（工作日）", "从任务产生起计算的工作日数"],
  ["deadline", "法定期限规则", "如 working_days_after:contract_date:10"],
  ["outputs", "进入流程的字段", "逗号分隔；条件和决策表读取这些字段"],
  ["send_back_to", "可退回至", "逗号分隔的前序任务 ID"],
];

const TYPE_LABELS = {
  userTask: "用户任务", scriptTask: "脚本任务", businessRuleTask: "业务规则任务", serviceTask: "服务任务",
  task: "任务", manualTask: "手工任务", sendTask: "发送任务", receiveTask: "接收任务", callActivity: "调用活动",
  subProcess: "子流程", startEvent: "开始事件", endEvent: "结束事件", intermediateCatchEvent: "中间捕获事件",
  intermediateThrowEvent: "中间抛出事件", boundaryEvent: "边界事件", exclusiveGateway: "排他网关",
  parallelGateway: "并行网关", inclusiveGateway: "包容网关", eventBasedGateway: "事件网关",
  complexGateway: "复杂网关", sequenceFlow: "顺序流", messageFlow: "消息流", lane: "泳道",
  participant: "池/参与者", process: "流程", collaboration: "协作", textAnnotation: "文字注释",
  association: "关联", group: "分组", dataObjectReference: "数据对象", dataStoreReference: "数据存储",
  definitions: "流程文件", conditionExpression: "条件表达式", script: "脚本", timerEventDefinition: "定时器",
  messageEventDefinition: "消息定义", decision: "决策", decisionTable: "决策表", inputEntry: "输入条目",
  outputEntry: "输出条目", rule: "规则", property: "扩展属性", multiInstanceLoopCharacteristics: "多实例",
};

export function typeLabel(type) {
  if (!type) return "";
  const local = String(type).replace(/^[a-z]+:/, "");
  const key = local.charAt(0).toLowerCase() + local.slice(1);
  return TYPE_LABELS[key] || local;
}

const $ = (id) => document.getElementById(id);

const state = {
  version: null, // the version the diagram was opened from (or last deployed)
  bpmnName: null,
  original: {}, // file name → text as deployed
  savedIdx: -1, // command stack index of the deployed state
  issues: [],
  marked: [],
  forms: [],
};

const modeler = new window.BpmnJS({ container: "#canvas", additionalModules: [zhTranslate] });
const canvas = modeler.get("canvas");
const commandStack = modeler.get("commandStack");
const elementRegistry = modeler.get("elementRegistry");
const modeling = modeler.get("modeling");
const selection = modeler.get("selection");
const moddle = modeler.get("moddle");
const bpmnFactory = modeler.get("bpmnFactory");
const eventBus = modeler.get("eventBus");

// ---- Spiff extension properties (spiffworkflow:properties/property under extensionElements) ----
// bpmn-js has no descriptor for the spiffworkflow namespace, so those elements are moddle
// "generic" elements: attributes are plain properties (name, value), children sit in $children.
// Edits go through this command so that 撤销/重做 and the unsaved-changes flag cover them.

function spiffProperties(bo) {
  const values = bo.extensionElements?.values || [];
  const box = values.find((v) => v.$type === "spiffworkflow:properties");
  const props = {};
  for (const child of box?.$children || []) {
    if (child.$type === "spiffworkflow:property" && child.name) props[child.name] = child.value ?? "";
  }
  return props;
}

class UpdateSpiffProperty {
  execute(context) {
    const { element, name, value } = context;
    const bo = element.businessObject;
    const undo = (context.undo = []);
    if (!bo.extensionElements) {
      const ext = moddle.create("bpmn:ExtensionElements", { values: [] });
      ext.$parent = bo;
      bo.extensionElements = ext;
      undo.push(() => { delete bo.extensionElements; });
    }
    const ext = bo.extensionElements;
    if (!ext.values) ext.values = [];
    let box = ext.values.find((v) => v.$type === "spiffworkflow:properties");
    if (!box) {
      box = moddle.createAny("spiffworkflow:properties", SPIFF_NS, {});
      box.$parent = ext;
      ext.values.push(box);
      undo.push(() => { ext.values.splice(ext.values.indexOf(box), 1); });
    }
    if (!box.$children) box.$children = [];
    const children = box.$children;
    const index = children.findIndex((c) => c.$type === "spiffworkflow:property" && c.name === name);
    if (index >= 0 && value === "") {
      const [removed] = children.splice(index, 1);
      undo.push(() => { children.splice(index, 0, removed); });
    } else if (index >= 0) {
      const prop = children[index];
      const old = prop.value;
      prop.value = value;
      undo.push(() => { prop.value = old; });
    } else if (value !== "") {
      const prop = moddle.createAny("spiffworkflow:property", SPIFF_NS, { name, value });
      prop.$parent = box;
      children.push(prop);
      undo.push(() => { children.splice(children.indexOf(prop), 1); });
    }
    return [element];
  }

  revert(context) {
    for (const step of [...context.undo].reverse()) step();
    return [context.element];
  }
}
commandStack.registerHandler("govflow.spiffProperty.update", UpdateSpiffProperty);
registerApprovalMode({ commandStack, moddle, propertyHandler: UpdateSpiffProperty });

// ---- dirty state ------------------------------------------------------------------------------

const stackIdx = () => commandStack._stackIdx;
const isDirty = () => stackIdx() !== state.savedIdx;

function refreshButtons() {
  $("undo").disabled = !commandStack.canUndo();
  $("redo").disabled = !commandStack.canRedo();
  $("dirty-flag").hidden = !isDirty();
}

window.addEventListener("beforeunload", (event) => {
  if (state.bpmnName && isDirty()) {
    event.preventDefault();
    event.returnValue = "";
  }
});


// ---- properties panel -------------------------------------------------------------------------

function selected() {
  const items = selection.get();
  return items.length === 1 ? items[0] : null;
}

function field(label, input, hint) {
  return h("label", { class: "prop-field" }, h("span", { class: "prop-label" }, label), input,
    hint ? h("span", { class: "prop-hint" }, hint) : null);
}

function documentationOf(bo) {
  return (bo.documentation || []).map((d) => d.text).filter(Boolean).join("\n");
}

function renderProps() {
  const box = $("props");
  const element = selected();
  if (!element || element.type === "label") {
    box.replaceChildren(
      h("p", { class: "muted" }, "点击图中的元素查看和修改其属性。"),
      h("ul", { class: "help-list muted" },
        h("li", {}, "双击元素可直接修改名称。"),
        h("li", {}, "左侧工具板可添加任务、网关和事件；选中元素后旁边会出现快捷菜单。"),
        h("li", {}, "修改完成后先“校验”，通过后再“部署新版本”。")));
    return;
  }
  const bo = element.businessObject;
  const local = bo.$type.replace(/^bpmn:/, "");
  const rows = [
    h("dl", { class: "kv prop-kv" },
      h("dt", {}, "类型"), h("dd", { "data-testid": "prop-type" }, typeLabel(bo.$type)),
      h("dt", {}, "ID"), h("dd", {}, h("code", { "data-testid": "prop-id" }, bo.id))),
  ];
  if (!["Process", "Collaboration", "Association"].includes(local)) {
    const name = h("input", { type: "text", id: "prop-name", value: bo.name || "", "aria-label": "名称" });
    name.addEventListener("change", () => {
      if ((bo.name || "") !== name.value) modeling.updateLabel(element, name.value);
    });
    rows.push(field("名称", name));
  }
  if (local === "SequenceFlow" && bo.sourceRef?.$type?.endsWith("Gateway")) {
    const expr = h("textarea", { id: "prop-condition", rows: "3", class: "mono", "aria-label": "条件表达式" });
    expr.value = bo.conditionExpression?.body || "";
    expr.addEventListener("change", () => {
      const body = expr.value.trim();
      if (body === (bo.conditionExpression?.body || "")) return;
      modeling.updateProperties(element, {
        conditionExpression: body ? bpmnFactory.create("bpmn:FormalExpression", { body }) : undefined,
      });
    });
    rows.push(field("条件表达式", expr, "例如 preliminary_decision == \"入库\"；留空表示无条件"));
  }
  if (local === "UserTask") {
    const props = spiffProperties(bo);
    const inputs = SPIFF_FIELDS.map(([key, label, hint]) => {
      const input = h("input", { type: "text", id: `prop-spiff-${key}`, value: props[key] ?? "", "aria-label": label,
        list: key === "form" ? "form-names" : undefined, class: key === "stage" ? "" : "mono" });
      input.addEventListener("change", () => {
        const value = input.value.trim();
        if (value === (spiffProperties(bo)[key] ?? "")) return;
        commandStack.execute("govflow.spiffProperty.update", { element, name: key, value });
      });
      return field(label, input, hint);
    });
    rows.push(h("fieldset", { class: "spiff-props" }, h("legend", {}, "办理属性"), ...inputs,
      h("datalist", { id: "form-names" }, state.forms.map((f) => h("option", { value: f.name }, f.title)))));
    const mode = approvalModeField({ element, props, commandStack, h, field });
    if (mode) rows.push(mode);
  }
  if (local === "ScriptTask" && bo.script) {
    rows.push(h("div", { class: "prop-field" }, h("span", { class: "prop-label" }, "脚本（只读）"),
      h("pre", { class: "mono prop-pre" }, bo.script)));
  }
  const doc = documentationOf(bo);
  if (doc) {
    rows.push(h("div", { class: "prop-field" }, h("span", { class: "prop-label" }, "依据与说明"),
      h("p", { class: "prop-doc" }, doc)));
  }
  const own = state.issues.filter((i) => i.element_id === bo.id);
  if (own.length) {
    rows.push(h("ul", { class: "issue-list" }, own.map((i) => h("li", {}, i.message))));
  }
  box.replaceChildren(...rows);
}

function refreshPropsUnlessEditing() {
  if (!$("props").contains(document.activeElement)) renderProps();
}

eventBus.on("selection.changed", renderProps);
eventBus.on("commandStack.changed", () => {
  refreshButtons();
  refreshPropsUnlessEditing();
});

// ---- issues -----------------------------------------------------------------------------------

function clearMarkers() {
  for (const id of state.marked) {
    if (elementRegistry.get(id)) canvas.removeMarker(id, "gf-issue");
  }
  state.marked = [];
}

function focusElement(id) {
  const element = elementRegistry.get(id);
  if (!element) return false;
  selection.select(element);
  canvas.scrollToElement(element);
  return true;
}

function renderIssues(issues, { deployRefused = false } = {}) {
  clearMarkers();
  state.issues = issues;
  const box = $("issues");
  if (!issues.length) {
    box.replaceChildren(h("p", { class: "ok-line" }, "✓ 校验通过，未发现问题。"));
    renderProps();
    return;
  }
  for (const issue of issues) {
    if (issue.file === state.bpmnName && issue.element_id && elementRegistry.get(issue.element_id)) {
      canvas.addMarker(issue.element_id, "gf-issue");
      state.marked.push(issue.element_id);
    }
  }
  const items = issues.map((issue) => {
    const onDiagram = issue.file === state.bpmnName && issue.element_id && elementRegistry.get(issue.element_id);
    const element = onDiagram ? elementRegistry.get(issue.element_id) : null;
    const name = element?.businessObject?.name;
    const where = [
      issue.element_type ? typeLabel(issue.element_type) : null,
      name ? `“${name}”` : null,
      issue.element_id ? `（${issue.element_id}）` : null,
    ].filter(Boolean).join(" ");
    const meta = [issue.file, issue.line ? `第 ${issue.line} 行` : null].filter(Boolean).join(" · ");
    const li = h("li", { class: onDiagram ? "issue clickable" : "issue", "data-element": issue.element_id || "",
      tabindex: onDiagram ? "0" : undefined, title: onDiagram ? "点击定位到图中元素" : undefined },
      h("div", { class: "issue-msg" }, issue.message),
      where ? h("div", { class: "issue-where" }, where) : null,
      h("div", { class: "issue-meta muted" }, meta,
        issue.file && issue.file.endsWith(".dmn") ? h("a", { href: `/designer/dmn?file=${encodeURIComponent(issue.file)}` }, " 在决策表中打开") : null));
    if (onDiagram) {
      const go = () => focusElement(issue.element_id);
      li.addEventListener("click", go);
      li.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
    }
    return li;
  });
  box.replaceChildren(
    h("p", { class: "issue-head" }, deployRefused ? `部署被拒绝：发现 ${issues.length} 个问题` : `发现 ${issues.length} 个问题`,
      h("span", { class: "muted" }, "（点击问题可定位到图中元素）")),
    h("ol", { class: "issue-list", id: "issue-list" }, items));
  renderProps();
}

// ---- bundle, validate, deploy -----------------------------------------------------------------

async function bundle() {
  const files = { ...state.original };
  if (isDirty()) {
    const { xml } = await modeler.saveXML({ format: true });
    files[state.bpmnName] = xml;
  }
  return files;
}

const { validate, deploy } = bundleActions({
  bundle,
  renderIssues,
  note: "部署前服务器会再次校验流程定义。",
  deployed(files, result) {
    state.original = files;
    state.savedIdx = stackIdx();
    refreshButtons();
    if (result.created || result.promoted) {  // promoted: an identical older version made current again
      state.version = { ...state.version, id: result.id, version: result.version };
      history.replaceState(null, "", `/designer/modeler?version=${result.id}`);
      showVersionInfo({ latest: true });
    }
  },
});

async function download() {
  try {
    const { xml } = await modeler.saveXML({ format: true });
    const url = URL.createObjectURL(new Blob([xml], { type: "application/xml" }));
    const a = h("a", { href: url, download: state.bpmnName || "process.bpmn" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (error) {
    fail(error);
  }
}

// Spiff reads some references as process variable names (e.g. loopDataInputRef "participants" of
// a multi-instance task) that are no element ids; bpmn-moddle would drop them on export. Keep
// them as stand-ins that serialize to the same id.
function keepUnresolvedReferences(warnings) {
  const other = [];
  for (const w of warnings) {
    const match = /^unresolved reference <(.+)>$/.exec(w.message || "");
    const prop = w.property && w.element?.$descriptor?.propertiesByName?.[w.property];
    if (match && prop && !prop.isMany) {
      const standIn = moddle.create(prop.type && prop.type.includes(":") ? prop.type : `bpmn:${prop.type || "BaseElement"}`, { id: match[1] });
      w.element.set(w.property, standIn);
    } else {
      other.push(w.message);
    }
  }
  if (other.length) console.warn("导入警告：" + other.join("；"));
}

// ---- loading ----------------------------------------------------------------------------------

function showVersionInfo({ latest }) {
  const v = state.version;
  $("version-info").replaceChildren(
    h("span", {}, "基于 "), h("strong", { id: "base-version" }, `版本 ${v.version}`),
    h("span", {}, `（${v.process_key}）· 部署人 ${v.deployed_by || "—"} · ${fmtTime(v.deployed_at)}`),
    ...(latest === false ? [" ", h("span", { class: "badge yellow" }, "历史版本：部署将以此为基础生成新的最新版本")] : []));
  $("dmn-link").href = `/designer/dmn?version=${v.id}`;
}

async function load() {
  const params = new URLSearchParams(location.search);
  const versionId = params.get("version");
  try {
    const [version, forms, versions] = await Promise.all([
      api.get(versionId ? `/api/processes/${encodeURIComponent(versionId)}` : "/api/processes/latest"),
      api.get("/api/forms").catch(() => []),
      api.get("/api/processes").catch(() => []),
    ]);
    state.forms = forms;
    state.version = version;
    state.original = { ...version.files };
    state.bpmnName = Object.keys(version.files).find((n) => n.endsWith(".bpmn"));
    if (!state.bpmnName) throw new Error("该版本没有 BPMN 文件");
    const newest = Math.max(...versions.filter((r) => r.process_key === version.process_key).map((r) => r.version));
    showVersionInfo({ latest: !versions.length || version.version >= newest });
    document.querySelector(".canvas-loading")?.remove();
    const { warnings } = await modeler.importXML(version.files[state.bpmnName]);
    keepUnresolvedReferences(warnings || []);
    overview();
    commandStack.clear();
    state.savedIdx = stackIdx();
    refreshButtons();
    busy(false);
    renderProps();
  } catch (error) {
    $("canvas").replaceChildren(h("p", { class: "form-error" }, "流程加载失败：" + describe(error)));
    $("version-info").textContent = "";
    fail(error);
  }
}

$("undo").addEventListener("click", () => commandStack.undo());
$("redo").addEventListener("click", () => commandStack.redo());
$("fit").addEventListener("click", () => canvas.zoom("fit-viewport"));

// The lifecycle is wide: fitting it all makes labels unreadable, so start readable at the left
// edge (right of the palette); 适合窗口 shows the whole diagram.
function overview() {
  canvas.zoom("fit-viewport");
  const vb = canvas.viewbox();
  if (vb.scale >= 0.75) return;
  const scale = 0.8;
  canvas.viewbox({ x: vb.inner.x - 130, y: vb.inner.y - 30, width: vb.outer.width / scale, height: vb.outer.height / scale });
}
$("validate").addEventListener("click", validate);
$("deploy").addEventListener("click", deploy);
$("download").addEventListener("click", download);

window.govflowModeler = modeler; // for tests and for designers using the browser console
load();
