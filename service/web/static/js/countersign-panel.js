// 加签 (docs/approval-actions.md) on the task page and the inbox. The server decides who may add,
// sign or withdraw; these only offer what it would allow.
//
//   countersignCard(task, mayManage, reload) → the side card: signers, their state and opinions, 撤销
//   countersignButton(task, reload)         → the 加签 button opening the dialog (前/后, units/persons, note)
//   heldNotice(task)                         → "已提交，等待后加签：…" while a submission is held
//   countersignTodo(before)                  → 待我加签 card inserted before `before` (inbox)
import { api, describe, fail, fmtTime, h, toast } from "./api.js";
import { openDialog, person } from "./pages/dept-common.js";

const STATES = { open: "待签署", signed: "已签署", cancelled: "已撤销", closed: "已结束" };

function stateBadge(c) {
  const cls = c.state === "signed" ? (c.decision === "同意" ? "green" : "red") : c.state === "open" ? "yellow" : "";
  const text = c.state === "signed" ? c.decision : STATES[c.state] || c.state;
  return h("span", { class: `badge ${cls}` }, text);
}

export function heldNotice(task) {
  const hold = task.countersign_hold;
  if (!hold) return null;
  const waiting = (task.countersigns || []).filter((c) => c.kind === "after" && c.state === "open").map((c) => c.signer);
  return h("div", { class: "notice", role: "status", id: "countersign-held" },
    `${hold.held_by_name || hold.held_by} 已于 ${fmtTime(hold.held_at)} 提交，等待后加签：${waiting.join("、") || "—"}。全部签署后流程自动流转。`);
}

export function countersignCard(task, mayManage, reload) {
  const rows = task.countersigns || [];
  const list = h("ul", { class: "list-plain", id: "countersign-list" });
  if (!rows.length) list.append(h("li", { class: "muted" }, "暂无加签"));
  for (const c of rows) {
    const cancel = mayManage && c.state === "open"
      ? h("button", { type: "button", class: "small", dataset: { cancel: String(c.id) }, onclick: async () => {
        try {
          await api.post(`/api/countersigns/${c.id}/cancel`);
          toast(`已撤销对 ${c.signer} 的加签`, "success");
          reload();
        } catch (e) { fail(e); }
      } }, "撤销")
      : null;
    list.append(h("li", { dataset: { countersign: String(c.id) } },
      h("div", { class: "cs-head" }, h("span", { class: "badge blue" }, c.kind_label), h("strong", {}, c.signer), stateBadge(c), cancel),
      c.note ? h("div", { class: "cell-sub" }, `说明：${c.note}`) : null,
      c.state === "signed" ? h("div", { class: "cs-opinion" }, c.opinion) : null,
      h("span", { class: "cell-sub" }, c.state === "signed"
        ? `${person(c, "signed_by")} · ${fmtTime(c.signed_at)}`
        : `${person(c, "requested_by")} 加签于 ${fmtTime(c.created_at)}`)));
  }
  return h("section", { class: "card", id: "countersign-card" }, h("h2", {}, "加签"), list);
}

function signerRow(choices) {
  const select = h("select", { class: "cs-signer", name: "signer" }, h("option", { value: "" }, "请选择单位或人员"),
    h("optgroup", { label: "单位（本单位任何人可签）" }, choices.units.map((u) => h("option", { value: `unit:${u}` }, u))),
    h("optgroup", { label: "人员" }, choices.people.map((p) => h("option", { value: `user:${p.username}` }, `${p.display_name}（${p.unit}）`))));
  return h("div", { class: "cs-row" }, select);
}

export function countersignButton(task, reload) {
  return h("button", { type: "button", id: "countersign-add", onclick: async () => {
    let choices;
    try { choices = await api.get(`/api/tasks/${task.id}/countersign-candidates`); } catch (e) { fail(e); return; }
    const kind = h("select", { name: "kind", id: "countersign-kind" },
      h("option", { value: "before" }, "前加签：对方签署后我才能提交"),
      h("option", { value: "after" }, "后加签：我提交后由对方签署，再流转"));
    const rows = h("div", { id: "countersign-rows" }, signerRow(choices));
    const more = h("button", { type: "button", class: "small", onclick: () => rows.append(signerRow(choices)) }, "再加一位");
    const note = h("textarea", { name: "note", id: "countersign-note", maxlength: 500, rows: 3, placeholder: "请对方重点审核的内容（可选）" });
    openDialog({
      title: "加签",
      okText: "确认加签",
      body: h("div", {}, h("p", { class: "muted" }, "加签人的意见记入项目档案；本环节的决定仍由您作出。"),
        h("label", {}, "加签方式", kind), h("label", {}, "加签单位或人员"), rows, more, h("label", {}, "说明", note)),
      onOk: async () => {
        const signers = [...rows.querySelectorAll("select")].map((s) => s.value).filter(Boolean)
          .map((v) => (v.startsWith("unit:") ? { unit: v.slice(5) } : { user: v.slice(5) }));
        if (!signers.length) return "请选择至少一个加签单位或人员";
        try {
          const added = await api.post(`/api/tasks/${task.id}/countersigns`, { kind: kind.value, signers, note: note.value });
          toast(`已加签：${added.map((c) => c.signer).join("、")}`, "success");
        } catch (e) { return describe(e); }
        reload();
        return null;
      },
    });
  } }, "加签");
}

export async function countersignTodo(before) {
  let items;
  try { items = (await api.get("/api/countersigns")).items; } catch { return; }
  if (!items.length) return;
  const list = h("ul", { class: "list-plain", id: "countersign-todo" }, items.map((c) => h("li", {},
    h("div", { class: "cs-head" }, h("span", { class: "badge blue" }, c.kind_label),
      h("a", { href: `/countersigns/${c.id}` }, `${c.host.title} · ${c.host.project.code} ${c.host.project.name}`)),
    h("span", { class: "cell-sub" }, `${c.host.unit} ${person(c, "requested_by")} 请${c.signer}签署 · 主办期限 ${c.host.due_date || "无"}`))));
  before.after(h("section", { class: "card", id: "countersign-todo-card" }, h("h2", {}, `待我加签（${items.length}）`), list));
}
