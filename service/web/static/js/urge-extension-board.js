// 督办看板: 延期申请 (paged, approve / refuse dialogs) and 催办 counts per unit and task
// (docs/urge-and-extension.md). Started by pages/dashboard.js with the statistics period.
import { api, describe as errorText, fmtDate, fmtTime, h } from "./api.js";
import { pager } from "./pager.js";
import { decide } from "./deadline-actions.js";

const STATE_BADGE = { pending: "yellow", approved: "green", refused: "red" };

function emptyRow(tbody, cols, text) {
  tbody.replaceChildren(h("tr", {}, h("td", { colspan: cols, class: "empty" }, text)));
}

export function startUrgeExtensionBoard({ canWrite, period, onChange }) {
  const stateSelect = document.getElementById("ext-state");
  const extBody = document.querySelector("#ext-table tbody");
  let page = 1;
  const pages = pager((n) => { page = n; loadRequests(); });
  document.getElementById("ext-table").after(pages.el);

  async function loadRequests() {
    try {
      const r = await api.get(`/api/supervision/extension-requests?state=${stateSelect.value}&page=${page}&per_page=10`);
      if (r.page > 1 && !r.items.length && r.total) { page = 1; return loadRequests(); }
      pages.update(r);
      if (!r.items.length) return emptyRow(extBody, 7, stateSelect.value === "pending" ? "没有待审批的延期申请" : "没有记录");
      const changed = async () => { await loadRequests(); if (onChange) await onChange(); };
      extBody.replaceChildren(...r.items.map((x) => h("tr", { dataset: { requestId: x.id, taskId: x.work_item_id } },
        h("td", {}, h("a", { href: `/tasks/${x.work_item_id}` }, x.task_title),
          h("div", { class: "muted code" }, `${x.project.code} ${x.project.name}`)),
        h("td", {}, x.unit, h("div", { class: "muted" }, `${x.requested_by_name} · ${fmtTime(x.requested_at)}`)),
        h("td", { class: "num" }, String(x.days)),
        h("td", { class: "reason" }, x.reason),
        h("td", { class: "nowrap" }, fmtDate(x.current_due_date),
          x.new_due_date ? h("div", { class: "muted" }, `原 ${fmtDate(x.due_date)}`) : null),
        h("td", {}, h("span", { class: `badge ${STATE_BADGE[x.state] || ""}` }, x.state_label),
          x.decided_at ? h("div", { class: "muted" }, `${x.decided_by_name} · ${fmtTime(x.decided_at)}${x.decision_note ? `：${x.decision_note}` : ""}`) : null),
        h("td", {}, canWrite && x.state === "pending" && x.task_state === "open"
          ? h("div", { class: "actions" },
            h("button", { type: "button", class: "small primary", dataset: { act: "approve" }, onclick: () => decide(x, true, changed) }, "同意"),
            h("button", { type: "button", class: "small", dataset: { act: "refuse" }, onclick: () => decide(x, false, changed) }, "不同意"))
          : canWrite && x.state === "pending"
            ? h("button", { type: "button", class: "small", dataset: { act: "refuse" }, onclick: () => decide(x, false, changed) }, "不同意")
            : null))));
    } catch (e) {
      emptyRow(extBody, 7, errorText(e));
    }
  }

  async function loadUrges() {
    const unitBody = document.querySelector("#urge-unit-table tbody");
    const taskBody = document.querySelector("#urge-task-table tbody");
    try {
      const s = await api.get(`/api/supervision/urges/summary?${period()}`);
      document.getElementById("urge-total").textContent = `统计区间内共催办 ${s.total} 次`;
      if (!s.by_unit.length) emptyRow(unitBody, 3, "统计区间内没有催办");
      else unitBody.replaceChildren(...s.by_unit.map((u) => h("tr", { dataset: { unit: u.unit } },
        h("td", {}, u.unit), h("td", { class: "num urges" }, String(u.urges)), h("td", { class: "num" }, String(u.tasks)))));
      if (!s.tasks.length) emptyRow(taskBody, 5, "没有被催办的在办任务");
      else taskBody.replaceChildren(...s.tasks.map((t) => h("tr", { dataset: { taskId: t.work_item_id } },
        h("td", {}, h("a", { href: `/tasks/${t.work_item_id}` }, t.title)), h("td", {}, t.unit),
        h("td", { class: "nowrap" }, fmtDate(t.due_date)), h("td", { class: "num" }, String(t.urges)),
        h("td", { class: "nowrap" }, fmtTime(t.last_at)))));
    } catch (e) {
      emptyRow(unitBody, 3, errorText(e));
    }
  }

  stateSelect.addEventListener("change", () => { page = 1; loadRequests(); });
  return { load: () => Promise.all([loadRequests(), loadUrges()]), loadUrges };
}
