// 督办看板: period statistics and charts, the overdue / escalated task list with 延期 and 补正,
// late statutory filings and 整改 (第二十七条). Every figure comes from /api; the page computes
// nothing the server already knows (working days overdue, levels, rates).
import { api, describe as errorText, h, toast, fmtDate, fmtTime, WARNING_LABELS } from "../api.js";
import { pager } from "../pager.js";
import { startUrgeExtensionBoard } from "../urge-extension-board.js";

const root = document.getElementById("dashboard-root");
const canWrite = root?.dataset.canWrite === "1";

const STAGES = ["需求申报和初审", "方案编制和报送", "方案评审", "预算安排", "项目批准", "建设与变更", "竣工验收", "绩效评价"];
const LEVELS = { 1: "一级督办", 2: "二级督办", 3: "三级督办" };
const LEVEL_BADGE = { 1: "yellow", 2: "red", 3: "red strong" };
const FILING_LABELS = {
  contract_filing: "合同备案",
  termination_filing: "终止备案",
  acceptance_report_filing: "验收报告备案",
  self_evaluation: "绩效自评",
};
const COLORS = { red: "#c62828", redSoft: "#ef9a9a", yellow: "#d39e00", blue: "#1f5fae", blueSoft: "#90b4e0", green: "#2e7d32", grey: "#98a2b3" };

const state = {
  units: new Set(),
  unitById: new Map(),
  tasks: [], // merged warnings + escalation levels
  late: [],
  rects: [],
  charts: {},
};

// ---- helpers ----------------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, "0");
function beijingToday() {
  const bj = new Date(Date.now() + 8 * 3600 * 1000);
  return new Date(Date.UTC(bj.getUTCFullYear(), bj.getUTCMonth(), bj.getUTCDate()));
}
const isoDay = (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
const addDays = (d, n) => new Date(d.getTime() + n * 86400000);


function showError(el, e) {
  el.textContent = errorText(e);
  el.hidden = false;
}

function emptyRow(tbody, cols, text) {
  tbody.replaceChildren(h("tr", {}, h("td", { colspan: cols, class: "empty" }, text)));
}

function setStat(name, value) {
  const tile = document.querySelector(`[data-stat="${name}"] .value`);
  if (tile) tile.textContent = value === null || value === undefined ? "–" : String(value);
}

function unitName(id) {
  return state.unitById.get(id) || `单位 #${id}`;
}

// Rows name their projects (the list APIs join them per page): no list of every project here.
function projectCell(projectId, known = null) {
  const p = known && known.name ? known : null;
  return h("a", { href: `/projects/${projectId}`, class: "project-link" }, p ? p.name : `项目 #${projectId}`,
    p && p.code ? h("span", { class: "muted code" }, p.code) : null);
}

function levelBadge(level) {
  return level ? h("span", { class: `badge ${LEVEL_BADGE[Math.min(level, 3)]}`, "data-level": level }, LEVELS[Math.min(level, 3)])
    : h("span", { class: "muted" }, "未升级");
}

// ---- charts -----------------------------------------------------------------------------------

function setupChartDefaults() {
  if (!window.Chart) return false;
  const family = getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.font.family = family;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = "#475467";
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;
  Chart.defaults.datasets.bar.maxBarThickness = 44;
  return true;
}

function drawChart(id, config, empty) {
  const canvas = document.getElementById(id);
  const hint = document.getElementById(`${id}-empty`);
  state.charts[id]?.destroy();
  delete state.charts[id];
  if (hint) hint.hidden = !empty;
  canvas.parentElement.classList.toggle("is-empty", Boolean(empty));
  if (!window.Chart) return;
  state.charts[id] = new Chart(canvas, config);
}

const intTicks = { precision: 0, beginAtZero: true };

function overdueChart(id, rows, key) {
  const labels = rows.map((r) => r[key]);
  drawChart(id, {
    type: "bar",
    data: {
      labels,
      datasets: [
        { label: "已升级督办", data: rows.map((r) => r.escalated), backgroundColor: COLORS.red, stack: "s" },
        { label: "逾期未升级", data: rows.map((r) => Math.max(r.overdue - r.escalated, 0)), backgroundColor: COLORS.redSoft, stack: "s" },
      ],
    },
    options: {
      scales: { x: { stacked: true, ticks: { autoSkip: false, maxRotation: 40 } }, y: { stacked: true, ticks: intTicks, title: { display: true, text: "任务数" } } },
      plugins: {
        tooltip: {
          callbacks: {
            footer: (items) => {
              const r = rows[items[0].dataIndex];
              return `逾期合计 ${r.overdue}，最长逾期 ${r.max_days_overdue} 个工作日${r.max_level ? `，最高${LEVELS[Math.min(r.max_level, 3)]}` : ""}`;
            },
          },
        },
      },
    },
  }, rows.length === 0);
}

function weeklyChart(rows) {
  drawChart("chart-weekly", {
    data: {
      labels: rows.map((r) => `${r.week_start.slice(5).replace("-", "/")} 周`),
      datasets: [
        { type: "bar", label: "按期办结", data: rows.map((r) => r.on_time), backgroundColor: COLORS.green, stack: "done" },
        { type: "bar", label: "逾期办结", data: rows.map((r) => r.late), backgroundColor: COLORS.yellow, stack: "done" },
        { type: "line", label: "周末仍逾期未办", data: rows.map((r) => r.overdue_open_at_end), borderColor: COLORS.red, backgroundColor: COLORS.red, tension: 0.2 },
        { type: "line", label: "新增任务", data: rows.map((r) => r.opened), borderColor: COLORS.grey, backgroundColor: COLORS.grey, borderDash: [4, 4], hidden: true },
      ],
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, ticks: intTicks, title: { display: true, text: "任务数" } } } },
  }, false);
}

function onTimeChart(rows) {
  const rated = rows.filter((r) => r.rate !== null && r.rate !== undefined);
  drawChart("chart-ontime", {
    type: "bar",
    data: {
      labels: rated.map((r) => r.unit),
      datasets: [{
        label: "按期办结率",
        data: rated.map((r) => Math.round(r.rate * 1000) / 10),
        backgroundColor: rated.map((r) => (r.rate >= 0.9 ? COLORS.green : r.rate >= 0.6 ? COLORS.yellow : COLORS.red)),
      }],
    },
    options: {
      indexAxis: "y",
      scales: { x: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } } },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (c) => { const r = rated[c.dataIndex]; return `${c.parsed.x}%（办结 ${r.completed}，按期 ${r.on_time}，逾期未办 ${r.open_overdue || 0}）`; } } },
      },
    },
  }, rated.length === 0);
  const tbody = document.querySelector("#ontime-table tbody");
  if (!rows.length) return emptyRow(tbody, 6, "统计区间内没有办结的限时任务");
  tbody.replaceChildren(...rows.map((r) => h("tr", { "data-unit": r.unit },
    h("td", {}, r.unit), h("td", { class: "num" }, r.completed), h("td", { class: "num" }, r.on_time),
    h("td", { class: "num" }, r.late), h("td", { class: "num open-overdue" }, r.open_overdue || 0),
    h("td", { class: "num rate" }, r.rate === null || r.rate === undefined ? "—" : `${(r.rate * 100).toFixed(1)}%`))));
}

// ---- period statistics --------------------------------------------------------------------------

const periodForm = document.getElementById("period-form");
const dashError = document.getElementById("dashboard-error");

function periodQuery() {
  const data = new FormData(periodForm);
  return new URLSearchParams({ from: data.get("from"), to: data.get("to"), weeks: data.get("weeks") }).toString();
}

async function loadOverview() {
  dashError.hidden = true;
  try {
    const o = await api.get(`/api/statistics/overview?${periodQuery()}`);
    const sum = (rows, k) => rows.reduce((n, r) => n + (r[k] || 0), 0);
    setStat("overdue", sum(o.overdue_by_unit, "overdue"));
    setStat("escalated", sum(o.overdue_by_unit, "escalated"));
    setStat("rectifications", o.open_rectifications);
    setStat("late_filings", o.late_filings);
    document.getElementById("period-note").textContent =
      `统计区间：${o.period.from} 至 ${o.period.to}。逾期、督办、按期办结率和逾期备案按统计区间计算；黄牌、红牌和整改中为当前数。`;
    o.overdue_by_unit.forEach((r) => state.units.add(r.unit));
    o.on_time.forEach((r) => state.units.add(r.unit));
    overdueChart("chart-unit", o.overdue_by_unit, "unit");
    const byStage = [...o.overdue_by_stage].sort((a, b) => stageOrder(a.stage) - stageOrder(b.stage));
    overdueChart("chart-stage", byStage, "stage");
    weeklyChart(o.weekly);
    onTimeChart(o.on_time);
  } catch (e) {
    showError(dashError, e);
  }
}

function stageOrder(stage) {
  const i = STAGES.indexOf(stage);
  return i < 0 ? STAGES.length : i;
}

async function loadWarningSummary() {
  try {
    const s = await api.get("/api/warnings/summary?by=unit");
    let yellow = 0;
    let red = 0;
    for (const [unit, c] of Object.entries(s)) {
      state.units.add(unit);
      yellow += c.yellow || 0;
      red += c.red || 0;
    }
    setStat("yellow", yellow);
    setStat("red", red);
  } catch (e) {
    showError(dashError, e);
  }
}

// ---- overdue / escalated tasks ----------------------------------------------------------------

const filters = document.getElementById("overdue-filters");
const overdueBody = document.querySelector("#overdue-table tbody");

async function loadUnits() {
  try {
    const users = await api.get("/api/users");
    users.forEach((u) => u.unit && state.units.add(u.unit));
  } catch { /* the unit list also fills from the statistics */ }
}

function fillSelect(select, values, first) {
  const current = select.value;
  select.replaceChildren(h("option", { value: "" }, first), ...values.map((v) => h("option", { value: v }, v)));
  if (values.includes(current)) select.value = current;
}

function refreshUnitOptions() {
  const units = [...state.units].sort((a, b) => a.localeCompare(b, "zh-CN"));
  fillSelect(document.getElementById("filter-unit"), units, "全部单位");
  fillSelect(document.getElementById("rect-unit"), units, "请选择单位");
}

// 逾期与督办任务: one page at a time, graded, filtered and sorted by the server (GET /api/warnings/search,
// docs/lists.md). The level is the one the task's clock has reached on its current due date (延期
// lowers it, 补正 suspends it); past escalation messages stay under 消息.
let taskPage = 1;
const taskPager = pager((n) => { taskPage = n; loadTasks(); });
document.getElementById("overdue-table").after(taskPager.el);

async function loadTasks() {
  const data = new FormData(filters);
  const params = new URLSearchParams({ page: String(taskPage), per_page: "20" });
  for (const name of ["unit", "stage"]) if (data.get(name)) params.set(name, data.get(name));
  if (Number(data.get("min_level") || 0) > 0) params.set("min_level", data.get("min_level"));
  if (data.get("yellow") === "on") params.set("yellow", "true");
  try {
    const result = await api.get(`/api/warnings/search?${params}`);
    if (result.page > 1 && !result.items.length && result.total) { taskPage = 1; return loadTasks(); }
    state.tasks = result.items.map((w) => ({ ...w, level: w.level || 0 }));
    taskPager.update(result);
    renderTasks(result.total);
  } catch (e) {
    emptyRow(overdueBody, 9, errorText(e));
  }
}

function renderTasks(total) {
  const data = new FormData(filters);
  document.getElementById("overdue-count").textContent = `共 ${total} 项`;
  if (!state.tasks.length) {
    const filtered = data.get("unit") || data.get("stage") || Number(data.get("min_level") || 0) > 0 || data.get("yellow") === "on";
    return emptyRow(overdueBody, 9, filtered ? "没有符合筛选条件的任务" : "当前没有逾期或升级督办的任务");
  }
  overdueBody.replaceChildren(...state.tasks.map(taskRow));
}

function taskRow(t) {
  const actions = [];
  if (canWrite) {
    actions.push(h("button", { type: "button", class: "small", onclick: () => openExtend(t) }, "延期"));
    actions.push(t.paused
      ? h("button", { type: "button", class: "small", onclick: () => resume(t) }, "恢复计时")
      : h("button", { type: "button", class: "small", onclick: () => openPause(t) }, "补正暂停"));
  }
  const overdue = t.overdue_working_days > 0;
  return h("tr", { class: overdue ? "overdue" : "", "data-task-id": t.work_item_id, "data-unit": t.unit },
    h("td", {}, projectCell(t.project_id, { code: t.project_code, name: t.project_name })),
    h("td", {}, h("a", { href: `/tasks/${t.work_item_id}` }, t.title || t.task)),
    h("td", { class: "unit" }, t.unit),
    h("td", {}, t.stage),
    h("td", { class: "nowrap" }, fmtDate(t.due_date)),
    h("td", { class: "num overdue-days" }, overdue ? h("span", { class: "days-left overdue" }, String(t.overdue_working_days)) : "0"),
    h("td", {}, t.paused ? h("span", { class: "badge blue", title: t.label }, t.label || "已暂停计时")
      : h("span", { class: `badge ${t.grade}` }, WARNING_LABELS[t.grade] || t.label)),
    h("td", { class: "level" }, levelBadge(t.level)),
    h("td", {}, h("div", { class: "actions" }, ...actions)));
}

filters.addEventListener("change", () => { taskPage = 1; loadTasks(); });

// ---- 延期, 补正 ------------------------------------------------------------------------------

const extendDialog = document.getElementById("extend-dialog");
const extendForm = document.getElementById("extend-form");
const extendError = document.getElementById("extend-error");
let extendTask = null;

function openExtend(t) {
  extendTask = t;
  extendForm.reset();
  extendError.hidden = true;
  document.getElementById("extend-task").textContent = `${t.title || t.task} · ${t.unit} · 现办理期限 ${fmtDate(t.due_date)}`;
  extendDialog.showModal();
}

extendForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  extendError.hidden = true;
  const data = new FormData(extendForm);
  try {
    const r = await api.post(`/api/tasks/${extendTask.work_item_id}/extend`, {
      working_days: Number(data.get("working_days")), reason: String(data.get("reason") || ""),
    });
    extendDialog.close();
    toast(`已延期，新的办理期限为 ${r.due_date}`, "success");
    refreshAll();
  } catch (e) {
    showError(extendError, e);
  }
});
document.getElementById("extend-cancel").addEventListener("click", () => extendDialog.close());

const pauseDialog = document.getElementById("pause-dialog");
const pauseForm = document.getElementById("pause-form");
const pauseError = document.getElementById("pause-error");
let pauseTask = null;

function openPause(t) {
  pauseTask = t;
  pauseForm.reset();
  pauseError.hidden = true;
  document.getElementById("pause-task").textContent = `${t.title || t.task} · ${t.unit}`;
  pauseDialog.showModal();
}

pauseForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  pauseError.hidden = true;
  try {
    await api.post(`/api/tasks/${pauseTask.work_item_id}/pause`, { reason: String(new FormData(pauseForm).get("reason") || "") });
    pauseDialog.close();
    toast("已暂停办理时限（补正）", "success");
    refreshAll();
  } catch (e) {
    showError(pauseError, e);
  }
});
document.getElementById("pause-cancel").addEventListener("click", () => pauseDialog.close());

async function resume(t) {
  try {
    const r = await api.post(`/api/tasks/${t.work_item_id}/resume`);
    toast(`已恢复计时，办理期限顺延 ${r.paused_working_days} 个工作日`, "success");
    refreshAll();
  } catch (e) {
    toast(errorText(e), "error");
  }
}

// ---- 逾期备案 --------------------------------------------------------------------------------

const lateBody = document.querySelector("#late-table tbody");
const rectifySelected = document.getElementById("rectify-selected");

// Both tables grow with the years: a page at a time (docs/lists.md); the rows carry the unit's name.
let latePage = 1;
const latePager = pager((n) => { latePage = n; loadLate(); });
document.getElementById("late-table").after(latePager.el);

async function loadLate() {
  try {
    const result = await api.get(`/api/late-filings/search?page=${latePage}&per_page=20`);
    if (result.page > 1 && !result.items.length && result.total) { latePage = 1; return loadLate(); }
    state.late = result.items;
    state.late.forEach((r) => state.unitById.set(r.unit_id, r.unit));
    latePager.update(result);
    renderLate();
  } catch (e) {
    emptyRow(lateBody, 6, errorText(e));
  }
}

function renderLate() {
  rectifySelected.disabled = true;
  rectifySelected.hidden = !state.late.some((r) => !r.rectification_id);
  if (!state.late.length) return emptyRow(lateBody, 6, "没有逾期备案记录");
  lateBody.replaceChildren(...state.late.map((r) => h("tr", { "data-late-id": r.id },
    h("td", { class: "sel" }, canWrite && !r.rectification_id
      ? h("input", { type: "checkbox", value: r.id, "aria-label": `选择逾期备案 ${r.id}`, onchange: updateRectifySelected }) : null),
    h("td", {}, projectCell(r.project_id, { code: r.project_code, name: r.project_name })),
    h("td", {}, FILING_LABELS[r.task_name] || r.task_name, h("span", { class: "muted article" }, r.article)),
    h("td", {}, unitName(r.unit_id)),
    h("td", { class: "nowrap" }, fmtDate(r.due_date)),
    h("td", {}, r.rectification_id ? h("span", { class: "badge blue" }, "已发起整改") : h("span", { class: "badge red" }, "未整改")))));
}

function selectedLate() {
  return [...lateBody.querySelectorAll("input[type=checkbox]:checked")].map((c) => Number(c.value));
}

function updateRectifySelected() {
  rectifySelected.disabled = selectedLate().length === 0;
}

// ---- 整改 -----------------------------------------------------------------------------------

const rectBody = document.querySelector("#rect-table tbody");
const openOnly = document.getElementById("rect-open-only");

let rectPage = 1;
const rectPager = pager((n) => { rectPage = n; loadRects(); });
document.getElementById("rect-table").after(rectPager.el);

async function loadRects() {
  try {
    const result = await api.get(`/api/rectifications/search?page=${rectPage}&per_page=20${openOnly.checked ? "&open_only=true" : ""}`);
    if (result.page > 1 && !result.items.length && result.total) { rectPage = 1; return loadRects(); }
    state.rects = result.items;
    state.rects.forEach((r) => state.unitById.set(r.unit_id, r.unit));
    rectPager.update(result);
    renderRects();
  } catch (e) {
    emptyRow(rectBody, 6, errorText(e));
  }
}

function renderRects() {
  if (!state.rects.length) return emptyRow(rectBody, 6, openOnly.checked ? "没有未完成的整改" : "没有整改记录");
  const today = isoDay(beijingToday());
  rectBody.replaceChildren(...state.rects.map((r) => {
    const closed = Boolean(r.closed_at);
    const late = !closed && r.due_date && r.due_date < today;
    return h("tr", { "data-rect-id": r.id, "data-unit": unitName(r.unit_id), class: late ? "overdue" : "" },
      h("td", {}, unitName(r.unit_id)),
      h("td", { class: "reason" }, r.reason, r.article ? h("span", { class: "muted article" }, r.article) : null),
      h("td", { class: "nowrap" }, r.due_date ? fmtDate(r.due_date) : "—", late ? h("div", { class: "days-left overdue" }, "已超期") : null),
      h("td", { class: "nowrap" }, fmtTime(r.opened_at), h("div", { class: "muted" }, r.opened_by)),
      h("td", { class: "status" }, closed
        ? h("span", { class: "badge green", title: `${fmtTime(r.closed_at)} ${r.closed_by || ""}` }, "已完成")
        : h("span", { class: "badge yellow" }, "整改中")),
      h("td", {}, !closed && canWrite ? h("button", { type: "button", class: "small", onclick: () => openClose(r) }, "整改完成") : null));
  }));
}

openOnly.addEventListener("change", () => { rectPage = 1; loadRects(); });

const rectDialog = document.getElementById("rect-dialog");
const rectForm = document.getElementById("rect-form");
const rectError = document.getElementById("rect-error");
let rectLateIds = null;

function openRectDialog(lateIds = null) {
  rectLateIds = lateIds;
  rectForm.reset();
  rectError.hidden = true;
  const due = document.getElementById("rect-due");
  due.min = isoDay(addDays(beijingToday(), 1));
  due.value = isoDay(addDays(beijingToday(), 30));
  const basis = document.getElementById("rect-basis");
  document.getElementById("rect-unit-field").hidden = Boolean(lateIds);
  document.getElementById("rect-reason-req").hidden = Boolean(lateIds);
  if (lateIds) {
    const rows = state.late.filter((r) => lateIds.includes(r.id));
    basis.textContent = `依据 ${rows.length} 条逾期备案记录：` + rows.map((r) =>
      `${unitName(r.unit_id)} ${FILING_LABELS[r.task_name] || r.task_name}（${r.article}，应于 ${fmtDate(r.due_date)} 前备案）`).join("；");
    basis.hidden = false;
  } else {
    basis.hidden = true;
  }
  rectDialog.showModal();
}

rectForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  rectError.hidden = true;
  const data = new FormData(rectForm);
  const body = { due_date: String(data.get("due_date") || ""), reason: String(data.get("reason") || "").trim() };
  if (rectLateIds) {
    body.late_filing_ids = rectLateIds;
    if (!body.reason) delete body.reason;
  } else {
    body.unit = String(data.get("unit") || "");
  }
  try {
    await api.post("/api/rectifications", body);
    rectDialog.close();
    toast("已发起整改，整改完成前该单位不得申报新项目（第二十七条）", "success");
    await Promise.all([loadRects(), loadLate(), loadOverview()]);
  } catch (e) {
    showError(rectError, e);
  }
});

document.getElementById("rect-cancel").addEventListener("click", () => rectDialog.close());
document.getElementById("open-rectification").addEventListener("click", () => openRectDialog());
rectifySelected.addEventListener("click", () => openRectDialog(selectedLate()));

const closeDialog = document.getElementById("close-dialog");
const closeForm = document.getElementById("close-form");
const closeError = document.getElementById("close-error");
let closeRect = null;

function openClose(r) {
  closeRect = r;
  closeForm.reset();
  closeError.hidden = true;
  document.getElementById("close-what").textContent = `${unitName(r.unit_id)}：${r.reason}`;
  closeDialog.showModal();
}

closeForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  closeError.hidden = true;
  try {
    await api.post(`/api/rectifications/${closeRect.id}/close`, { note: String(new FormData(closeForm).get("note") || "") });
    closeDialog.close();
    toast("整改已完成，该单位恢复申报", "success");
    await Promise.all([loadRects(), loadOverview()]);
  } catch (e) {
    showError(closeError, e);
  }
});
document.getElementById("close-cancel").addEventListener("click", () => closeDialog.close());

// A message about the last attempt goes away once the user changes the form.
for (const [form, error] of [[rectForm, rectError], [extendForm, extendError], [pauseForm, pauseError], [closeForm, closeError]]) {
  form.addEventListener("input", () => { error.hidden = true; });
}

// ---- start ------------------------------------------------------------------------------------

function refreshAll() {
  return Promise.all([loadOverview(), loadWarningSummary(), loadTasks()]);
}

// 延期申请 and 催办 counts (docs/urge-and-extension.md); an approval moves a due date in the task list.
const board = startUrgeExtensionBoard({ canWrite, period: periodQuery, onChange: refreshAll });

periodForm.addEventListener("submit", (event) => {
  event.preventDefault();
  loadOverview();
  board.loadUrges();
});

async function start() {
  if (!canWrite) document.querySelectorAll(".write-only").forEach((el) => el.remove());
  const today = beijingToday();
  document.getElementById("period-to").value = isoDay(today);
  document.getElementById("period-from").value = isoDay(addDays(today, -90));
  fillSelect(document.getElementById("filter-stage"), STAGES, "全部阶段");
  if (!setupChartDefaults()) showError(dashError, "图表组件未加载：请确认前端资源已安装（npm ci --prefix service/web/frontend）");
  await loadUnits();
  await Promise.all([loadOverview(), loadWarningSummary(), loadTasks()]);
  refreshUnitOptions();
  await Promise.all([loadLate(), loadRects(), board.load()]);
  root.dataset.ready = "1";
}

start();
