// 流程运行分析: per element how many projects passed, how many wait, median/p90 working days;
// drawn on the deployed diagram (bpmn-js viewer) and in two tables.
import { api, describe, fail, h, PROCESS_NAMES } from "../api.js";

const $ = (id) => document.getElementById(id);
const state = { viewer: null, xmlFor: null, versions: undefined };

function heatClass(p90) {
  if (p90 === null || p90 === undefined) return null;
  if (p90 <= 2) return "heat-1";
  if (p90 <= 5) return "heat-2";
  if (p90 <= 10) return "heat-3";
  return "heat-4";
}

const days = (v) => (v === null || v === undefined ? "—" : `${v}`);

function query() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData($("analytics-filters"))) if (value) params.set(name, value);
  return params;
}

async function diagram(versionId) {
  if (state.xmlFor === versionId) return;
  const version = await api.get(`/api/processes/${encodeURIComponent(versionId)}`);
  const name = Object.keys(version.files).find((n) => n.endsWith(".bpmn") || n.endsWith(".bpmn20.xml"));
  $("heat-canvas").replaceChildren();
  state.viewer?.destroy();
  state.viewer = new window.BpmnJS({ container: $("heat-canvas") });
  await state.viewer.importXML(version.files[name]);
  state.viewer.get("canvas").zoom("fit-viewport");
  state.xmlFor = versionId;
}

function paint(elements) {
  const registry = state.viewer.get("elementRegistry");
  const overlays = state.viewer.get("overlays");
  const canvas = state.viewer.get("canvas");
  overlays.clear();
  for (const el of registry.getAll()) for (const c of ["heat-1", "heat-2", "heat-3", "heat-4"]) canvas.removeMarker(el.id, c);
  const names = {};
  // On a phone the whole diagram fits only at a scale where the labels pile up: start near the
  // first element with figures instead (the viewer pans and zooms).
  const first = Object.keys(elements).map((id) => registry.get(id)).find(Boolean);
  if (first && $("heat-canvas").clientWidth < 600) {
    canvas.zoom(0.7);
    canvas.scrollToElement(first, { top: 60, left: 20 });
  }
  for (const [id, figures] of Object.entries(elements)) {
    const shape = registry.get(id);
    if (!shape) continue;
    names[id] = shape.businessObject.name || id;
    const heat = heatClass(figures.p90_days);
    if (heat) canvas.addMarker(id, heat);
    overlays.add(id, "heat", {
      position: { bottom: -4, left: 0 },
      scale: { min: 1 },
      html: h("div", { class: "heat-label", "data-element": id },
        `${figures.passed} 项 · ${days(figures.median_days)}/${days(figures.p90_days)} 天`),
    });
    if (figures.waiting) {
      overlays.add(id, "heat", {
        position: { top: -10, right: 10 },
        scale: { min: 1 },
        html: h("div", { class: "heat-waiting", title: `${figures.waiting} 件等待办理` }, `等待 ${figures.waiting}`),
      });
    }
  }
  return names;
}

function elementTable(elements, names) {
  const rows = Object.entries(elements).map(([id, f]) => h("tr", { "data-element": id },
    h("td", {}, names[id] || id), h("td", { class: "num" }, `${f.passed}`), h("td", { class: "num" }, `${f.completed}`),
    h("td", { class: "num" }, days(f.median_days)), h("td", { class: "num" }, days(f.p90_days)),
    h("td", { class: "num" }, `${f.waiting}`), h("td", { class: "num" }, days(f.waiting_median_days))));
  $("element-table").replaceChildren(rows.length ? h("table", { class: "list", id: "elements" },
    h("thead", {}, h("tr", {}, h("th", {}, "环节"), h("th", { class: "num" }, "经过项目"), h("th", { class: "num" }, "办结次数"),
      h("th", { class: "num" }, "中位数（工作日）"), h("th", { class: "num" }, "P90（工作日）"),
      h("th", { class: "num" }, "等待中"), h("th", { class: "num" }, "已等待中位数"))),
    h("tbody", {}, rows)) : h("p", { class: "empty" }, "所选范围内没有办理记录。"));
}

function stageTable(stages) {
  const rows = stages.map((r) => h("tr", {},
    h("td", {}, `${r.year}`), h("td", {}, r.unit), h("td", {}, r.stage), h("td", { class: "num" }, `${r.completed}`),
    h("td", { class: "num" }, days(r.median_days)), h("td", { class: "num" }, days(r.p90_days)),
    h("td", { class: "num" }, `${r.total_days}`)));
  $("stage-table").replaceChildren(rows.length ? h("table", { class: "list", id: "stages" },
    h("thead", {}, h("tr", {}, h("th", {}, "年度"), h("th", {}, "办理单位"), h("th", {}, "阶段"),
      h("th", { class: "num" }, "办结次数"), h("th", { class: "num" }, "中位数（工作日）"),
      h("th", { class: "num" }, "P90（工作日）"), h("th", { class: "num" }, "合计（工作日）"))),
    h("tbody", {}, rows)) : h("p", { class: "empty" }, "所选范围内没有已办结的环节。"));
}

function fillChoices(result, versions) {
  const unit = $("filter-unit");
  const chosen = unit.value;
  const units = [...new Set(result.stages.map((r) => r.unit))].sort();
  if (chosen && !units.includes(chosen)) units.push(chosen);
  unit.replaceChildren(h("option", { value: "" }, "全部单位"), ...units.map((u) => h("option", { value: u }, u)));
  unit.value = chosen;
  const version = $("filter-version");
  if (version.options.length <= 1) {
    for (const v of versions) version.append(h("option", { value: `${v.id}` }, `v${v.version}`));
  }
}

async function load() {
  try {
    const params = query();
    // The version list is a designer's (督办 and 审计 see every version together): fetched once.
    if (state.versions === undefined) state.versions = await api.get("/api/processes").catch(() => null);
    const result = await api.get(`/api/process-analytics?${params}`);
    $("filter-version").closest("label").hidden = state.versions === null;
    fillChoices(result, (state.versions || []).filter((v) => v.process_key === result.process_key));
    await diagram(params.get("version_id") || result.latest_version_id);
    const names = paint(result.elements);
    elementTable(result.elements, names);
    stageTable(result.stages);
    $("analytics-info").textContent = `${PROCESS_NAMES[result.process_key] || result.process_key} · 版本 ${result.versions.map((v) => "v" + v).join("、")}` +
      ` · 截至 ${result.as_of}（北京时间）`;
  } catch (error) {
    $("analytics-info").textContent = "加载失败：" + describe(error);
    fail(error);
  }
}

$("analytics-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
load();
