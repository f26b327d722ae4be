// 我的待办: the open tasks of the user's unit, with deadlines in working days and 黄牌/红牌.
import { api, fail, fmtDate, h, toast, WARNING_LABELS } from "../api.js";
import { currentUser, takeFlash } from "./dept-common.js";

const me = currentUser();
const isWorker = me.isWorker;

const tbody = document.querySelector("#inbox tbody");
const count = document.getElementById("inbox-count");
const stageSelect = document.getElementById("f-stage");
const sortSelect = document.getElementById("f-sort");
const mineBox = document.getElementById("f-mine");
const stages = new Set();

// Filters live in the address so a reload or a shared link keeps them.
const params = new URLSearchParams(location.search);
sortSelect.value = ["due", "-due", "created"].includes(params.get("sort")) ? params.get("sort") : "due";
mineBox.checked = params.get("mine") === "true";
const wantedStage = params.get("stage") || "";
if (wantedStage) stages.add(wantedStage);

function daysLeftCell(row) {
  const n = row.working_days_left;
  if (n === null || n === undefined) return h("td", { class: "num muted" }, "—");
  if (n < 0) return h("td", { class: "num days-left overdue" }, `逾期 ${-n} 个工作日`);
  if (n === 0) return h("td", { class: "num days-left" }, h("strong", {}, "今天到期"));
  return h("td", { class: "num days-left" }, `${n} 个工作日`);
}

function warningCell(row) {
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

function render(rows) {
  const overdue = rows.filter((r) => r.working_days_left !== null && r.working_days_left < 0).length;
  count.textContent = rows.length ? `共 ${rows.length} 项${overdue ? `，其中逾期 ${overdue} 项` : ""}` : "";
  if (!rows.length) {
    const filtered = stageSelect.value || mineBox.checked;
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: 9, class: "empty" },
      filtered ? "暂无符合条件的待办" : "暂无待办")));
    return;
  }
  tbody.replaceChildren(...rows.map((row) => {
    const overdueRow = row.working_days_left !== null && row.working_days_left < 0;
    const project = row.project || {};
    return h("tr", { class: overdueRow ? "overdue" : "", dataset: { taskId: row.id, task: row.task } },
      h("td", {}, row.stage),
      h("td", {}, h("a", { href: `/projects/${row.project_id}` }, project.code || `项目 ${row.project_id}`),
        h("span", { class: "cell-sub" }, project.name || "")),
      h("td", {}, h("a", { href: `/tasks/${row.id}`, class: "task-link" }, row.title),
        row.round > 1 ? h("span", { class: "badge blue", style: "margin-left:6px" }, `第${row.round}轮`) : null,
        row.delegated_by ? h("span", { class: "cell-sub" }, `${row.delegated_by} 委派`) : null),
      h("td", {}, row.unit),
      h("td", {}, row.due_date ? fmtDate(row.due_date) : h("span", { class: "muted" }, "无期限"),
        row.due_provisional ? h("span", { class: "badge", style: "margin-left:6px", title: "当年放假安排未发布，期限为预估" }, "预估") : null),
      daysLeftCell(row),
      warningCell(row),
      h("td", {}, row.assignee ? row.assignee : h("span", { class: "muted" }, "未认领")),
      actionsCell(row));
  }));
}

function syncStages(rows) {
  rows.forEach((r) => r.stage && stages.add(r.stage));
  const current = stageSelect.value || wantedStage;
  stageSelect.replaceChildren(h("option", { value: "" }, "全部阶段"),
    ...[...stages].map((s) => h("option", { value: s, selected: s === current }, s)));
}

let first = true;
async function load() {
  const q = new URLSearchParams();
  const stage = first ? wantedStage : stageSelect.value;
  if (stage) q.set("stage", stage);
  if (mineBox.checked) q.set("mine", "true");
  q.set("sort", sortSelect.value);
  history.replaceState(null, "", `${location.pathname}?${q}`);
  try {
    if (first) {
      // The stage choices come from the unit's whole inbox, not only the filtered rows.
      syncStages(await api.get(`/api/tasks?sort=due`));
      first = false;
    }
    const rows = await api.get(`/api/tasks?${q}`);
    syncStages(rows);
    render(rows);
  } catch (e) {
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: 9, class: "empty" }, e.display || String(e))));
    if (e.status !== 403) fail(e);
  }
}

[stageSelect, sortSelect, mineBox].forEach((el) => el.addEventListener("change", load));
const flashed = takeFlash();
if (flashed) toast(flashed, "success");
load();
