// 消息: the unit's in-app reminders and escalations; marking them read.
import { api, describe, fail, fmtTime, h } from "../api.js";
import { newestOnly, onSearch, pager } from "../pager.js";

const list = document.getElementById("messages");
const count = document.getElementById("msg-count");
const unread = document.getElementById("f-unread");
const kind = document.getElementById("f-kind");
const readAll = document.getElementById("read-all");
const KINDS = { remind_before: "办理提醒", remind_due: "到期提醒", escalation: "督办", late_filing: "逾期备案", urge: "催办",
  extension_requested: "延期申请", extension_decided: "延期申请结果", cc: "抄送", withdrawn: "撤回",
  approval_closed: "审批已结束", approval_objected: "参建单位异议", countersign: "加签", substitute: "代理", annual_list: "年度清单" };
const LEVELS = { 1: "一级督办", 2: "二级督办", 3: "三级督办" };

let rows = [];
let total = 0;
let unreadTotal = 0;
let page = 1;
const searchBox = document.getElementById("f-q");
const pages = pager((n) => { page = n; load(); });
document.getElementById("msg-pager").append(pages.el);

async function markRead(ids) {
  try {
    for (const id of ids) await api.post(`/api/notifications/${id}/read`);
  } catch (e) { fail(e); }
  document.dispatchEvent(new CustomEvent("gf-unread-changed"));
  await load();
}

function render() {
  const unreadRows = rows.filter((n) => !n.read_at);
  count.textContent = total ? `共 ${total} 条，未读 ${unreadTotal} 条` : "";
  readAll.hidden = unreadRows.length === 0;
  if (!rows.length) {
    list.replaceChildren(h("p", { class: "empty" }, searchBox.value.trim() ? "没有符合条件的消息"
      : unread.value ? "没有未读消息" : "暂无消息"));
    return;
  }
  list.replaceChildren(...rows.map((n) => h("article", { class: `msg${n.read_at ? "" : " unread"}`, dataset: { id: n.id } },
    h("div", { class: "msg-head" },
      h("span", {},
        h("span", { class: `badge ${n.kind === "escalation" ? "red" : "yellow"}`, style: "margin-right:8px" },
          n.kind === "escalation" ? (LEVELS[n.level] || "督办") : (KINDS[n.kind] || n.kind)),
        n.work_item_id ? h("a", { class: "msg-subject", href: `/tasks/${n.work_item_id}` }, n.task_title || n.subject)
          : h("span", { class: "msg-subject" }, n.subject)),
      h("span", { class: "muted" }, fmtTime(n.created_at))),
    // Short: the task, its project and its due day; the e-mail's full text is not repeated here.
    h("div", { class: "msg-body" }, n.text || n.subject),
    h("div", { class: "msg-foot" },
      // 抄送 opens the copy read-only (its banner marks it read); the others are work to do.
      n.kind === "cc" && n.link ? h("a", { href: n.link }, "查看抄送")
        : n.work_item_id ? h("a", { href: `/tasks/${n.work_item_id}` }, "办理任务") : null,
      n.project_id ? h("a", { href: `/projects/${n.project_id}` }, "查看项目") : null,
      n.read_at ? h("span", { class: "muted" }, `已读 · ${n.read_by || ""} ${fmtTime(n.read_at)}`)
        : h("button", { type: "button", class: "mark-read", onclick: () => markRead([n.id]) }, "标为已读")))));
}

const loads = newestOnly();
async function load() {
  const q = new URLSearchParams();
  if (unread.value) q.set("unread", "true");
  if (kind.value) q.set("kind", kind.value);
  if (searchBox.value.trim()) q.set("q", searchBox.value.trim());
  q.set("page", String(page));
  const current = loads.next();
  try {
    const [result, counted] = await Promise.all([api.get(`/api/notifications/search?${q}&per_page=20`),
      api.get("/api/notifications/unread-count")]);
    if (!current()) return;
    if (result.page > 1 && !result.items.length && result.total) { page = 1; load(); return; }
    rows = result.items;
    total = result.total;
    unreadTotal = counted.unread;
    pages.update(result);
    render();
  } catch (e) {
    if (!current()) return;
    list.replaceChildren(h("p", { class: "empty" }, describe(e)));
  }
}

const reload = () => { page = 1; load(); };
unread.addEventListener("change", reload);
kind.addEventListener("change", reload);
onSearch(searchBox, reload);
readAll.addEventListener("click", () => markRead(rows.filter((n) => !n.read_at).map((n) => n.id)));
load();
