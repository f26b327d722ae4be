// Shared by the department pages: who is signed in, the project history as a timeline, dialogs.
import { fmtDate, fmtTime, h } from "../api.js";
import { decisionText } from "../file-view.js";

export const WORKER_ROLES = ["department", "leader", "reviewer"];

export function currentUser() {
  const node = document.getElementById("me");
  const me = node ? JSON.parse(node.textContent || "{}") : {};
  me.roles = me.roles || [];
  me.isWorker = me.roles.some((r) => WORKER_ROLES.includes(r));
  // service.domain.visibility.READ_ALL_ROLES: 督办, 审计 and admins read every unit's work.
  me.readsAll = me.roles.some((r) => ["supervisor", "auditor", "admin"].includes(r));
  return me;
}

// The person behind a username field of an API row (`assignee` → `assignee_name`, docs/people.md).
export function person(row, key) {
  if (!row || !row[key]) return "";
  return row[`${key}_name`] || row[key];
}

// A message to show on the next page (a toast does not survive navigation).
export function flash(message) {
  try { sessionStorage.setItem("gf-flash", message); } catch { /* private mode */ }
}

export function takeFlash() {
  try {
    const m = sessionStorage.getItem("gf-flash");
    sessionStorage.removeItem("gf-flash");
    return m;
  } catch {
    return null;
  }
}

const ACTIONS = {
  project_declared: "申报项目",
  task_completed: "办结",
  task_sent_back: "退回",
  task_withdrawn: "流程撤回",
  task_taken_back: "撤回",
  task_claimed: "认领",
  task_unclaimed: "取消认领",
  task_reassigned: "转办",
  task_delegated: "委派",
  task_delegation_returned: "委派交回",
  opinion_added: "填写意见",
  attachment_added: "上传附件",
  annual_list_approved: "年度清单批准",
  budget_arranged_not_listed: "预算安排完成，未列入清单",
  process_ended: "流程结束",
  clock_paused: "补正暂停计时",
  clock_resumed: "恢复计时",
  deadline_extended: "延期",
  task_urged: "催办",
  extension_requested: "申请延期",
  extension_refused: "不同意延期申请",
  deadline_recomputed: "期限重算",
  rectification_opened: "整改开始",
  rectification_closed: "整改完成",
  instance_migrated: "流程版本迁移",
  timer_checked: "定时事件检查",
};

export const actionLabel = (action) => ACTIONS[action] || action;

// Task id → title, from whatever the project reports (history and task rows).
export function taskTitles(project) {
  const titles = {};
  for (const r of project.history || []) if (r.detail && r.detail.task && r.detail.title) titles[r.detail.task] = r.detail.title;
  for (const t of [...(project.completed_steps || []), ...(project.current_tasks || [])]) titles[t.task] = t.title;
  return titles;
}

// The project's history as a timeline: declared, each completed step (who, when, opinion, round),
// sends-back with their reason, opinions, hand-overs. Task openings are left out (the current
// tasks are listed separately) to keep it readable.
export function historyTimeline(project, { limit = 0, newestFirst = false } = {}) {
  const titles = taskTitles(project);
  const rounds = {};
  for (const t of [...(project.completed_steps || []), ...(project.current_tasks || [])]) rounds[t.id] = t.round;
  const decisions = {};
  for (const t of project.completed_steps || []) if ((t.decision || []).length) decisions[t.id] = decisionText(t.decision);
  const shown = new Set(["project_declared", "task_completed", "task_sent_back", "opinion_added", "task_reassigned",
    "task_delegated", "task_delegation_returned", "annual_list_approved", "budget_arranged_not_listed", "process_ended", "deadline_extended",
    "clock_paused", "clock_resumed", "rectification_opened", "rectification_closed", "task_withdrawn",
    "task_urged", "extension_requested", "extension_refused", "task_taken_back", "instance_migrated"]);
  let rows = (project.history || []).filter((r) => shown.has(r.action));
  if (newestFirst) rows = rows.slice().reverse();
  if (limit) rows = rows.slice(0, limit);
  if (!rows.length) return h("p", { class: "muted" }, "暂无办理记录");
  return h("ol", { class: "timeline" }, rows.map((r) => {
    const d = r.detail || {};
    const title = d.title || titles[d.task] || "";
    const round = r.work_item_id && rounds[r.work_item_id] > 1 ? ` · 第${rounds[r.work_item_id]}轮` : "";
    let what;
    let extra = null;
    switch (r.action) {
      case "project_declared":
        what = `申报项目${d.code ? ` ${d.code}` : ""}`;
        extra = d.process_version ? h("div", { class: "values" }, `流程版本 v${d.process_version}`) : null;
        break;
      case "task_completed":
        what = `${title}${round}`;
        // Each step's decision (结论, 入库, 审定投资概算 …) before its free-text opinion.
        extra = [decisions[r.work_item_id] ? h("div", { class: "decision" }, decisions[r.work_item_id]) : null,
          d.opinion ? h("div", { class: "opinion" }, d.opinion) : null];
        break;
      case "instance_migrated":
        // 实例迁移 (docs/instance-migration.md): the running project moved to another process version.
        what = `流程版本迁移：v${d.from_version} → v${d.to_version}`;
        break;
      case "task_taken_back":
        // 撤回 (docs/withdraw.md): the completer took the step back; the next tasks were cancelled.
        what = `撤回：${title}`;
        extra = (d.cancelled || []).length ? h("div", { class: "values" },
          `已取消：${d.cancelled.map((c) => `${c.unit} ${c.title}`).join("、")}`) : null;
        break;
      case "task_withdrawn":
        what = d.cause === "taken_back" ? `因撤回取消：${title}` : `${actionLabel(r.action)}${title ? `：${title}` : ""}`;
        break;
      case "task_sent_back":
        what = `${title || "任务"}：退回到“${titles[d.to] || d.to}”`;
        extra = d.reason ? h("div", { class: "opinion" }, `退回理由：${d.reason}`) : null;
        break;
      case "opinion_added":
        what = `意见（${title}）`;
        extra = d.text ? h("div", { class: "opinion" }, d.text) : null;
        break;
      case "task_reassigned":
      case "task_delegated":
      case "task_delegation_returned":
        what = `${title}：${actionLabel(r.action)}${d.to ? `给 ${r.to_name || d.to}` : ""}`;
        break;
      // 催办 and 延期申请 (docs/urge-and-extension.md): days, dates and reasons as recorded.
      case "task_urged":
        what = `催办：${title}`;
        extra = d.note ? h("div", { class: "opinion" }, d.note) : null;
        break;
      case "extension_requested":
        what = `${title}：申请延期${d.working_days ? ` ${d.working_days} 个工作日` : ""}`;
        extra = d.reason ? h("div", { class: "opinion" }, `延期理由：${d.reason}`) : null;
        break;
      case "deadline_extended":
        what = `${title}：${d.extension_request_id ? "同意延期申请，" : "延期"}${d.working_days ? `延长 ${d.working_days} 个工作日` : ""}`;
        extra = d.due_date ? h("div", { class: "values" },
          d.old_due_date ? `办理期限 ${fmtDate(d.old_due_date)} → ${fmtDate(d.due_date)}` : `新的办理期限 ${fmtDate(d.due_date)}`) : null;
        break;
      case "extension_refused":
        what = `${title}：不同意延期申请`;
        extra = d.note ? h("div", { class: "opinion" }, d.note) : null;
        break;
      default:
        what = `${actionLabel(r.action)}${title ? `：${title}` : ""}`;
    }
    const cls = r.action === "task_sent_back" ? "overdue" : "";
    return h("li", { class: cls, dataset: { action: r.action } },
      h("div", {}, h("span", { class: "what" }, what),
        d.unit ? h("span", { class: "tl-unit" }, d.unit) : null,
        d.late ? h("span", { class: "badge red", style: "margin-left:6px" }, "逾期办结") : null),
      h("div", { class: "when" }, `${fmtTime(r.at)} · ${person(r, "actor")}${r.on_behalf_of_name ? `（代 ${r.on_behalf_of_name}）` : ""}`),
      extra);
  }));
}

// `clock` (an inbox row) says whether the clock stands still: a paused task is never "逾期".
export function dueText(task, daysLeft, clock = null) {
  if (!task.due_date) return "无期限";
  let text = fmtDate(task.due_date) + (task.due_provisional ? "（预估）" : "");
  if (clock && clock.paused) return `${text}，${clock.clock_label || "已暂停计时"}`;
  if (daysLeft !== undefined && daysLeft !== null) {
    text += daysLeft < 0 ? `，已逾期 ${-daysLeft} 个工作日` : daysLeft === 0 ? "，今天到期" : `，剩余 ${daysLeft} 个工作日`;
  }
  return text;
}

// A modal dialog: fields are nodes; resolve(values) on 确定 unless validate() returns a message.
export function openDialog({ title, body, okText = "确定", danger = false, onOk }) {
  const error = h("p", { class: "form-error", hidden: true, role: "alert" });
  const ok = h("button", { type: "submit", class: danger ? "danger" : "primary" }, okText);
  const cancel = h("button", { type: "button" }, "取消");
  const form = h("form", { method: "dialog" }, h("h2", {}, title), body, error, h("div", { class: "actions" }, ok, cancel));
  const dialog = h("dialog", { class: "gf-dialog" }, form);
  document.body.append(dialog);
  const close = () => { dialog.close(); dialog.remove(); };
  cancel.addEventListener("click", close);
  dialog.addEventListener("cancel", () => dialog.remove());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    ok.disabled = true;
    try {
      const message = await onOk();
      if (message) {
        error.textContent = message;
        error.hidden = false;
      } else {
        close();
      }
    } finally {
      ok.disabled = false;
    }
  });
  dialog.showModal();
  return dialog;
}
