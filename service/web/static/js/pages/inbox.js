// 我的待办: the open tasks of the user's unit, with deadlines in working days and 黄牌/红牌; the
// 已办 and 我发起的 tabs (../worklists.js); search, filters and pages from /api/tasks/search.
import { api, describe, fail, fmtDate, h, toast, WARNING_LABELS } from "../api.js";
import { fillChoices, newestOnly, onSearch, pager } from "../pager.js";
import { doneRow, HEADS, mineRow } from "../worklists.js";
import { CC_HEAD, ccRow } from "../carbon-copy.js";
import { currentUser, takeFlash } from "./dept-common.js";
import { batchable, batchBar } from "../batch.js";
import { substitutesCard } from "../substitutes.js";
import { countersignTodo } from "../countersign-panel.js";

const me = currentUser();
const isWorker = me.isWorker;

const tbody = document.querySelector("#inbox tbody");
const count = document.getElementById("inbox-count");
const stageSelect = document.getElementById("f-stage");
const sortSelect = document.getElementById("f-sort");
const mineBox = document.getElementById("f-mine");
const searchBox = document.getElementById("f-q");
const unitSelect = document.getElementById("f-unit");
const dueSelect = document.getElementById("f-due");
const thead = document.querySelector("#inbox thead");
const todoHead = thead.cloneNode(true);
const tabs = [...document.querySelectorAll("#inbox-tabs [data-view]")];
const VIEWS = ["todo", "done", "mine", "cc"];
const EMPTY = { todo: "暂无待办", done: "暂无已办任务", mine: "本单位暂无发起的项目", cc: "暂无抄送给您或本单位的任务" };
const ccUnread = document.getElementById("cc-unread");

// Filters live in the address so a reload or a shared link keeps them.
const params = new URLSearchParams(location.search);
sortSelect.value = ["due", "-due", "created"].includes(params.get("sort")) ? params.get("sort") : "due";
mineBox.checked = params.get("mine") === "true";
const wantedStage = params.get("stage") || "";
const wantedUnit = params.get("unit") || "";
let view = VIEWS.includes(params.get("view")) ? params.get("view") : "todo";
let page = Math.max(1, parseInt(params.get("page"), 10) || 1);
searchBox.value = params.get("q") || "";
dueSelect.value = ["overdue", "due_soon", "ok"].includes(params.get("due")) ? params.get("due") : "";
const pages = pager((n) => { page = n; load(); });
document.getElementById("inbox-pager").append(pages.el);

function daysLeftCell(row) {
  const n = row.working_days_left;
  if (n === null || n === undefined) return h("td", { class: "num muted" }, "—");
  if (row.paused) return h("td", { class: "days-left paused" }, row.clock_label || "已暂停计时");
  if (n < 0) return h("td", { class: "num days-left overdue" }, `逾期 ${-n} 个工作日`);
  if (n === 0) return h("td", { class: "num days-left" }, h("strong", {}, "今天到期"));
  return h("td", { class: "num days-left" }, `${n} 个工作日`);
}

function warningCell(row) {
  if (row.paused) return h("td", {}, h("span", { class: "badge blue" }, "补正中"));
  if (!row.warning) return h("td", {}, h("span", { class: "muted" }, "正常"));
  return h("td", {}, h("span", { class: `badge ${row.warning === "red" ? "red" : "yellow"}` }, WARNING_LABELS[row.warning] || row.warning));
}

async function act(row, action) {
  try {
    await api.post(`/api/tasks/${row.id}/${action}`);
    toast(action === "claim" ? `已认领：${row.title}` : `已取消认领：${row.title}`, "success");
    await load();
  } catch (e) {
    fail(e);
    await load();
  }
}

function actionsCell(row) {
  if (!isWorker || row.unit !== me.unit) return h("td", { class: "actions-cell" });
  if (!row.assignee) return h("td", { class: "actions-cell" }, h("button", { type: "button", onclick: () => act(row, "claim") }, "认领"));
  if (row.assignee === me.username && !row.delegated_by) {
    return h("td", { class: "actions-cell" }, h("button", { type: "button", onclick: () => act(row, "unclaim") }, "取消认领"));
  }
  return h("td", { class: "actions-cell" });
}

function filtered() {
  return Boolean(stageSelect.value || unitSelect.value || dueSelect.value || searchBox.value.trim()
    || (view === "todo" && mineBox.checked));
}

function renderOther(rows) {
  batch.show(false);
  const heads = view === "cc" ? CC_HEAD : HEADS[view];
  thead.replaceChildren(h("tr", {}, heads.map((t) => h("th", {}, t))));
  if (!rows.length) {
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: heads.length, class: "empty" },
      filtered() ? "暂无符合条件的记录" : EMPTY[view])));
    return;
  }
  tbody.replaceChildren(...rows.map(view === "cc" ? ccRow : view === "done" ? doneRow : mineRow));
}

function render(rows) {
  if (thead.firstElementChild.childElementCount !== todoHead.firstElementChild.childElementCount) {
    thead.replaceChildren(...todoHead.cloneNode(true).childNodes);
  }
  if (!rows.length) {
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: 9, class: "empty" },
      filtered() ? "暂无符合条件的待办" : "暂无待办")));
    return;
  }
  tbody.replaceChildren(...rows.map((row) => {
    const overdueRow = !row.paused && row.working_days_left !== null && row.working_days_left < 0;
    const project = row.project || {};
    return h("tr", { class: overdueRow ? "overdue" : "", dataset: { taskId: row.id, task: row.task } },
      h("td", {}, row.stage),
      h("td", {}, h("a", { href: `/projects/${row.project_id}` }, project.code || `项目 ${row.project_id}`),
        h("span", { class: "cell-sub" }, project.name || "")),
      h("td", {}, h("a", { href: `/tasks/${row.id}`, class: "task-link" }, row.title),
        row.round > 1 ? h("span", { class: "badge blue", style: "margin-left:6px" }, `第${row.round}轮`) : null,
        row.delegated_by ? h("span", { class: "cell-sub" }, `${row.delegated_by_name || row.delegated_by} 委派`) : null),
      h("td", {}, row.unit),
      h("td", {}, row.due_date ? fmtDate(row.due_date) : h("span", { class: "muted" }, "无期限"),
        row.due_provisional ? h("span", { class: "badge", style: "margin-left:6px", title: "当年放假安排未发布，期限为预估" }, "预估") : null),
      daysLeftCell(row),
      warningCell(row),
      h("td", { class: "assignee" }, row.assignee ? (row.assignee_name || row.assignee) : h("span", { class: "muted" }, "未认领"),
        row.on_behalf_of ? h("span", { class: "cell-sub on-behalf" }, "由我代理") : null),
      withBatch(actionsCell(row), row));
  }));
  batch.show(rows.some((r) => batchable(r, me)));
}

function showTab() {
  tabs.forEach((t) => t.setAttribute("aria-selected", String(t.dataset.view === view)));
  document.querySelectorAll("#inbox-filters .todo-only").forEach((el) => { el.hidden = view !== "todo"; });
  // 抄送我的 is searched by project only (GET /api/cc).
  document.querySelectorAll("#inbox-filters .not-cc").forEach((el) => { el.hidden = view === "cc"; });
  // 已办 is on time or late; "due soon" means nothing for finished work.
  dueSelect.querySelector("option[value=due_soon]").hidden = view === "done";
  if (view === "done" && dueSelect.value === "due_soon") dueSelect.value = "";
}

function query() {
  const q = new URLSearchParams({ view, page: String(page), per_page: "20" });
  if (searchBox.value.trim()) q.set("q", searchBox.value.trim());
  if (view === "cc") return q;
  if (stageSelect.value) q.set("stage", stageSelect.value);
  if (unitSelect.value) q.set("unit", unitSelect.value);
  if (dueSelect.value) q.set("due", dueSelect.value);
  if (view === "todo") {
    if (mineBox.checked) q.set("mine", "true");
    q.set("sort", sortSelect.value);
  }
  return q;
}

const loads = newestOnly();
async function load() {
  const q = query();
  const current = loads.next();
  history.replaceState(null, "", `${location.pathname}?${q}`);
  try {
    const result = await api.get(view === "cc" ? `/api/cc?${q}` : `/api/tasks/search?${q}`);
    if (!current()) return;
    if (result.page > 1 && !result.items.length && result.total) { page = 1; load(); return; }
    count.textContent = result.total ? `共 ${result.total} 项` : "";
    if (view === "cc") showCcUnread(result.unread);
    pages.update(result);
    if (view === "todo") render(result.items); else renderOther(result.items);
  } catch (e) {
    if (!current()) return;
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: 9, class: "empty" }, describe(e))));
    if (e.status !== 403) fail(e);
  }
}

function reload() { page = 1; load(); }

function showCcUnread(n) {
  ccUnread.hidden = !n;
  ccUnread.textContent = n ? String(n) : "";
}

function init() {
  // The tabs, filters and search work from the first paint: the choices only add options, and
  // a slow answer must not leave the page dead nor undo what was picked meanwhile.
  fillChoices(stageSelect, [], { all: "全部阶段", first: wantedStage });
  fillChoices(unitSelect, [], { all: "全部单位", first: wantedUnit });
  showTab();
  tabs.forEach((t) => t.addEventListener("click", () => { view = t.dataset.view; showTab(); reload(); }));
  [stageSelect, sortSelect, mineBox, unitSelect, dueSelect].forEach((el) => el.addEventListener("change", reload));
  onSearch(searchBox, reload);
  load();
  // The choices come from the register, not from the rows shown (a filter never hides its alternatives).
  api.get("/api/projects/choices").then((choices) => {
    fillChoices(stageSelect, choices.stages, { all: "全部阶段" });
    fillChoices(unitSelect, choices.all_units, { all: "全部单位" });
  }).catch(() => null);
  if (view !== "cc") api.get("/api/cc?per_page=1").then((r) => showCcUnread(r.unread)).catch(() => null);
}

// 批量办理 (../batch.js): a checkbox on the rows it may take, the bar above the table.
const batch = batchBar(() => load());
document.getElementById("inbox").before(batch.el);
function withBatch(cell, row) {
  if (batchable(row, me)) cell.append(batch.box(row));
  return cell;
}
// 代理设置 (../substitutes.js): for those who work tasks.
if (isWorker) {
  document.getElementById("substitutes-card").hidden = false;
  substitutesCard(document.getElementById("substitutes"), () => load());
}

const flashed = takeFlash();
if (flashed) toast(flashed, "success");
init();
// 加签 asked of me or my unit (GET /api/countersigns), above the tabs.
if (isWorker) countersignTodo(document.querySelector(".page-head"));
