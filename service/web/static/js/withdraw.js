// 撤回 / 拿回 (docs/withdraw.md): a button for a step the signed-in user completed, shown where the
// server says it works (`can_withdraw`, the same rule as POST /api/tasks/<id>/withdraw). Confirms,
// takes the step back and opens the reopened task; a refusal (409) is shown in the dialog.
import { api, describe, h, toast } from "./api.js";
import { openDialog } from "./pages/dept-common.js";

const FLASH = "gf-withdrawn";

export function withdrawDialog(task) {
  return openDialog({
    title: "撤回",
    okText: "确认撤回",
    danger: true,
    body: h("div", { class: "withdraw-confirm" },
      h("p", {}, `撤回“${task.title}”？`),
      h("p", { class: "muted" }, "下一步尚未开始办理：撤回后下一步任务取消，本步骤重新打开，保留您提交的内容，期限不变。撤回记入项目档案，并通知下一步的办理单位。")),
    onOk: async () => {
      let answer;
      try {
        answer = await api.post(`/api/tasks/${task.id}/withdraw`);
      } catch (e) { return describe(e); }
      try { sessionStorage.setItem(FLASH, `已撤回“${task.title}”：已恢复您提交的内容，修改后请重新提交`); } catch { /* private mode */ }
      location.href = `/tasks/${answer.work_item_id}`;
      return null;
    },
  });
}

export function withdrawButton(task, { small = false } = {}) {
  return h("button", { type: "button", class: small ? "withdraw small" : "withdraw", dataset: { withdraw: task.id },
    onclick: () => withdrawDialog(task) }, "撤回");
}

// The reopened task's page says what happened (the page that imports this module).
try {
  const message = sessionStorage.getItem(FLASH);
  if (message) {
    sessionStorage.removeItem(FLASH);
    toast(message, "success");
  }
} catch { /* private mode */ }
