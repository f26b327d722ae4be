// 项目库: the register with filters; the CSV and Excel exports carry the same filters.
import { api, describe, fmtMoney, fmtTime, h, STATUS_LABELS } from "../api.js";
import { fillChoices, newestOnly, onSearch, pager } from "../pager.js";

const tbody = document.querySelector("#projects tbody");
const count = document.getElementById("projects-count");
const csv = document.getElementById("export-csv");
const xlsx = document.getElementById("export-xlsx");
const selects = { year: document.getElementById("f-year"), unit: document.getElementById("f-unit"),
  stage: document.getElementById("f-stage"), status: document.getElementById("f-status") };
const STATUS_BADGE = { active: "blue", completed: "green", ended: "" };

const params = new URLSearchParams(location.search);
const searchBox = document.getElementById("f-q");
searchBox.value = params.get("q") || "";
let page = Math.max(1, parseInt(params.get("page"), 10) || 1);
let total = 0;
const pages = pager((n) => { page = n; load(); });
document.getElementById("projects-pager").append(pages.el);

const MENUS = {
  year: { all: "全部年度", fmt: (v) => `${v} 年`, sorted: true, first: params.get("year") || "" },
  unit: { all: "全部单位", sorted: true, first: params.get("unit") || "" },
  stage: { all: "全部阶段", sorted: true, first: params.get("stage") || "" },
};

function query() {
  const q = new URLSearchParams();
  for (const [name, select] of Object.entries(selects)) if (select.value) q.set(name, select.value);
  if (searchBox.value.trim()) q.set("q", searchBox.value.trim());
  return q;
}

// The exports take the filters (not the search text, not the page): the whole filtered register.
function exportQuery() {
  const q = query();
  q.delete("q");
  return q;
}

function render(rows) {
  count.textContent = `共 ${total} 个项目`;
  if (!rows.length) {
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: 8, class: "empty" }, query().toString() ? "没有符合筛选条件的项目" : "项目库暂无项目")));
    return;
  }
  tbody.replaceChildren(...rows.map((p) => h("tr", { dataset: { projectId: p.id } },
    h("td", {}, h("a", { href: `/projects/${p.id}` }, p.code)),
    h("td", {}, h("a", { href: `/projects/${p.id}` }, p.name), p.is_urgent ? h("span", { class: "badge red", style: "margin-left:6px" }, "紧急") : null),
    h("td", {}, p.unit),
    h("td", {}, p.budget_year),
    h("td", { class: "num" }, p.estimate !== null && p.estimate !== undefined ? fmtMoney(p.estimate) : "—"),
    h("td", {}, p.stage),
    h("td", {}, h("span", { class: `badge ${STATUS_BADGE[p.status] || ""}` }, STATUS_LABELS[p.status] || p.status),
      // 暂停建设 / 暂停运行 (第十四条, 第二十六条): the project's tasks stand still.
      p.suspension_label ? h("span", { class: "badge red suspension", style: "margin-left:4px" }, p.suspension_label) : null,
      p.outcome ? h("span", { class: "cell-sub" }, p.outcome) : null),
    h("td", {}, fmtTime(p.declared_at)))));
}

const loads = newestOnly();
async function load() {
  const q = query();
  if (page > 1) q.set("page", String(page));
  const current = loads.next();
  history.replaceState(null, "", `${location.pathname}${q.toString() ? "?" + q : ""}`);
  const ex = exportQuery();
  csv.href = `/api/projects/export.csv${ex.toString() ? "?" + ex : ""}`;
  xlsx.href = `/api/projects/export.xlsx${ex.toString() ? "?" + ex : ""}`;
  try {
    const result = await api.get(`/api/projects/search?${q}&per_page=20`);
    if (!current()) return;
    if (result.page > 1 && !result.items.length && result.total) { page = 1; load(); return; }
    total = result.total;
    pages.update(result);
    render(result.items);
  } catch (e) {
    if (!current()) return;
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: 8, class: "empty" }, describe(e))));
  }
}

function init() {
  // The filters work from the first paint: the choices below only add options, and a slow
  // answer must not leave the search box and the selects dead (nor undo what was picked meanwhile).
  for (const [name, menu] of Object.entries(MENUS)) fillChoices(selects[name], [], menu);
  if (params.get("status")) selects.status.value = params.get("status");
  const reload = () => { page = 1; load(); };
  Object.values(selects).forEach((s) => s.addEventListener("change", reload));
  onSearch(searchBox, reload);
  document.getElementById("f-reset").addEventListener("click", () => {
    Object.values(selects).forEach((s) => { s.value = ""; });
    searchBox.value = "";
    reload();
  });
  load();
  // The choices come from the whole register, so a filter never hides its own alternatives.
  api.get("/api/projects/choices").then((choices) => {
    fillChoices(selects.year, choices.years, MENUS.year);
    fillChoices(selects.unit, choices.units, MENUS.unit);
    fillChoices(selects.stage, choices.stages, MENUS.stage);
  }).catch(() => null);  // the table shows the error
}

init();
