// 项目库: the register with filters; the CSV export carries the same filters.
import { api, fmtMoney, fmtTime, h, STATUS_LABELS } from "../api.js";

const tbody = document.querySelector("#projects tbody");
const count = document.getElementById("projects-count");
const csv = document.getElementById("export-csv");
const selects = { year: document.getElementById("f-year"), unit: document.getElementById("f-unit"),
  stage: document.getElementById("f-stage"), status: document.getElementById("f-status") };
const STATUS_BADGE = { active: "blue", completed: "green", ended: "" };

const params = new URLSearchParams(location.search);

function fillChoices(select, values, allLabel, fmt = (v) => v) {
  const current = select.value || params.get(select.name) || "";
  const all = new Set(values.map(String));
  if (current) all.add(current);
  select.replaceChildren(h("option", { value: "" }, allLabel),
    ...[...all].sort().map((v) => h("option", { value: v, selected: v === current }, fmt(v))));
}

function query() {
  const q = new URLSearchParams();
  for (const [name, select] of Object.entries(selects)) if (select.value) q.set(name, select.value);
  return q;
}

function render(rows) {
  count.textContent = `共 ${rows.length} 个项目`;
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
      p.outcome ? h("span", { class: "cell-sub" }, p.outcome) : null),
    h("td", {}, fmtTime(p.declared_at)))));
}

async function load() {
  const q = query();
  history.replaceState(null, "", `${location.pathname}${q.toString() ? "?" + q : ""}`);
  csv.href = `/api/projects/export.csv${q.toString() ? "?" + q : ""}`;
  try {
    render(await api.get(`/api/projects${q.toString() ? "?" + q : ""}`));
  } catch (e) {
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: 8, class: "empty" }, e.display || String(e))));
  }
}

async function init() {
  // The choices come from the whole register, so a filter never hides its own alternatives.
  try {
    const all = await api.get("/api/projects");
    fillChoices(selects.year, [...new Set(all.map((p) => p.budget_year))], "全部年度", (v) => `${v} 年`);
    fillChoices(selects.unit, [...new Set(all.map((p) => p.unit))], "全部单位");
    fillChoices(selects.stage, [...new Set(all.map((p) => p.stage))], "全部阶段");
  } catch { /* the table shows the error */ }
  if (params.get("status")) selects.status.value = params.get("status");
  Object.values(selects).forEach((s) => s.addEventListener("change", load));
  document.getElementById("f-reset").addEventListener("click", () => {
    Object.values(selects).forEach((s) => { s.value = ""; });
    load();
  });
  load();
}

init();
