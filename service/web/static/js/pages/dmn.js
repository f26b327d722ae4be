// 决策表: the DMN files of a deployed version (e.g. 第十三条 change_rule.dmn) in the dmn-js Modeler,
// with 校验 and 部署新版本 of the whole bundle (the BPMN unchanged, the edited DMN files).
import { api, describe, fail, fmtTime, h } from "../api.js";
import { bundleActions, busy } from "../bundle-actions.js";

const $ = (id) => document.getElementById(id);

const TYPE_LABELS = {
  decision: "决策", decisionTable: "决策表", rule: "规则", inputEntry: "条件单元格", outputEntry: "结果单元格",
  input: "输入列", output: "输出列", inputExpression: "输入表达式", definitions: "决策文件",
  businessRuleTask: "业务规则任务", userTask: "用户任务", sequenceFlow: "顺序流",
};
const typeLabel = (t) => TYPE_LABELS[t] || t || "";

const state = {
  version: null,
  original: {}, // name → text as deployed
  edited: {}, // name → text edited here (kept when switching files)
  current: null,
  dirty: new Set(),
  issues: [],
};

// zh-CN for the dmn-js editors (the same `translate` override as bpmn-zh.js, DMN strings).
const DMN_ZH = {
  "View DRD": "查看决策关系图", "Hit policy:": "命中策略：", "Hit policy": "命中策略", When: "当", And: "且",
  Then: "则", Unique: "唯一（首条命中）", First: "首条", Priority: "优先级", Any: "任意", Collect: "汇总",
  "Collect (Sum)": "汇总（求和）", "Collect (Min)": "汇总（最小）", "Collect (Max)": "汇总（最大）",
  "Collect (Count)": "汇总（计数）", "Rule order": "规则顺序", "Output order": "输出顺序",
  "Add rule": "添加规则", "Add rule above": "在上方添加规则", "Add rule below": "在下方添加规则",
  "Remove rule": "删除规则", "Copy rule": "复制规则", "Cut rule": "剪切规则", "Paste rule above": "粘贴到上方",
  "Paste rule below": "粘贴到下方", "Move rule": "移动规则",
  "Add input": "添加输入", "Add output": "添加输出", "Add input column left": "在左侧添加输入列",
  "Add input column right": "在右侧添加输入列", "Add output column left": "在左侧添加输出列",
  "Add output column right": "在右侧添加输出列", "Remove input column": "删除输入列",
  "Remove output column": "删除输出列", "Copy input column": "复制输入列", "Copy output column": "复制输出列",
  "Cut input column": "剪切输入列", "Cut output column": "剪切输出列",
  "Paste input column left": "粘贴到左侧", "Paste input column right": "粘贴到右侧",
  "Paste output column left": "粘贴到左侧", "Paste output column right": "粘贴到右侧",
  "Add cell description": "添加单元格说明", "Remove cell description": "删除单元格说明",
  "Edit input": "编辑输入", "Edit output": "编辑输出", "Input label": "输入标签", "Input label: ": "输入标签：",
  "Input expression": "输入表达式", "Input expression: ": "输入表达式：", "Input type": "输入类型",
  "Input values": "输入取值", "Output label": "输出标签", "Output label: ": "输出标签：", "Output name": "输出名称",
  "Output name: ": "输出名称：", "Output type": "输出类型", "Output values": "输出取值", Input: "输入", Output: "输出",
  "Predefined values": "预设取值", "Add predefined values": "添加预设取值", "Clear predefined values": "清除预设取值",
  "Add values": "添加取值", "No values": "无取值", Values: "取值", Value: "值", Type: "类型",
  "Expression language": "表达式语言", "Expression language:": "表达式语言：", "Change cell expression language": "更改单元格表达式语言",
  "Enter expression": "输入表达式", "Strings must be in double quotes": "文字须加英文双引号",
  "Edit string": "编辑文字", "Edit number": "编辑数值", "Edit boolean": "编辑布尔值", "Edit date": "编辑日期",
  "Boolean value": "布尔值", "String value": "文字值", Yes: "是", No: "否", Include: "包含", Exclude: "排除",
  "Match one": "匹配其一", "Match none": "都不匹配", Comparison: "比较", Range: "范围", Equals: "等于",
  Less: "小于", "Less or equals": "小于等于", Greater: "大于", "Greater or equals": "大于等于",
  "Decision name": "决策名称", "Decision name: ": "决策名称：", "Definition name": "定义名称", "Definition ID": "定义 ID",
  "Create decision": "添加决策", "Create input data": "添加输入数据", "Create knowledge model": "添加知识模型",
  "Create knowledge source": "添加知识来源", "Append decision": "追加决策", "Append input data": "追加输入数据",
  "Append knowledge source": "追加知识来源", "Append business knowledge model": "追加业务知识模型",
  "Activate hand tool": "抓手工具", "Activate lasso tool": "套索工具", "Connect to other element": "连接到其他元素",
  "Add text annotation": "添加文字注释", "Change type": "更改类型", "Decision table": "决策表",
  "Literal expression": "文字表达式", Empty: "空", "Search in diagram": "在图中搜索", Edit: "编辑",
};

function dmnTranslate(template, replacements) {
  const values = replacements || {};
  return (DMN_ZH[template] || template).replace(/{([^}]+)}/g, (_, key) => (key in values ? String(values[key]) : `{${key}}`));
}

// dmn-js passes `common` to every editor but replaces its additionalModules: name each editor.
const zh = { additionalModules: [{ translate: ["value", dmnTranslate] }] };
const dmnJS = new window.DmnJS({ container: "#dmn", drd: zh, decisionTable: zh, literalExpression: zh, boxedExpression: zh });
const hooked = new WeakSet();
let importing = false;

function activeStack() {
  const viewer = dmnJS.getActiveViewer();
  return viewer ? viewer.get("commandStack") : null;
}

function refreshButtons() {
  const stack = activeStack();
  $("undo").disabled = !stack?.canUndo();
  $("redo").disabled = !stack?.canRedo();
  $("dirty-flag").hidden = state.dirty.size === 0;
}

function hookViewer() {
  const viewer = dmnJS.getActiveViewer();
  if (!viewer || hooked.has(viewer)) return;
  hooked.add(viewer);
  viewer.get("eventBus").on("commandStack.changed", () => {
    if (!importing && state.current) state.dirty.add(state.current);
    refreshButtons();
  });
  viewer.get("eventBus").on("elements.changed", () => setTimeout(markIssues, 0));
}

dmnJS.on("views.changed", () => {
  hookViewer();
  renderViewSelect();
  refreshButtons();
  setTimeout(markIssues, 0);
});

window.addEventListener("beforeunload", (event) => {
  if (state.dirty.size) {
    event.preventDefault();
    event.returnValue = "";
  }
});


const VIEW_LABELS = { drd: "决策关系图（DRD）", decisionTable: "决策表", literalExpression: "文字表达式", boxedExpression: "表达式" };

function viewLabel(view) {
  const name = view.element?.name || view.element?.id || "";
  return view.type === "drd" ? VIEW_LABELS.drd : `${VIEW_LABELS[view.type] || view.type}：${name}`;
}

function renderViewSelect() {
  const select = $("view");
  const views = dmnJS.getViews();
  const active = dmnJS.getActiveView();
  select.replaceChildren(...views.map((view, i) => h("option", { value: String(i), selected: view === active }, viewLabel(view))));
  select.disabled = views.length < 2;
}

$("view").addEventListener("change", () => {
  const view = dmnJS.getViews()[Number($("view").value)];
  if (view) dmnJS.open(view).catch(fail);
});

// ---- files ------------------------------------------------------------------------------------

async function currentXml() {
  const { xml } = await dmnJS.saveXML({ format: true });
  return xml;
}

async function stashCurrent() {
  if (state.current && state.dirty.has(state.current)) state.edited[state.current] = await currentXml();
}

async function openFile(name) {
  await stashCurrent();
  importing = true;
  try {
    state.current = name;
    await dmnJS.importXML(state.edited[name] ?? state.original[name]);
    const views = dmnJS.getViews();
    const table = views.find((v) => v.type === "decisionTable");
    if (table && dmnJS.getActiveView() !== table) await dmnJS.open(table);
    hookViewer();
    renderViewSelect();
  } finally {
    importing = false;
  }
  $("file").value = name;
  refreshButtons();
  markIssues();
}

$("file").addEventListener("change", () => openFile($("file").value).catch(fail));

async function bundle() {
  await stashCurrent();
  const files = { ...state.original };
  for (const name of state.dirty) files[name] = state.edited[name];
  return files;
}

// ---- issues -----------------------------------------------------------------------------------

function markIssues() {
  for (const el of document.querySelectorAll("#dmn .gf-issue-cell")) el.classList.remove("gf-issue-cell");
  for (const issue of state.issues) {
    if (issue.file !== state.current || !issue.element_id) continue;
    for (const el of document.querySelectorAll(`#dmn [data-element-id="${CSS.escape(issue.element_id)}"], #dmn [data-row-id="${CSS.escape(issue.element_id)}"]`)) {
      el.classList.add("gf-issue-cell");
    }
  }
}

async function focusIssue(issue) {
  if (issue.file !== state.current) await openFile(issue.file);
  const el = document.querySelector(`#dmn [data-element-id="${CSS.escape(issue.element_id)}"], #dmn [data-row-id="${CSS.escape(issue.element_id)}"]`);
  if (el) {
    el.scrollIntoView({ block: "center", behavior: "smooth" });
    el.classList.add("gf-flash");
    setTimeout(() => el.classList.remove("gf-flash"), 1500);
  }
}

function renderIssues(issues, { deployRefused = false } = {}) {
  state.issues = issues;
  const box = $("issues");
  markIssues();
  if (!issues.length) {
    box.replaceChildren(h("p", { class: "ok-line" }, "✓ 校验通过，未发现问题。"));
    return;
  }
  box.replaceChildren(
    h("p", { class: "issue-head" }, deployRefused ? `部署被拒绝：发现 ${issues.length} 个问题` : `发现 ${issues.length} 个问题`),
    h("ol", { class: "issue-list", id: "issue-list" }, issues.map((issue) => {
      const inDmn = issue.file && issue.file in state.original && issue.file.endsWith(".dmn");
      const where = [typeLabel(issue.element_type), issue.element_id ? `（${issue.element_id}）` : null].filter(Boolean).join(" ");
      const li = h("li", { class: inDmn ? "issue clickable" : "issue", tabindex: inDmn ? "0" : undefined },
        h("div", { class: "issue-msg" }, issue.message),
        where ? h("div", { class: "issue-where" }, where) : null,
        h("div", { class: "issue-meta muted" }, [issue.file, issue.line ? `第 ${issue.line} 行` : null].filter(Boolean).join(" · "),
          issue.file?.endsWith(".bpmn") ? h("a", { href: `/designer/modeler?version=${state.version.id}` }, " 在流程建模中打开") : null));
      if (inDmn) li.addEventListener("click", () => focusIssue(issue).catch(fail));
      return li;
    })));
}

// ---- validate / deploy ------------------------------------------------------------------------

const { validate, deploy } = bundleActions({
  bundle,
  renderIssues,
  note: "决策表将与流程图一起部署为新的流程版本。",
  deployed(files, result) {
    state.original = files;
    state.edited = {};
    state.dirty.clear();
    refreshButtons();
    if (result.created || result.promoted) {  // promoted: an identical older version made current again
      state.version = { ...state.version, id: result.id, version: result.version };
      history.replaceState(null, "", `/designer/dmn?version=${result.id}&file=${encodeURIComponent(state.current)}`);
      showVersionInfo();
    }
  },
});

async function download() {
  try {
    const url = URL.createObjectURL(new Blob([await currentXml()], { type: "application/xml" }));
    const a = h("a", { href: url, download: state.current || "decision.dmn" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (error) {
    fail(error);
  }
}

// ---- load -------------------------------------------------------------------------------------

function showVersionInfo() {
  const v = state.version;
  $("version-info").replaceChildren(
    h("span", {}, "基于 "), h("strong", { id: "base-version" }, `版本 ${v.version}`),
    h("span", {}, `（${v.process_key}）· 部署人 ${v.deployed_by || "—"} · ${fmtTime(v.deployed_at)}`));
  $("modeler-link").href = `/designer/modeler?version=${v.id}`;
}

async function load() {
  const params = new URLSearchParams(location.search);
  const versionId = params.get("version");
  try {
    const version = await api.get(versionId ? `/api/processes/${encodeURIComponent(versionId)}` : "/api/processes/latest");
    state.version = version;
    state.original = { ...version.files };
    showVersionInfo();
    const names = Object.keys(version.files).filter((n) => n.endsWith(".dmn"));
    $("file").replaceChildren(...names.map((n) => h("option", { value: n }, n)));
    if (!names.length) {
      $("dmn").replaceChildren(h("p", { class: "empty" }, "该流程版本没有决策表（.dmn）文件。"));
      return;
    }
    document.querySelector("#dmn .canvas-loading")?.remove();
    const wanted = params.get("file");
    await openFile(names.includes(wanted) ? wanted : names[0]);
    busy(false);
  } catch (error) {
    $("dmn").replaceChildren(h("p", { class: "form-error" }, "决策表加载失败：" + describe(error)));
    fail(error);
  }
}

$("undo").addEventListener("click", () => activeStack()?.undo());
$("redo").addEventListener("click", () => activeStack()?.redo());
$("validate").addEventListener("click", validate);
$("deploy").addEventListener("click", deploy);
$("download").addEventListener("click", download);

window.govflowDmn = dmnJS; // for tests and for designers using the browser console
load();
