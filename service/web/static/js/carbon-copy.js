// 抄送 (docs/approval-actions.md): the 抄送 button and dialog of the task and project pages, the
// banner a copy's recipient sees on the page it opens (?cc=ID, marked read on arrival), and the
// 抄送我的 rows of the inbox. The server decides who may send and read: the button appears only
// when GET /api/cc/recipients?task_id=|project_id= answers (it refuses as sending would).
import { api, describe, fmtTime, h, toast } from "./api.js";
import { openDialog } from "./pages/dept-common.js";

const who = (row) => row.sent_by_name || row.sent_by;

function checkList(items, name, label) {
  return h("div", { class: "cc-list", role: "group", "aria-label": label },
    items.map((it) => h("label", { class: "check cc-item", dataset: { value: it.value, search: it.search || it.text } },
      h("input", { type: "checkbox", name, value: it.value }), h("span", {}, it.text),
      it.sub ? h("span", { class: "cell-sub" }, it.sub) : null)));
}

function checked(box) {
  return [...box.querySelectorAll("input:checked")].map((i) => i.value);
}

function openCopyDialog(target, choices) {
  const units = checkList(choices.units.map((u) => ({ value: u, text: u })), "units", "抄送单位");
  const users = checkList(choices.users.map((u) => ({ value: u.username, text: u.display_name, sub: u.unit,
    search: `${u.display_name} ${u.unit}` })), "users", "抄送人员");
  const find = h("input", { type: "search", id: "cc-find", placeholder: "按姓名或单位查找", maxlength: 50 });
  find.addEventListener("input", () => {
    const text = find.value.trim();
    users.querySelectorAll(".cc-item").forEach((el) => { el.hidden = Boolean(text) && !el.dataset.search.includes(text); });
  });
  const note = h("textarea", { id: "cc-note", name: "note", maxlength: 500, rows: 3, placeholder: "抄送说明（选填，500 字以内）" });
  openDialog({
    title: target.task ? "抄送任务" : "抄送项目",
    okText: "抄送",
    body: h("div", { class: "cc-dialog" },
      h("p", { class: "muted" }, "抄送对象可只读查看", target.task ? "该任务和" : "", "项目档案，并收到站内消息。抄送给单位的，该单位全体人员可见。"),
      h("div", { class: "cc-field" }, h("span", { class: "cc-label" }, "抄送单位"), units),
      h("div", { class: "cc-field" }, h("span", { class: "cc-label" }, "抄送人员"), find, users),
      h("label", {}, "说明", note)),
    onOk: async () => {
      const body = { units: checked(units), users: checked(users), note: note.value.trim() };
      if (!body.units.length && !body.users.length) return "请至少选择一个单位或人员";
      try {
        const answer = await api.post(target.task ? `/api/tasks/${target.task}/cc` : `/api/projects/${target.project}/cc`, body);
        const names = answer.sent.map((c) => c.to_unit || c.to_user_name || c.to_user);
        toast(`已抄送：${names.join("、")}`, "success");
      } catch (e) { return describe(e); }
      return null;
    },
  });
}

// The 抄送 button, or nothing when the server would refuse this user (answers asynchronously:
// a placeholder span is returned at once and filled).
export function ccButton(target) {
  const slot = h("span", { class: "cc-slot" });
  const q = target.task ? `task_id=${target.task}` : `project_id=${target.project}`;
  api.get(`/api/cc/recipients?${q}`).then((choices) => {
    slot.replaceChildren(h("button", { type: "button", id: "cc-open", onclick: () => openCopyDialog(target, choices) }, "抄送"));
  }).catch(() => slot.remove());
  return slot;
}

// On a page opened from 抄送我的 (?cc=ID): who copied it, when, the note; marked read.
export function ccBanner() {
  const id = new URLSearchParams(location.search).get("cc");
  if (!id || !/^\d+$/.test(id)) return null;
  const box = h("div", { class: "notice cc-banner", id: "cc-banner", role: "status", hidden: true });
  api.get(`/api/cc/${id}`).then(async (c) => {
    box.hidden = false;
    box.append(h("strong", {}, "抄送"), ` ${who(c)} 于 ${fmtTime(c.sent_at)} 抄送给${c.to_unit || "您"}，仅供查看。`,
      c.note ? h("div", { class: "cc-note" }, c.note) : null);
    if (!c.read_at) {
      await api.post(`/api/cc/${id}/read`).catch(() => null);
      document.dispatchEvent(new CustomEvent("gf-unread-changed"));
    }
  }).catch(() => box.remove());
  return box;
}

export const CC_HEAD = ["项目", "抄送内容", "抄送人", "说明", "抄送时间", "状态"];

export function ccRow(row) {
  const p = row.project || {};
  const link = h("a", { href: row.path, class: "cc-link" }, row.task ? row.task.title : "项目档案");
  return h("tr", { class: row.read_at ? "" : "cc-unread", dataset: { ccId: row.id } },
    h("td", {}, h("a", { href: `/projects/${row.project_id}` }, p.code || `项目 ${row.project_id}`), h("span", { class: "cell-sub" }, p.name || "")),
    h("td", {}, link, row.task ? h("span", { class: "cell-sub" }, `${row.task.unit} · ${row.task.stage}`) : null),
    h("td", {}, who(row), row.to_unit ? h("span", { class: "cell-sub" }, `抄送${row.to_unit}`) : null),
    h("td", { class: "cc-note" }, row.note || h("span", { class: "muted" }, "—")),
    h("td", {}, fmtTime(row.sent_at)),
    h("td", {}, row.read_at ? h("span", { class: "muted" }, "已读") : h("span", { class: "badge blue" }, "未读")));
}
