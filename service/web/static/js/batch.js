// 批量办理 on the inbox's 待办: a checkbox on each row whose form is batchable (x-batchable) and
// that the user may work, a 批量办理 button opening one form for all of them, and the answer of
// POST /api/tasks/batch-complete summed up ("成功 3 项，失败 1 项：…"). The server decides every
// item again; the page only offers what it would accept.
import { api, describe, fail, h, toast } from "./api.js";
import { openDialog } from "./pages/dept-common.js";
import { renderForm } from "./schema-form.js";

export const MAX_ITEMS = 50;
const selected = new Map(); // task id → row

// May `me` submit this row in a batch? Its unit, unclaimed / mine / held by whom I stand in for,
// and not a 委派 that must be handed back.
export function batchable(row, me) {
  if (!row.batchable || !me.isWorker || row.unit !== me.unit) return false;
  const holder = !row.assignee || row.assignee === me.username || Boolean(row.on_behalf_of);
  return holder && !(row.delegated_by && (row.assignee === me.username || row.on_behalf_of));
}

export function batchBar(onDone) {
  const button = h("button", { type: "button", class: "primary", id: "batch-open", disabled: true }, "批量办理");
  const result = h("div", { class: "batch-result", id: "batch-result", role: "status", hidden: true });
  const bar = h("div", { class: "batch-bar toolbar", id: "batch-bar", hidden: true }, button,
    h("span", { class: "muted batch-hint" }, "勾选表单相同、可批量办理的任务，填写一次表单逐项提交"));
  const refresh = () => {
    button.disabled = selected.size === 0;
    button.textContent = selected.size ? `批量办理（${selected.size}）` : "批量办理";
  };
  button.addEventListener("click", () => openBatch(result, onDone, refresh));
  return {
    el: h("div", {}, bar, result),
    // Shown on 待办 when some row on the page can be batched (or something is chosen already).
    show: (visible) => { bar.hidden = !visible && selected.size === 0; refresh(); },
    clear: () => { selected.clear(); refresh(); },
    box: (row) => {
      const input = h("input", { type: "checkbox", class: "batch-pick", checked: selected.has(row.id),
        "aria-label": `选择批量办理：${row.title}` });
      input.addEventListener("change", () => {
        if (input.checked && selected.size >= MAX_ITEMS) {
          input.checked = false;
          toast(`一次最多批量办理 ${MAX_ITEMS} 项`, "error");
          return;
        }
        if (input.checked) selected.set(row.id, row); else selected.delete(row.id);
        refresh();
      });
      return h("label", { class: "check batch-check" }, input, "批量");
    },
  };
}

function summary(answer) {
  const failed = answer.results.filter((r) => !r.ok);
  const head = `成功 ${answer.succeeded} 项，失败 ${answer.failed} 项`;
  if (!failed.length) return `${head}。`;
  return `${head}：${failed.map((r) => `${r.project_code || `任务 ${r.id}`}${r.title ? ` ${r.title}` : ""}：${r.error}`).join("；")}`;
}

async function openBatch(result, onDone, refresh) {
  const rows = [...selected.values()];
  const forms = [...new Set(rows.map((r) => r.form))];
  if (forms.length !== 1) {
    toast("所选任务的表单不同，请只勾选同一种表单的任务", "error");
    return;
  }
  let schema;
  try {
    schema = (await api.get(`/api/forms/${encodeURIComponent(forms[0])}`)).schema;
  } catch (e) {
    fail(e);
    return;
  }
  const holder = h("div", { class: "batch-form" });
  const form = renderForm(holder, schema, {});
  const list = h("ul", { class: "batch-list" }, rows.map((r) => h("li", {},
    `${(r.project || {}).code || ""} ${r.title}${r.on_behalf_of ? `（代 ${r.assignee_name || r.assignee}）` : ""}`)));
  openDialog({
    title: `批量办理 ${rows.length} 项：${schema.title || forms[0]}`,
    okText: "逐项提交",
    body: h("div", { class: "batch-dialog" }, list, holder),
    onOk: async () => {
      let answer;
      try {
        answer = await api.post("/api/tasks/batch-complete", { ids: rows.map((r) => r.id), data: form.getData() || {} });
      } catch (e) {
        return describe(e);
      }
      // Nothing went through and the values themselves were wrong: correct them here and retry.
      const formErrors = answer.results.filter((r) => r.errors && r.errors.length);
      if (!answer.succeeded && formErrors.length) {
        form.showErrors(formErrors[0].errors, "表单填写有误，未提交任何任务");
        return "表单填写有误，未提交任何任务";
      }
      for (const r of answer.results) if (r.ok) selected.delete(r.id);
      refresh();
      result.textContent = summary(answer);
      result.className = `batch-result ${answer.failed ? "partial" : "done"}`;
      result.hidden = false;
      toast(`批量办理：成功 ${answer.succeeded} 项，失败 ${answer.failed} 项`, answer.failed ? "error" : "success");
      onDone();
      return null;
    },
  });
}
