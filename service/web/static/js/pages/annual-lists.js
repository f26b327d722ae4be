// 年度项目清单 (第七条(五), 第六条): a budget year's window, the projects waiting at 项目批准 with
// 预算评审's proposals, the draft 建议清单 市大数据局 compiles, 市财政局's 会签 and 市政府's approval
// with its 文号; main list and 追加清单 (GET/PUT/POST /api/annual-lists/{year}…, docs/annual-list.md).
import { ApiError, api, describe, fmtMoney, fmtTime, h, nextBudgetYear, say } from "../api.js";

const root = document.getElementById("al-root");
const yearInput = document.getElementById("al-year");
const errorBox = document.getElementById("al-error");
const okBox = document.getElementById("al-ok");
const STATUS = { draft: "草稿（市大数据局编制中）", cosigned: "已会签，待市政府批准", approved: "已批准印发" };
let year = null;
let data = null;

function clearFieldErrors() {
  document.querySelectorAll(".al-field-error").forEach((el) => el.remove());
}

// Field errors of a refusal next to their inputs ("approved/12" → the amount of project 12).
function showError(error) {
  clearFieldErrors();
  say(okBox, "");
  say(errorBox, describe(error));
  if (!(error instanceof ApiError)) return;
  const paths = error.errors.length ? error.errors : error.field ? [{ path: error.field, message: error.summary }] : [];
  for (const e of paths) {
    const target = document.querySelector(`[data-path="${CSS.escape(e.path)}"]`);
    if (target) target.after(h("span", { class: "al-field-error" }, e.message));
  }
}

function money(v) {
  return v === null || v === undefined ? "—" : fmtMoney(v);
}

function projectCell(p) {
  return h("td", {}, h("a", { href: `/projects/${p.project_id}` }, p.code || `#${p.project_id}`), h("br"), p.name || "");
}

function renderWindow() {
  const box = document.getElementById("al-window");
  box.replaceChildren();
  const w = data.window;
  if (!w) {
    box.append(`${year} 年度尚未设置申报期。`);
  } else {
    box.append(`申报期 ${w.opens_on} 至 ${w.closes_on}。`,
      data.budget_arranged ? `预算安排已于 ${fmtTime(w.budget_arranged_at)} 完成，此后只接受紧急项目申报，以追加清单办理。`
        : "预算安排尚未完成。");
  }
}

function renderCompile() {
  const section = document.getElementById("al-compile");
  const open = data.lists.find((l) => l.id === data.open_list_id);
  section.hidden = !data.can_compile;
  if (!data.can_compile) return;
  const main = !data.lists.some((l) => l.status === "approved");
  document.getElementById("al-compile-title").textContent = open
    ? `修改${open.title}草稿（第 ${open.revision} 版）` : main ? "编制项目建议清单" : "编制追加清单";
  const picked = new Map((open?.entries || []).map((e) => [e.project_id, e]));
  const body = document.querySelector("#al-waiting tbody");
  body.replaceChildren();
  if (!data.waiting.length) {
    body.append(h("tr", {}, h("td", { colspan: 7 }, "没有等待本年度清单批准的项目")));
  }
  for (const p of data.waiting) {
    const e = picked.get(p.project_id);
    body.append(h("tr", { dataset: { project: p.project_id } },
      h("td", {}, h("input", { type: "checkbox", "data-pick": p.project_id, checked: Boolean(e), onchange: total,
        "aria-label": `列入 ${p.name}` })),
      projectCell(p), h("td", {}, p.unit || ""), h("td", {}, p.is_urgent ? "紧急" : ""),
      h("td", {}, money(p.proposed)),
      h("td", {}, h("input", { type: "number", class: "al-priority", min: 1, max: 999, "data-priority": p.project_id,
        value: e?.priority ?? "", "aria-label": "轻重缓急次序" })),
      h("td", {}, h("input", { type: "text", class: "al-remark", maxlength: 500, "data-remark": p.project_id,
        value: e?.remark ?? "", "aria-label": "备注" }))));
  }
  document.getElementById("al-note").value = open?.note || "";
  total();
}

function total() {
  let sum = 0;
  for (const p of data.waiting) {
    if (document.querySelector(`[data-pick="${p.project_id}"]`)?.checked) sum += p.proposed || 0;
  }
  document.getElementById("al-picked-total").textContent = fmtMoney(sum);
}

async function saveDraft() {
  const entries = [];
  data.waiting.forEach((p) => {
    if (!document.querySelector(`[data-pick="${p.project_id}"]`).checked) return;
    const priority = document.querySelector(`[data-priority="${p.project_id}"]`).value;
    entries.push({ project_id: p.project_id, priority: priority === "" ? null : Number(priority),
      remark: document.querySelector(`[data-remark="${p.project_id}"]`).value || null });
  });
  const open = data.lists.find((l) => l.id === data.open_list_id);
  try {
    await api.put(`/api/annual-lists/${year}/draft`, { entries, note: document.getElementById("al-note").value || null,
      revision: open ? open.revision : null });
    await load(`建议清单草稿已保存（${entries.length} 个项目），可继续修改或请市财政局会签`);
  } catch (e) { showError(e); }
}

function entryRow(list, e, deciding) {
  const cells = [h("td", {}, e.priority ?? "—"), projectCell(e), h("td", {}, e.unit || ""),
    h("td", {}, e.is_urgent ? "紧急" : ""), h("td", {}, money(e.proposed))];
  if (deciding) {
    cells.push(
      h("td", {}, h("input", { type: "checkbox", checked: true, "data-keep": e.project_id, "aria-label": `列入 ${e.name}` })),
      h("td", {}, h("input", { type: "number", class: "al-amount", min: 0, step: "0.01", value: e.proposed ?? "",
        "data-amount": e.project_id, "data-path": `approved/${e.project_id}`, "aria-label": "批准金额（万元）" })),
      h("td", {}, h("input", { type: "text", class: "al-reason", maxlength: 2000, "data-reason": e.project_id,
        placeholder: "高于建议金额时必填", "aria-label": "理由" })));
  } else if (list.status === "approved") {
    cells.push(h("td", {}, e.on_list ? "列入" : "未列入"), h("td", {}, e.on_list ? money(e.approved_amount) : "—"),
      h("td", {}, e.reason || ""));
  }
  cells.push(h("td", {}, e.remark || ""));
  return h("tr", { class: list.status === "approved" && !e.on_list ? "al-off" : "" }, cells);
}

function renderList(list) {
  const deciding = list.status === "cosigned" && data.can_approve;
  const head = ["次序", "项目", "建设单位", "紧急", "预算评审建议"];
  if (deciding) head.push("列入", "批准金额（万元）", "理由");
  else if (list.status === "approved") head.push("结果", "批准金额", "理由");
  head.push("备注");
  const meta = [h("span", {}, `编制：${list.compiled_by_name || ""} ${fmtTime(list.compiled_at)}`)];
  if (list.cosigned_at) meta.push(h("span", {}, `市财政局会签：${list.cosigned_by_name || ""} ${fmtTime(list.cosigned_at)}`));
  if (list.cosign_opinion) meta.push(h("span", {}, `会签意见：${list.cosign_opinion}`));
  if (list.approved_at) meta.push(h("span", {}, `市政府批准：${list.approved_by_name || ""} ${fmtTime(list.approved_at)}，文号 ${list.document_no}`));
  if (list.returned_reason && list.status === "draft") meta.push(h("span", { class: "form-error" }, `退回理由：${list.returned_reason}`));
  if (list.note) meta.push(h("span", {}, `编制说明：${list.note}`));
  const totals = `建议合计 ${fmtMoney(list.proposed_total)}` +
    (list.approved_total !== null ? `；批准合计 ${fmtMoney(list.approved_total)}` : "");
  const section = h("section", { class: "card al-list", dataset: { list: list.id, status: list.status } },
    h("h2", {}, `${data.budget_year} 年度${list.title}`, h("span", { class: `al-status ${list.status}` }, STATUS[list.status])),
    h("div", { class: "al-meta muted" }, meta),
    h("div", { class: "table-wrap" }, h("table", { class: "list cards" },
      h("thead", {}, h("tr", {}, head.map((t) => h("th", {}, t)))),
      h("tbody", {}, list.entries.map((e) => entryRow(list, e, deciding))))),
    h("p", {}, totals));
  if (list.id === data.open_list_id) section.append(decisionPanel(list));
  return section;
}

function decisionPanel(list) {
  const panel = h("div", { class: "al-decide" });
  if (data.can_cosign && list.status === "draft") {
    panel.append(h("label", { for: "al-cosign-opinion" }, "会签意见（市财政局）"),
      h("textarea", { id: "al-cosign-opinion", maxlength: 2000 }),
      h("div", { class: "actions" }, h("button", { type: "button", class: "primary", id: "al-cosign", onclick: () => cosign(list) },
        "会签并报市政府")));
  }
  if (data.can_approve && list.status === "cosigned") {
    panel.append(h("label", { for: "al-doc" }, "文号（必填）"),
      h("input", { type: "text", id: "al-doc", maxlength: 100, placeholder: "如：东政字〔2026〕12号", "data-path": "document_no" }),
      h("div", { class: "actions" }, h("button", { type: "button", class: "primary", id: "al-approve", onclick: () => approve(list) },
        "同意并印发")));
  }
  if (data.can_send_back) {
    panel.append(h("label", { for: "al-back-reason" }, "退回理由"),
      h("input", { type: "text", id: "al-back-reason", maxlength: 2000, "data-path": "reason" }),
      h("div", { class: "actions" }, h("button", { type: "button", id: "al-send-back", onclick: () => sendBack(list) },
        "退回市大数据局修改")));
  }
  return panel;
}

async function cosign(list) {
  try {
    await api.post(`/api/annual-lists/${year}/lists/${list.id}/cosign`, { opinion: document.getElementById("al-cosign-opinion").value || null });
    await load(`${list.title}已会签，报市政府批准`);
  } catch (e) { showError(e); }
}

async function sendBack(list) {
  try {
    await api.post(`/api/annual-lists/${year}/lists/${list.id}/send-back`, { reason: document.getElementById("al-back-reason").value });
    await load(`${list.title}已退回市大数据局修改`);
  } catch (e) { showError(e); }
}

async function approve(list) {
  const approved = {};
  const reasons = {};
  for (const e of list.entries) {
    if (!document.querySelector(`[data-keep="${e.project_id}"]`).checked) continue;
    const raw = document.querySelector(`[data-amount="${e.project_id}"]`).value;
    approved[e.project_id] = raw === "" ? -1 : Number(raw);
    const reason = document.querySelector(`[data-reason="${e.project_id}"]`).value.trim();
    if (reason) reasons[e.project_id] = reason;
  }
  try {
    const r = await api.post(`/api/annual-lists/${year}/lists/${list.id}/approve`,
      { approved, reasons, document_no: document.getElementById("al-doc").value });
    await load(`${list.title}已批准：列入 ${r.released.length} 个项目，未列入 ${r.left_off.length} 个`);
  } catch (e) { showError(e); }
}

async function load(message = "") {
  root.dataset.ready = "0";
  clearFieldErrors();
  try {
    data = await api.get(`/api/annual-lists/${year}`);
  } catch (e) {
    showError(e);
    document.getElementById("al-window").textContent = "";
    root.dataset.ready = "1";
    return;
  }
  say(errorBox, "");
  say(okBox, message);
  renderWindow();
  renderCompile();
  const lists = document.getElementById("al-lists");
  lists.replaceChildren(...[...data.lists].reverse().map(renderList));
  if (!data.lists.length) lists.append(h("p", { class: "muted" }, `${year} 年度尚未编制清单。`));
  root.dataset.ready = "1";
}

function show(y) {
  year = y;
  yearInput.value = y;
  history.replaceState(null, "", `?year=${y}`);
  load();
}

document.getElementById("al-save").addEventListener("click", saveDraft);
document.getElementById("al-year-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const y = Number(yearInput.value);
  if (Number.isInteger(y) && y >= 2000 && y <= 2100) show(y);
});
const q = Number(new URLSearchParams(location.search).get("year"));
show(Number.isInteger(q) && q >= 2000 && q <= 2100 ? q : nextBudgetYear());
