// 暂存 on the task page: typed work is never lost (docs/drafts.md). What the form starts with
// (a draft saved on the server, what was typed before the session expired, or the previous round
// of a task sent back), the 暂存 button and autosave, the warning before leaving with unsaved
// changes, and the 退回 reason at the top.
import { api, fail, fmtTime, h, toast } from "./api.js";
import { openDialog } from "./pages/dept-common.js";

const AUTOSAVE_MS = 3000;
const stashKey = (taskId) => `govflow:unsaved:${taskId}`;

// One task page at a time; the page re-renders (after 认领 …) and attaches again.
const state = { task: null, form: null, user: null, saved: null, timer: null, leaving: false, status: null, saving: null };

const snapshot = (form) => JSON.stringify(form.getData() ?? {});
const dirty = () => Boolean(state.form) && !state.leaving && snapshot(state.form) !== state.saved;

function readStash(taskId) {
  try { return JSON.parse(sessionStorage.getItem(stashKey(taskId)) || "null"); } catch { return null; }
}

// What the form starts with, in this order: what this tab typed before its session expired, the
// user's server draft, the unsaved state of this page being re-rendered, the previous round's
// submission (round 2 after 退回), the task's own data.
export async function initialData(task, me, editable) {
  const base = { data: task.data || {}, notice: null, stashed: false };
  const stash = readStash(task.id);
  if (stash && (!editable || stash.user !== me.username)) sessionStorage.removeItem(stashKey(task.id));
  if (!editable) return base;
  if (stash && stash.user === me.username) {
    return { data: stash.data || {}, stashed: true,
      notice: `已恢复 ${fmtTime(stash.at)} 登录过期前填写的内容` };
  }
  if (state.task && state.task.id === task.id && dirty()) {
    return { data: state.form.getData(), notice: null, stashed: false };
  }
  let draft = null;
  try { draft = (await api.get(`/api/tasks/${task.id}/draft`)).draft; } catch { /* offered anyway below */ }
  if (draft) {
    return { data: draft.data || {}, notice: `已恢复 ${fmtTime(draft.updated_at)} 暂存的内容`, stashed: false,
      fromDraft: true };
  }
  const prev = task.previous_round;
  if (prev) {
    // A field prefilled from an earlier step (x-prefill) that was done again since this task's
    // last round (修改后重审: a revised plan) takes the new figure; otherwise what the user
    // submitted last round stands.
    const since = Date.parse(prev.completed_at || "") || 0;
    const prefilled = Object.fromEntries(Object.entries(task.prefill || {})
      .filter(([, v]) => (Date.parse(v.completed_at || "") || 0) > since).map(([k, v]) => [k, v.value]));
    return { data: { ...(prev.data || {}), ...prefilled }, stashed: false,
      notice: `已带入第${prev.round}轮提交的内容和附件（${fmtTime(prev.completed_at)}），请按退回意见修改后重新提交` };
  }
  return base;
}

function returnedBanner(task) {
  const back = task.returned;
  if (!back || task.state !== "open") return null;
  const who = [back.unit, back.from_task].filter(Boolean).join(" · ");
  return h("div", { class: "notice warn", id: "returned-reason", role: "status" },
    h("strong", {}, { send_back: "退回原因：", objection: "参建单位异议：" }[back.kind] || "返回修改意见："),
    back.reason || "（未填写理由）",
    h("div", { class: "cell-sub" }, `${who}${who ? " · " : ""}${fmtTime(back.at)}`));
}

function paintStatus(text) {
  if (state.status) state.status.textContent = text;
}

async function save({ quiet }) {
  const { task, form } = state;
  if (!task || !form || state.leaving) return;
  const body = form.getData() ?? {};
  const shot = JSON.stringify(body);
  if (quiet && shot === state.saved) return;
  clearTimeout(state.timer);
  state.saving = (async () => {
    try {
      const saved = await api.put(`/api/tasks/${task.id}/draft`, { data: body });
      if (state.task === task) state.saved = shot;
      sessionStorage.removeItem(stashKey(task.id));
      paintStatus(`已暂存 ${fmtTime(saved.updated_at)}`);
      if (state.discard) state.discard.hidden = false;
      if (!quiet) toast("已暂存，下次打开该任务时自动恢复", "success");
    } catch (e) {
      if (e.status === 401) return; // the session-expired handler has kept it in this tab
      paintStatus(e.status === 409 ? e.message : "暂存失败，请稍后重试");
      if (!quiet) fail(e);
    }
  })();
  await state.saving;
}

function changed() {
  if (state.leaving) return;
  paintStatus(dirty() ? "有未暂存的修改" : state.status?.textContent || "");
  clearTimeout(state.timer);
  state.timer = setTimeout(() => save({ quiet: true }), AUTOSAVE_MS);
}

// Registered once per page load; they read the current state.
let listening = false;
function listen() {
  if (listening) return;
  listening = true;
  window.addEventListener("beforeunload", (event) => {
    if (!dirty()) return;
    event.preventDefault();
    event.returnValue = ""; // the browser shows its own "离开此网站？" text
  });
  // api.js is about to send the browser to /login: keep the typed form in this tab, restored
  // (and saved as a draft) when the task page opens again after signing in.
  window.addEventListener("govflow:session-expired", () => {
    if (!state.form || !state.task) return;
    try {
      sessionStorage.setItem(stashKey(state.task.id), JSON.stringify({
        user: state.user, data: state.form.getData() ?? {}, at: new Date().toISOString() }));
      state.leaving = true; // kept: no "unsaved changes" dialog on the way to the login page
    } catch { /* storage full or off: the dialog then still warns */ }
  });
}

// Wires the page: `box` is the task's card, `bar` its action bar, `restored` what initialData gave.
export function attach({ task, form, box, bar, me, restored, editable }) {
  const banner = returnedBanner(task);
  if (banner) box.prepend(banner);
  clearTimeout(state.timer);
  state.task = editable && form ? task : null;
  state.form = state.task ? form : null;
  state.leaving = false;
  if (!state.task) return;
  state.user = me.username;
  state.saved = snapshot(form);
  listen();
  if (restored && restored.notice) {
    form.element.parentElement.before(h("div", { class: "notice", id: "draft-notice", role: "status" }, restored.notice));
  }
  state.status = h("span", { class: "muted", id: "draft-status", "aria-live": "polite" });
  const button = h("button", { type: "button", id: "save-draft", onclick: () => save({ quiet: false }) }, "暂存");
  const submit = bar.querySelector("#submit-task");
  state.discard = h("button", { type: "button", id: "discard-draft", hidden: !(restored && restored.fromDraft),
    onclick: () => discard(task) }, "放弃暂存");
  if (submit) submit.after(button, state.discard, state.status);
  else bar.prepend(button, state.discard, state.status);
  ["input", "change", "click"].forEach((type) => form.element.addEventListener(type, changed));
  if (restored && restored.stashed) {
    state.saved = null; // typed before the session expired: not on the server yet
    save({ quiet: true });
  }
}

// 放弃暂存: the server draft goes, the page opens again from the task's own data (or the
// previous round's, after 退回).
function discard(task) {
  openDialog({
    title: "放弃暂存的内容",
    body: h("p", {}, "暂存的内容将被删除，表单恢复为打开任务时的内容。此操作不能撤销。"),
    okText: "放弃暂存",
    danger: true,
    onOk: async () => {
      try {
        await api.del(`/api/tasks/${task.id}/draft`);
      } catch (e) {
        return e.message;
      }
      leaving();
      location.reload();
      return null;
    },
  });
}

// The task was submitted (or handed on): leaving the page loses nothing.
export function leaving() {
  state.leaving = true;
  clearTimeout(state.timer);
  if (state.task) sessionStorage.removeItem(stashKey(state.task.id));
}
