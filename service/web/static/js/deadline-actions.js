// The task page's 催办与延期 card (docs/urge-and-extension.md): urges so far, 延期申请 with their
// decision and new due date, and the buttons the server says this user may use
// (GET /api/tasks/{id}/deadline-actions → may.urge / request_extension / extend / decide).
import { api, describe, fmtDate, fmtTime, h, toast } from "./api.js";
import { openDialog } from "./pages/dept-common.js";

const STATE_BADGE = { pending: "yellow", approved: "green", refused: "red" };

function requestItem(r, may, reload) {
  const facts = [`申请延期 ${r.days} 个工作日`, `申请时期限 ${fmtDate(r.due_date)}`];
  if (r.new_due_date) facts.push(`新期限 ${fmtDate(r.new_due_date)}`);
  const decision = r.decided_at
    ? h("span", { class: "cell-sub" }, `${r.decided_by_name || r.decided_by} · ${fmtTime(r.decided_at)}${r.decision_note ? `：${r.decision_note}` : ""}`)
    : null;
  const buttons = r.state === "pending" && may.decide
    ? h("div", { class: "actions" },
      h("button", { type: "button", class: "small primary", dataset: { act: "approve" }, onclick: () => decide(r, true, reload) }, "同意"),
      h("button", { type: "button", class: "small danger", dataset: { act: "refuse" }, onclick: () => decide(r, false, reload) }, "不同意"))
    : null;
  return h("li", { class: "ext-request", dataset: { state: r.state, id: r.id } },
    h("div", {},
      h("span", { class: `badge ${STATE_BADGE[r.state] || ""}` }, r.state_label),
      h("span", { class: "ext-facts" }, facts.join(" · ")),
      h("span", { class: "cell-sub pre" }, `理由：${r.reason}`),
      h("span", { class: "cell-sub" }, `${r.requested_by_name || r.requested_by} · ${fmtTime(r.requested_at)}`),
      decision, buttons));
}

export function decide(r, approve, reload) {
  const note = h("textarea", { name: "note", id: "ext-decision-note", maxlength: 2000, rows: 3,
    placeholder: approve ? "可填写审批意见" : "请说明不同意的理由" });
  openDialog({
    title: approve ? "同意延期申请" : "不同意延期申请",
    danger: !approve,
    okText: approve ? "同意延期" : "不同意",
    body: h("div", {},
      h("p", { class: "muted" }, `${r.unit || ""}申请延期 ${r.days} 个工作日：${r.reason}`),
      approve ? h("p", { class: "muted" }, "同意后办理期限按法定工作日顺延（节假日不计）。") : null,
      h("label", {}, h("span", {}, "审批意见", approve ? null : h("span", { class: "req" }, "*")), note)),
    onOk: async () => {
      if (!approve && !note.value.trim()) return "请填写不同意的理由";
      let out;
      try {
        out = await api.post(`/api/supervision/extension-requests/${r.id}/${approve ? "approve" : "refuse"}`, { note: note.value.trim() });
      } catch (e) { return describe(e); }
      toast(approve ? `已同意延期，新的办理期限为 ${fmtDate(out.new_due_date)}` : "已不同意该延期申请", "success");
      await reload();
      return null;
    },
  });
}

function urgeDialog(taskId, reload) {
  const note = h("textarea", { name: "note", id: "urge-note", maxlength: 500, rows: 3, placeholder: "可说明催办事由，例如：项目须在本月内完成评审" });
  openDialog({
    title: "催办",
    okText: "发送催办",
    body: h("div", {}, h("p", { class: "muted" }, "向办理单位发送站内消息和邮件提醒。每个任务每个工作日可催办一次。"),
      h("label", {}, "催办说明", note)),
    onOk: async () => {
      try {
        const r = await api.post(`/api/tasks/${taskId}/urge`, { note: note.value.trim() });
        toast(`已催办（该任务累计催办 ${r.count} 次）`, "success");
      } catch (e) { return describe(e); }
      await reload();
      return null;
    },
  });
}

function daysDialog({ title, help, max, okText, send, done }) {
  const days = h("input", { type: "number", name: "days", id: "ext-days", min: 1, max, value: 5, required: true, inputmode: "numeric" });
  const reason = h("textarea", { name: "reason", id: "ext-reason", maxlength: 2000, rows: 3, placeholder: "说明需要延期的原因" });
  openDialog({
    title,
    okText,
    body: h("div", {}, h("p", { class: "muted" }, help),
      h("label", {}, h("span", {}, "延长工作日数", h("span", { class: "req" }, "*")), days),
      h("label", {}, h("span", {}, "延期理由", h("span", { class: "req" }, "*")), reason)),
    onOk: async () => {
      const n = Number(days.value);
      if (!Number.isInteger(n) || n < 1 || n > max) return `延长工作日数应为 1–${max} 的整数`;
      if (!reason.value.trim()) return "请填写延期理由";
      try {
        await done(await send(n, reason.value.trim()));
      } catch (e) { return describe(e); }
      return null;
    },
  });
}

// A card for the task page's side column; `onDueChanged` reloads the page's task (new due date).
export function deadlineCard(taskId, onDueChanged) {
  const card = h("section", { class: "card", id: "deadline-card" }, h("h2", {}, "催办与延期"), h("p", { class: "muted" }, "正在加载…"));
  const reload = async () => { await paint(); };
  const changed = async () => { await onDueChanged(); };
  async function paint() {
    let info;
    try { info = await api.get(`/api/tasks/${taskId}/deadline-actions`); } catch { card.hidden = true; return; }
    const { may } = info;
    const urges = info.urges || [];
    const requests = info.extension_requests || [];
    if (!urges.length && !requests.length && !Object.values(may).some(Boolean)) { card.hidden = true; return; }
    card.hidden = false;
    const last = urges[urges.length - 1];
    const urgeLine = urges.length
      ? h("p", { id: "urge-summary" }, `已催办 ${urges.length} 次`,
        h("span", { class: "cell-sub" }, `最近：${last.by_unit || ""} ${last.by_user_name} · ${fmtTime(last.at)}${last.note ? `：${last.note}` : ""}`))
      : h("p", { class: "muted", id: "urge-summary" }, "尚未催办");
    const list = h("ul", { class: "list-plain", id: "ext-request-list" },
      requests.slice().reverse().map((r) => requestItem(r, may, changed)));
    if (!requests.length) list.append(h("li", { class: "muted" }, "暂无延期申请"));
    const bar = h("div", { class: "actions" });
    if (may.urge) bar.append(h("button", { type: "button", id: "urge-task", onclick: () => urgeDialog(taskId, reload) }, "催办"));
    if (may.request_extension) {
      bar.append(h("button", { type: "button", id: "request-extension", onclick: () => daysDialog({
        title: "申请延期", max: info.max_days, okText: "提交申请",
        help: `向督办人员申请延长办理期限（按法定工作日计，最多 ${info.max_days} 个工作日）。审批前期限不变。`,
        send: (n, why) => api.post(`/api/tasks/${taskId}/extension-requests`, { days: n, reason: why }),
        done: async () => { toast("延期申请已提交，等待督办人员审批", "success"); await reload(); },
      }) }, "申请延期"));
    }
    if (may.extend) {
      bar.append(h("button", { type: "button", id: "extend-task", onclick: () => daysDialog({
        title: "延期", max: 250, okText: "确认延期",
        help: "督办人员直接延长该任务的办理期限（按法定工作日计，节假日不计），未逾期的任务也可延期。",
        send: (n, why) => api.post(`/api/tasks/${taskId}/extend`, { working_days: n, reason: why }),
        done: async (r) => { toast(`已延期，新的办理期限为 ${fmtDate(r.due_date)}`, "success"); await changed(); },
      }) }, "延期"));
    }
    card.replaceChildren(h("h2", {}, "催办与延期"), urgeLine, h("h3", { class: "sub" }, "延期申请"), list);
    if (bar.childElementCount) card.append(bar);
  }
  paint();
  return card;
}
