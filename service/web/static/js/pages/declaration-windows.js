// 申报期与预算安排 (第六条): set a budget year's declaration window and record 预算安排完成
// (GET /api/annual-lists/windows, PUT /api/annual-lists/{year}/window, POST …/budget-arranged).
import { api, describe, fmtTime, h, nextBudgetYear, say } from "../api.js";

const root = document.getElementById("dw-root");
const errorBox = document.getElementById("dw-error");
const okBox = document.getElementById("dw-ok");

function arrangeButton(w) {
  if (w.budget_arranged_at) return `已完成（${fmtTime(w.budget_arranged_at)}，${w.budget_arranged_by_name || ""}）`;
  const confirm = h("button", { type: "button", class: "danger", hidden: true, "data-confirm-arranged": w.budget_year,
    onclick: () => arrange(w.budget_year) }, `确认：${w.budget_year} 年度预算安排完成`);
  const ask = h("button", { type: "button", "data-arranged": w.budget_year,
    onclick: () => { ask.hidden = true; confirm.hidden = false; } }, "预算安排完成");
  return h("span", {}, ask, confirm);
}

async function arrange(year) {
  try {
    const r = await api.post(`/api/annual-lists/${year}/budget-arranged`);
    await load(`${year} 年度预算安排已完成：${r.ended.length} 个非紧急项目以未列入清单结束，` +
      `${r.urgent_still_waiting.length} 个紧急项目继续等待追加清单`);
  } catch (e) { say(okBox, ""); say(errorBox, describe(e)); }
}

async function load(message = "") {
  root.dataset.ready = "0";
  try {
    const { items } = await api.get("/api/annual-lists/windows");
    const body = document.querySelector("#dw-table tbody");
    body.replaceChildren(...items.map((w) => h("tr", { dataset: { year: w.budget_year } },
      h("td", {}, h("a", { href: `/annual-lists?year=${w.budget_year}` }, `${w.budget_year} 年度`)),
      h("td", {}, `${w.opens_on} 至 ${w.closes_on}`),
      h("td", {}, w.budget_arranged_at ? "已完成" : "未完成"),
      h("td", {}, w.updated_at ? `${w.updated_by_name || ""} ${fmtTime(w.updated_at)}` : "—"),
      h("td", { class: "actions-cell" }, arrangeButton(w)))));
    if (!items.length) body.append(h("tr", {}, h("td", { colspan: 5 }, "尚未设置申报期")));
    say(errorBox, "");
    say(okBox, message);
  } catch (e) { say(errorBox, describe(e)); }
  root.dataset.ready = "1";
}

document.getElementById("dw-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const year = Number(document.getElementById("dw-year").value);
  try {
    await api.put(`/api/annual-lists/${year}/window`, { opens_on: document.getElementById("dw-opens").value,
      closes_on: document.getElementById("dw-closes").value });
    await load(`${year} 年度申报期已保存`);
  } catch (e) { say(okBox, ""); say(errorBox, describe(e)); }
});
document.getElementById("dw-year").value = nextBudgetYear();
load();
