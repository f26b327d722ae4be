// 流程设计: the deployed process versions, newest first, with links into the modeler and the DMN editor.
import { api, fail, fmtTime, h } from "../api.js";

const PROCESS_NAMES = { govflow_lifecycle: "市级政务数字化项目全生命周期" };

function fileBadges(files) {
  return (files || []).map((name) => h("span", { class: "badge file-badge" }, name));
}

function render(rows) {
  const box = document.getElementById("versions");
  box.replaceChildren();
  if (!rows.length) {
    box.append(h("p", { class: "empty" }, "尚未部署任何流程版本。"));
    return;
  }
  const latest = {};
  for (const row of rows) {
    if (!latest[row.process_key] || row.version > latest[row.process_key]) latest[row.process_key] = row.version;
  }
  const body = rows.map((row) => {
    const isLatest = latest[row.process_key] === row.version;
    const hasDmn = (row.files || []).some((f) => f.endsWith(".dmn"));
    const inst = row.instances || { running: 0, total: 0 };
    return h("tr", { "data-version": row.version, "data-id": row.id },
      h("td", {},
        h("div", { class: "proc-name" }, PROCESS_NAMES[row.process_key] || row.process_key),
        h("div", { class: "muted small" }, row.process_key)),
      h("td", {}, h("strong", {}, `v${row.version}`), " ",
        isLatest ? h("span", { class: "badge green" }, "最新") : h("span", { class: "badge" }, "历史版本")),
      h("td", {}, row.deployed_by || "—"),
      h("td", {}, fmtTime(row.deployed_at)),
      h("td", {}, h("code", { title: row.checksum }, (row.checksum || "").slice(0, 10))),
      h("td", {}, fileBadges(row.files)),
      h("td", { class: "num" },
        h("span", { class: inst.running ? "badge blue" : "badge" }, `运行中 ${inst.running}`), " ",
        h("span", { class: "muted" }, `共 ${inst.total}`)),
      h("td", { class: "row-actions" },
        h("a", { href: `/designer/modeler?version=${row.id}` }, "在建模器中打开"),
        hasDmn ? h("a", { href: `/designer/dmn?version=${row.id}` }, "DMN") : null));
  });
  box.append(h("table", { class: "list", id: "version-table" },
    h("thead", {}, h("tr", {},
      h("th", {}, "流程"), h("th", {}, "版本"), h("th", {}, "部署人"), h("th", {}, "部署时间"),
      h("th", {}, "校验码"), h("th", {}, "文件"), h("th", { class: "num" }, "实例"), h("th", {}, "操作"))),
    h("tbody", {}, body)));
}

async function load() {
  try {
    render(await api.get("/api/processes"));
  } catch (error) {
    document.getElementById("versions").replaceChildren(h("p", { class: "form-error" }, "流程版本加载失败：" + (error.display || error)));
    fail(error);
  }
}

load();
