// 办理任务: the task's form (schema-form), its actions (提交, 认领, 转办, 委派, 交回, 退回, 意见),
// attachments and the project's history. Only the actions the server would allow are offered.
import { api, ApiError, describe, fail, fmtTime, h, pageData, toast } from "../api.js";
import { renderForm } from "../schema-form.js";
import { submittedText } from "../worklists.js";
import * as drafts from "../drafts.js";
import { taskFileSlots } from "../file-view.js";
import { countersignButton, countersignCard, heldNotice } from "../countersign-panel.js";
import { ccBanner, ccButton } from "../carbon-copy.js";
import { deadlineCard } from "../deadline-actions.js";
import { withdrawButton } from "../withdraw.js";
import { currentUser, dueText, flash, historyTimeline, openDialog, person, taskTitles } from "./dept-common.js";

const me = currentUser();
const { task_id: taskId } = pageData();
const root = document.getElementById("task-page");

let task;
let project = null;
let attachments = [];
let form;
let restored = null; // drafts.initialData: what the form starts with

function blocked(message, detail) {
  root.replaceChildren(h("div", { class: "card narrow" }, h("h1", {}, message),
    h("p", { class: "muted" }, detail), h("p", {}, h("a", { class: "button", href: "/inbox" }, "返回我的待办"))));
}

async function load() {
  try {
    task = await api.get(`/api/tasks/${taskId}`);
  } catch (e) {
    if (e.status === 404) return blocked("任务不存在或无权查看", "该任务可能属于其他单位，或已被删除。待办任务只对办理单位、建设单位和督办人员可见；已办结的任务对参与该项目的单位可见。");
    if (e.status === 403) return blocked("无权查看该任务", e.display);
    return blocked("任务加载失败", describe(e));
  }
  const [detail, files, row] = await Promise.all([
    api.get(`/api/projects/${task.project_id}`).catch(() => null),
    api.get(`/api/projects/${task.project_id}/attachments`).catch(() => []),
    api.get(`/api/tasks?project_id=${task.project_id}`).then((rows) => rows.find((r) => r.id === task.id)).catch(() => null),
  ]);
  project = detail;
  attachments = files || [];
  restored = await drafts.initialData(task, me, permissions().submit);
  render(row);
}

// What this user may do with this task (mirrors service.operations.tasks/_check_open and task_actions).
function permissions() {
  const mine = me.isWorker && me.unit === task.unit;
  const open = task.state === "open";
  const claimedByOther = Boolean(task.assignee) && task.assignee !== me.username;
  const delegatedToMe = Boolean(task.delegated_by) && task.assignee === me.username;
  const holder = mine && open && !claimedByOther;
  return {
    mine, open, claimedByOther, delegatedToMe,
    submit: holder && !delegatedToMe && Boolean(task.schema) && !task.countersign_hold,
    // 加签: not once a 后加签 submission is held (service.operations.countersign).
    countersign: holder && !delegatedToMe && !task.countersign_hold,
    claim: mine && open && !task.assignee,
    unclaim: holder && task.assignee === me.username && !task.delegated_by,
    assign: holder && !delegatedToMe,
    giveBack: holder && delegatedToMe,
    sendBack: holder && (task.send_back_to || []).length > 0,
    opinion: mine && open,
    upload: mine && open,
  };
}

function notices(p) {
  const out = [];
  if (task.state === "completed") out.push(["", `该任务已于 ${fmtTime(task.completed_at)} 由 ${person(task, "completed_by") || "—"} 办结，以下为提交的内容。`]);
  else if (task.state === "cancelled") out.push(["warn", "该任务已被退回或由流程撤回，无需办理。"]);
  else if (!me.isWorker) out.push(["", "您当前的角色只能查看，不能办理任务。"]);
  else if (!p.mine) out.push(["", `该任务由${task.unit}办理，您只能查看。`]);
  else if (p.claimedByOther && task.delegated_by === me.username) out.push(["", `该任务已委派给 ${person(task, "assignee")}，办理后由其交回您提交。`]);
  else if (p.claimedByOther) out.push(["warn", `该任务已由 ${person(task, "assignee")} 认领，其他人不能办理。`]);
  else if (p.delegatedToMe) out.push(["", `该任务由 ${person(task, "delegated_by")} 委派给您：请填写并保存意见，完成后点击“交回”，由委派人提交。`]);
  return out.map(([kind, text]) => h("div", { class: `notice ${kind}`, role: "status" }, text));
}

// 会签 / 或签 / 依次 (GET /api/tasks/{id} `approval`, counted on the server): mode and progress.
function approvalLine() {
  const a = task.approval;
  if (!a) return null;
  const hint = { all: "须全部同意；任一单位有异议即结束，退回牵头单位修改", sequential: "逐家办理；任一单位有异议即结束，退回牵头单位修改",
    any: "任一单位作出决定后，其余单位的任务自动撤销", ratio: "达到比例即通过，其余单位的任务自动撤销；无法达到比例即退回牵头单位修改" };
  return h("div", { class: "notice", id: "approval-progress", role: "status" }, h("strong", {}, a.summary),
    h("div", { class: "cell-sub" }, hint[a.mode.split(":")[0]] || ""));
}

function render(row) {
  const p = permissions();
  const titles = project ? taskTitles(project) : {};
  const proj = task.project || {};
  const head = h("div", { class: "page-head" },
    h("div", {},
      h("h1", {}, task.title, task.round > 1 ? h("span", { class: "badge blue", style: "margin-left:8px;vertical-align:3px" }, `第${task.round}轮`) : null),
      h("div", { class: "subtitle" },
        h("span", {}, "项目：", h("a", { href: `/projects/${task.project_id}` }, `${proj.code || ""} ${proj.name || ""}`)),
        h("span", {}, `阶段：${task.stage}`),
        h("span", {}, `办理单位：${task.unit}`),
        h("span", { class: row && !row.paused && row.working_days_left < 0 ? "days-left overdue" : "", id: "task-due" },
          `期限：${dueText(task, row ? row.working_days_left : null, row)}`),
        row && row.paused ? h("span", { class: "badge blue", id: "task-paused" }, project && project.suspension_label ? project.suspension_label : "补正中") : null,
        row && row.warning ? h("span", { class: `badge ${row.warning === "red" ? "red" : "yellow"}` }, row.warning === "red" ? "红牌" : "黄牌") : null,
        task.assignee ? h("span", { id: "task-assignee" }, `认领人：${person(task, "assignee")}`) : null)),
    h("div", { class: "actions" }, ccButton({ task: task.id }), h("a", { class: "button", href: "/inbox" }, "返回待办")));

  const formBox = h("div", { id: "task-form" });
  // 暂停建设 / 暂停运行 (第十四条, 第二十六条): said before the form, which the server would refuse anyway.
  const suspended = project && project.suspension_label && task.state === "open"
    ? h("div", { class: "notice error", id: "task-suspended", role: "status" },
      `项目已${project.suspension_label}（${project.suspension === "operation" ? "第二十六条" : "第十四条"}），本任务暂停办理、停止计时，待市大数据局恢复后再提交。`)
    : null;
  const main = h("section", { class: "card" }, suspended, ...notices(p), heldNotice(task), approvalLine(), formBox);
  if (!task.schema) formBox.append(h("p", { class: "muted" }, "该任务没有表单。"));
  else {
    const held = task.countersign_hold ? task.countersign_hold.data : null;
    form = renderForm(formBox, task.schema, held || (restored ? restored.data : task.data || {}), {
      readOnly: !p.submit, projectId: task.project_id, workItemId: task.id, attachments,
      onUpload: (att) => { attachments.push(att); paintAttachments(); },
    });
  }

  const bar = h("div", { class: "sticky-actions", id: "task-actions" });
  if (p.submit) bar.append(h("button", { type: "button", class: "primary", id: "submit-task", onclick: submit }, "提交"));
  if (p.claim) bar.append(h("button", { type: "button", onclick: () => simple("claim", "已认领") }, "认领"));
  if (p.unclaim) bar.append(h("button", { type: "button", onclick: () => simple("unclaim", "已取消认领") }, "取消认领"));
  if (p.assign) {
    bar.append(h("button", { type: "button", onclick: () => assign("reassign") }, "转办"));
    bar.append(h("button", { type: "button", onclick: () => assign("delegate") }, "委派"));
  }
  if (p.countersign) bar.append(countersignButton(task, load));
  if (p.giveBack) bar.append(h("button", { type: "button", class: "primary", onclick: () => simple("return", "已交回委派人", true) }, "交回"));
  if (p.sendBack) bar.append(h("span", { class: "spacer" }), h("button", { type: "button", class: "danger", id: "send-back", onclick: () => sendBack(titles) }, "退回"));
  // 撤回: the server's own rule decides (can_withdraw); a completed step's read-only view offers it.
  if (task.can_withdraw) bar.append(withdrawButton(task));
  drafts.attach({ task, form, box: main, bar, me, restored, editable: p.submit });
  if (bar.childElementCount) main.append(bar);

  const side = h("aside", { class: "side" },
    // 催办, 延期申请 and 延期 (docs/urge-and-extension.md); a decision that moves the due date reloads the task.
    deadlineCard(task.id, load), countersignCard(task, p.countersign || Boolean(task.countersign_hold && p.mine && !p.claimedByOther), load),
    opinionsCard(p), attachmentsCard(p),
    h("section", { class: "card" }, h("h2", {}, "办理历程", h("a", { href: `/projects/${task.project_id}`, style: "font-size:12px;font-weight:normal" }, "项目详情")),
      project ? historyTimeline(project, { newestFirst: true }) : h("p", { class: "muted" }, "无权查看该项目的历程")));

  // The project file (docs/project-file.md): branches to consolidate above the form, earlier steps below.
  const file = taskFileSlots(task.id);
  root.replaceChildren(head, ccBanner() || "", h("div", { class: "grid two" }, h("div", {}, file.branches, main, file.steps), side));
  paintAttachments();
}

function opinionsCard(p) {
  const list = h("ul", { class: "list-plain", id: "opinion-list" });
  const paint = () => {
    list.replaceChildren(...(task.opinions || []).map((o) => h("li", {},
      h("div", {}, h("div", { style: "white-space:pre-wrap" }, o.text), h("span", { class: "cell-sub" }, `${person(o, "author")} · ${fmtTime(o.at)}`)))));
    if (!(task.opinions || []).length) list.append(h("li", { class: "muted" }, "暂无意见"));
  };
  paint();
  const card = h("section", { class: "card" }, h("h2", {}, "办理意见"), list);
  if (p.opinion) {
    const text = h("textarea", { id: "opinion-text", maxlength: 2000, rows: 3, placeholder: "填写办理意见，保存后记入项目档案" });
    const save = h("button", { type: "button", id: "save-opinion", onclick: async () => {
      if (!text.value.trim()) { toast("请先填写意见", "error"); text.focus(); return; }
      save.disabled = true;
      try {
        const saved = await api.post(`/api/tasks/${task.id}/opinions`, { text: text.value });
        task.opinions = [...(task.opinions || []), saved];
        text.value = "";
        paint();
        toast("意见已保存", "success");
      } catch (e) { fail(e); } finally { save.disabled = false; }
    } }, "保存意见");
    card.append(h("div", { style: "margin-top:8px" }, text, h("div", { class: "actions", style: "margin-top:6px" }, save)));
  }
  return card;
}

let attachmentList;
function attachmentsCard(p) {
  attachmentList = h("ul", { class: "list-plain", id: "attachment-list" });
  const card = h("section", { class: "card" }, h("h2", {}, "项目附件"), attachmentList);
  if (p.upload) {
    const input = h("input", { type: "file", id: "attachment-upload" });
    input.addEventListener("change", async () => {
      const file = input.files && input.files[0];
      if (!file) return;
      const body = new FormData();
      body.append("file", file);
      body.append("work_item_id", String(task.id));
      input.disabled = true;
      try {
        attachments.push(await api.upload(`/api/projects/${task.project_id}/attachments`, body));
        paintAttachments();
        toast(`已上传：${file.name}`, "success");
      } catch (e) { fail(e); } finally { input.disabled = false; input.value = ""; }
    });
    card.append(h("label", { class: "muted", style: "margin-top:8px;font-size:12px" }, "上传附件（单个文件不超过 20 MB）", input));
  }
  return card;
}

function paintAttachments() {
  if (!attachmentList) return;
  attachmentList.replaceChildren(...attachments.map((a) => h("li", {},
    h("a", { href: `/api/attachments/${a.id}` }, a.filename),
    h("span", { class: "cell-sub" }, `${Math.max(1, Math.round(a.size / 1024))} KB · ${person(a, "uploaded_by")} · ${fmtTime(a.uploaded_at)}`))));
  if (!attachments.length) attachmentList.append(h("li", { class: "muted" }, "暂无附件"));
}

async function submit() {
  const button = document.getElementById("submit-task");
  form.clearErrors();
  button.disabled = true;
  button.textContent = "正在提交…";
  try {
    const answer = await api.post(`/api/tasks/${task.id}/complete`, { data: form.getData() });
    drafts.leaving();
    if (answer.held) {
      // 后加签: kept until the added signers have signed; the page shows who is awaited.
      toast("已提交，等待后加签签署后自动流转", "success");
      await load();
      return;
    }
    flash(submittedText(task, answer));
    location.href = "/inbox";
  } catch (e) {
    button.disabled = false;
    button.textContent = "提交";
    if (e instanceof ApiError && e.status === 422) {
      form.showErrors(e);
      toast(e.errors.length ? `${e.summary}：共 ${e.errors.length} 处需要修改` : e.display, "error");
    } else {
      fail(e);
      if (e.status === 409) load();
    }
  }
}

async function simple(action, done, leave = false) {
  try {
    await api.post(`/api/tasks/${task.id}/${action}`);
    if (leave) { flash(done); drafts.leaving(); location.href = "/inbox"; return; }
    toast(done, "success");
    await load();
  } catch (e) { fail(e); }
}

async function assign(action) {
  let users = [];
  // Only the people the server would accept (GET …/candidates: the task unit's active members).
  try { users = await api.get(`/api/tasks/${task.id}/candidates`); } catch (e) { fail(e); return; }
  const label = action === "reassign" ? "转办" : "委派";
  if (!users.length) { toast(`本单位没有其他用户可以${label}`, "error"); return; }
  const select = h("select", { name: "user", id: "assign-user" }, h("option", { value: "" }, "请选择"),
    users.map((u) => h("option", { value: u.username }, u.display_name || u.username)));
  const help = action === "reassign" ? "转办后任务交由对方办理，您不再负责。" : "委派后由对方填写，办理完毕交回您提交。";
  openDialog({
    title: `${label}任务`,
    body: h("div", {}, h("p", { class: "muted" }, help), h("label", {}, `${label}给`, select)),
    okText: label,
    onOk: async () => {
      if (!select.value) return "请选择用户";
      try {
        await api.post(`/api/tasks/${task.id}/${action}`, { user: select.value });
      } catch (e) { return describe(e); }
      flash(`已${label}给 ${select.selectedOptions[0].textContent}：${task.title}`);
      drafts.leaving();
      location.href = "/inbox";
      return null;
    },
  });
}

function sendBack(titles) {
  const targets = task.send_back_to || [];
  const select = h("select", { name: "to_task", id: "send-back-to" },
    targets.length > 1 ? h("option", { value: "" }, "请选择") : null,
    targets.map((t) => h("option", { value: t }, titles[t] || t)));
  const reason = h("textarea", { name: "reason", id: "send-back-reason", maxlength: 2000, rows: 4, placeholder: "说明需要修改或补充的内容" });
  openDialog({
    title: "退回",
    danger: true,
    okText: "确认退回",
    body: h("div", {}, h("p", { class: "muted" }, "退回后该步骤重新办理，期限重新计算。退回理由将记入项目档案。"),
      h("label", {}, "退回到", select), h("label", {}, h("span", {}, "退回理由", h("span", { class: "req" }, "*")), reason)),
    onOk: async () => {
      if (!select.value) return "请选择退回到哪一步";
      if (!reason.value.trim()) return "请填写退回理由";
      try {
        await api.post(`/api/tasks/${task.id}/send-back`, { to_task: select.value, reason: reason.value.trim() });
      } catch (e) { return describe(e); }
      flash(`已退回到“${titles[select.value] || select.value}”`);
      drafts.leaving();
      location.href = "/inbox";
      return null;
    },
  });
}

load();
