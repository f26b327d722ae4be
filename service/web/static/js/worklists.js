// The 已办 and 我发起的 tables of the inbox (pages/inbox.js draws 待办 itself): their headings and
// rows, from GET /api/tasks/search?view=done|mine (docs/lists.md).
import { fmtDate, fmtTime, h, STATUS_LABELS } from "./api.js";
import { withdrawButton } from "./withdraw.js";

export const HEADS = {
  done: ["阶段", "项目", "任务", "办理单位", "办结时间", "结论", "项目进展"],
  mine: ["项目", "阶段", "当前步骤", "办理单位", "期限", "状态"],
};

function projectCell(p, id) {
  return h("td", {}, h("a", { href: `/projects/${id}` }, p.code || `项目 ${id}`), h("span", { class: "cell-sub" }, p.name || ""));
}

export function doneRow(row) {
  const p = row.project || {};
  return h("tr", { dataset: { taskId: row.id, task: row.task } },
    h("td", {}, row.stage),
    projectCell(p, row.project_id),
    h("td", {}, h("a", { href: `/tasks/${row.id}`, class: "task-link" }, row.title),
      row.round > 1 ? h("span", { class: "badge blue", style: "margin-left:6px" }, `第${row.round}轮`) : null,
      // 撤回 where the server's rule allows it (can_withdraw: the next step is untouched).
      row.can_withdraw ? withdrawButton(row, { small: true }) : null),
    h("td", {}, row.unit),
    h("td", {}, fmtTime(row.completed_at), row.late ? h("span", { class: "badge red", style: "margin-left:6px" }, "逾期办结") : null),
    h("td", { class: "decision" }, row.decision || h("span", { class: "muted" }, "已办结"),
      row.opinion ? h("span", { class: "cell-sub" }, row.opinion) : null),
    h("td", {}, p.stage || "", h("span", { class: "cell-sub" }, STATUS_LABELS[p.status] || p.status || "",
      p.outcome ? `（${p.outcome}）` : "")));
}

export function mineRow(p) {
  const steps = p.current_tasks || [];
  const list = (fn) => (steps.length ? h("ul", { class: "steps-list" }, steps.map((t) => h("li", {}, fn(t))))
    : h("span", { class: "muted" }, "—"));
  return h("tr", { dataset: { projectId: p.id }, class: steps.some((t) => t.overdue) ? "overdue" : "" },
    projectCell(p, p.id),
    h("td", {}, p.stage),
    h("td", { class: "steps" }, list((t) => h("a", { href: `/tasks/${t.id}` }, t.title))),
    h("td", { class: "acting" }, list((t) => t.unit)),
    h("td", {}, list((t) => (t.due_date ? `${fmtDate(t.due_date)}${t.due_provisional ? "（预估）" : ""}` : "无期限"))),
    h("td", {}, STATUS_LABELS[p.status] || p.status,
      p.suspension_label ? h("span", { class: "badge red suspension", style: "margin-left:4px" }, p.suspension_label) : null,
      p.outcome ? h("span", { class: "cell-sub" }, p.outcome) : null));
}

// "已提交：编制建设方案（DY2027-00001）。下一步：市财政局 预算评审，期限 2027-05-20" from the
// answer of POST /api/tasks/<id>/complete (`next`: the tasks it opened; dates are Beijing days).
export function submittedText(task, answer) {
  const head = `已提交：${task.title}（${(task.project || {}).code || ""}）`;
  const next = (answer && answer.next) || [];
  if (!next.length) return answer && answer.status && answer.status !== "active" ? `${head}。流程已结束` : head;
  return head + nextStepsText(next);
}

// "。下一步：市财政局 预算评审，期限 …；…" ("" when nothing opened).
export function nextStepsText(next) {
  if (!next || !next.length) return "";
  const steps = next.map((t) => `${t.unit} ${t.title}${t.due_date ? `，期限 ${fmtDate(t.due_date)}${t.due_provisional ? "（预估）" : ""}` : ""}`);
  return `。下一步：${steps.join("；")}`;
}
