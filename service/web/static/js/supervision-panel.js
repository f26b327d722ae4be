// 监管措施 on the project page (docs/supervision-measures.md): the 暂停建设/暂停运行 banner with 恢复
// (市大数据局), the record of measures (第十四、十五、二十二、二十六条) and, for the body the text names,
// a form to record 注销 / 归并整合 / 不予安排运维经费 / 暂停运行并限期整改. Everything goes through /api.
import { api, describe, fmtDate, fmtMoney, fmtTime, h, toast } from "./api.js";

const KIND_LABELS = {
  deregister: "注销（第二十二条）",
  merge: "归并整合（第二十二条）",
  om_funding_withheld: "不予安排后续运行维护经费（第二十六条）",
  operation_suspended: "暂停运行并限期整改（第二十六条）",
};
const USAGE = ["不再使用", "使用率较低"];
const GROUNDS = ["未按要求汇聚并更新数据资源", "不符合密码应用要求", "不符合网络安全要求"];

// The open suspension, above everything else on the page: tasks stand still until 恢复.
export function suspensionBanner(p, reload) {
  const open = (p.suspensions || []).find((s) => s.open);
  if (!p.suspension || !open) return null;
  const note = h("textarea", { id: "resume-note", rows: "2", maxlength: "2000", placeholder: "恢复说明（可选）" });
  const button = h("button", { type: "button", class: "button primary", id: "resume-project" }, p.suspension === "operation" ? "恢复运行" : "恢复建设");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const r = await api.post(`/api/projects/${p.id}/resume`, { note: note.value });
      toast(`已恢复，计时顺延 ${r.paused_working_days} 个工作日`, "success");
      reload();
    } catch (e) {
      toast(describe(e), "error");
      button.disabled = false;
    }
  });
  return h("section", { class: "card suspension-banner", id: "suspension-banner", role: "status" },
    h("h2", {}, `项目已${open.label}（${open.article}）`),
    h("p", {}, open.reason),
    h("p", { class: "muted" }, `${open.suspended_by_name || open.suspended_by} · ${fmtTime(open.suspended_at)}；待办任务暂停办理，办理时限停止计时，由市大数据局恢复。`),
    p.can_resume ? h("div", { class: "stack" }, note, h("div", { class: "actions" }, button)) : null);
}

function detailText(a) {
  const d = a.detail || {};
  const parts = [];
  if (d.usage) parts.push(`使用情况：${d.usage}`);
  if (d.proposal) parts.push(`处理意见：${d.proposal}`);
  if (d.merged_into) parts.push(`归并整合至：${d.merged_into}`);
  if (d.grounds) parts.push(`情形：${d.grounds.join("、")}`);
  if (d.from_year) parts.push(`自 ${d.from_year} 年度起`);
  if (d.amount !== undefined && d.amount !== null && a.kind !== "termination_after_q3") parts.push(`金额：${fmtMoney(d.amount)}`);
  if (d.budget_adjustment_amount !== undefined && d.budget_adjustment_amount !== null) parts.push(`预算调整：${fmtMoney(d.budget_adjustment_amount)}`);
  if (d.hazard) parts.push(`隐患：${d.hazard}`);
  if (d.due_date) parts.push(`整改期限：${fmtDate(d.due_date)}`);
  return parts.join("；");
}

function history(p) {
  const rows = [
    ...(p.suspensions || []).map((s) => ({ at: s.suspended_at, label: s.label, article: s.article, by: s.suspended_by_name || s.suspended_by,
      text: s.reason + (s.resumed_at ? `（${fmtTime(s.resumed_at)} 由 ${s.resumed_by_name || s.resumed_by} 恢复，顺延 ${s.paused_working_days} 个工作日）` : "（暂停中）") })),
    ...(p.supervision_actions || []).map((a) => ({ at: a.decided_at, label: a.label, article: a.article, by: `${a.authority} ${a.decided_by_name}`,
      text: [a.reason, detailText(a), a.rectification ? `整改 #${a.rectification.id}${a.rectification.closed ? "（已完成）" : "（整改中）"}` : ""].filter(Boolean).join("；") })),
  ].sort((x, y) => (x.at < y.at ? 1 : -1));
  if (!rows.length) return h("p", { class: "muted", id: "supervision-empty" }, "暂无监管措施");
  return h("ul", { class: "list-plain", id: "supervision-list" }, rows.map((r) => h("li", {},
    h("strong", {}, r.label), h("span", { class: "badge", style: "margin-left:6px" }, r.article),
    h("div", {}, r.text), h("span", { class: "cell-sub" }, `${r.by} · ${fmtTime(r.at)}`))));
}

function field(label, input) {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

function recordForm(p, reload) {
  if (!(p.can_record || []).length) return null;
  const kind = h("select", { id: "measure-kind" }, p.can_record.map((k) => h("option", { value: k }, KIND_LABELS[k] || k)));
  const reason = h("textarea", { id: "measure-reason", rows: "2", maxlength: "2000" });
  const usage = h("select", { id: "measure-usage" }, USAGE.map((u) => h("option", { value: u }, u)));
  const proposal = h("textarea", { id: "measure-proposal", rows: "2", maxlength: "2000" });
  const merged = h("input", { id: "measure-merged-into", maxlength: "200" });
  const grounds = GROUNDS.map((g) => h("input", { type: "checkbox", value: g }));
  const year = h("input", { id: "measure-from-year", type: "number", min: "2024", max: "2100", value: String(new Date().getFullYear() + 1) });
  const amount = h("input", { id: "measure-amount", type: "number", min: "0", step: "0.01" });
  const hazard = h("textarea", { id: "measure-hazard", rows: "2", maxlength: "2000" });
  const due = h("input", { id: "measure-due-date", type: "date" });
  const groups = {
    deregister: [field("系统使用情况", usage), field("建设单位处理意见", proposal)],
    merge: [field("系统使用情况", usage), field("建设单位处理意见", proposal), field("归并整合至", merged)],
    om_funding_withheld: [h("fieldset", { class: "field" }, h("legend", {}, "情形"), grounds.map((c) => h("label", { class: "check" }, c, c.value))),
      field("起始预算年度", year), field("不予安排的运维经费（万元，可选）", amount)],
    operation_suspended: [field("重大安全隐患", hazard), field("整改期限", due)],
  };
  const extra = h("div", { class: "stack" });
  const show = () => extra.replaceChildren(...(groups[kind.value] || []));
  kind.addEventListener("change", show);
  show();
  const submit = h("button", { type: "submit", class: "button primary", id: "measure-submit" }, "记录监管措施");
  const form = h("form", { class: "stack", id: "measure-form" }, field("监管措施", kind), field("决定理由", reason), extra,
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { kind: kind.value, reason: reason.value };
    if (kind.value === "deregister" || kind.value === "merge") Object.assign(body, { usage: usage.value, proposal: proposal.value });
    if (kind.value === "merge") body.merged_into = merged.value;
    if (kind.value === "om_funding_withheld") {
      Object.assign(body, { grounds: grounds.filter((c) => c.checked).map((c) => c.value), from_year: Number(year.value) });
      if (amount.value !== "") body.amount = Number(amount.value);
    }
    if (kind.value === "operation_suspended") Object.assign(body, { hazard: hazard.value, due_date: due.value });
    submit.disabled = true;
    try {
      await api.post(`/api/projects/${p.id}/supervision-actions`, body);
      toast("监管措施已记录", "success");
      reload();
    } catch (e) {
      toast(describe(e), "error");
      submit.disabled = false;
    }
  });
  return h("details", { id: "measure-details" }, h("summary", {}, "记录监管措施"), form);
}

export function supervisionCard(p, reload) {
  return h("section", { class: "card", id: "supervision-card" }, h("h2", {}, "监管措施"), history(p), recordForm(p, reload));
}
