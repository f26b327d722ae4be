// 督办看板's 监管措施 card (docs/supervision-measures.md): projects suspended now (暂停建设 第十四条,
// 暂停运行 第二十六条) and the newest measures on projects, from GET /api/supervision/measures.
import { api, describe, fmtTime, h } from "./api.js";

function projectLink(p) {
  return h("a", { href: `/projects/${p.id}` }, p.name, h("span", { class: "cell-sub" }, `${p.code} · ${p.unit}`));
}

async function load() {
  const table = document.querySelector("#suspended-table tbody");
  const list = document.getElementById("measures-board");
  if (!table || !list) return;
  let data;
  try {
    data = await api.get("/api/supervision/measures");
  } catch (e) {
    list.replaceChildren(h("li", { class: "muted" }, describe(e)));
    table.replaceChildren();
    return;
  }
  table.replaceChildren(...(data.suspended.length ? data.suspended.map((s) => h("tr", { dataset: { projectId: s.project.id } },
    h("td", {}, projectLink(s.project)),
    h("td", {}, h("span", { class: "badge red" }, s.label), h("span", { class: "cell-sub" }, s.article)),
    h("td", {}, s.reason),
    h("td", {}, fmtTime(s.suspended_at), h("span", { class: "cell-sub" }, s.suspended_by_name || s.suspended_by))))
    : [h("tr", {}, h("td", { colspan: "4", class: "empty" }, "没有暂停中的项目"))]));
  list.replaceChildren(...(data.actions.length ? data.actions.map((a) => h("li", { dataset: { kind: a.kind } },
    h("strong", {}, a.label), h("span", { class: "badge", style: "margin-left:6px" }, a.article), " ",
    projectLink(a.project),
    h("div", {}, a.reason),
    h("span", { class: "cell-sub" }, `${a.authority} ${a.decided_by_name} · ${fmtTime(a.decided_at)}`)))
    : [h("li", { class: "muted" }, "暂无监管措施")]));
}

load();
