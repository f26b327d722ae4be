// 流程设计: the deployed process versions, newest first, with links into the modeler and the DMN editor;
// 设为最新版本 (rollback) after a preview of what changes; the deploy records.
import { api, ApiError, describe, fail, fmtTime, h, PROCESS_NAMES, toast } from "../api.js";
import { confirmPreview } from "../deploy-preview.js";


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
  const body = rows.map((row) => {
    const isLatest = row.is_latest;
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
        hasDmn ? h("a", { href: `/designer/dmn?version=${row.id}` }, "DMN") : null,
        isLatest ? null : h("button", { type: "button", class: "small rollback", "data-rollback": row.id,
          onclick: () => rollback(row) }, "设为最新版本")));
  });
  box.append(h("table", { class: "list", id: "version-table" },
    h("thead", {}, h("tr", {},
      h("th", {}, "流程"), h("th", {}, "版本"), h("th", {}, "部署人"), h("th", {}, "部署时间"),
      h("th", {}, "校验码"), h("th", {}, "文件"), h("th", { class: "num" }, "实例"), h("th", {}, "操作"))),
    h("tbody", {}, body)));
}

function status(kind, text) {
  const box = document.getElementById("status");
  box.className = `status-line ${kind}`;
  box.textContent = text;
  box.hidden = !text;
}

function issuesList(issues) {
  return h("ol", { class: "issue-list", id: "rollback-issues" }, issues.map((i) => h("li", { class: "issue" },
    h("div", { class: "issue-msg" }, i.message),
    h("div", { class: "issue-where muted" }, [i.file, i.element_id, i.line ? `第 ${i.line} 行` : null].filter(Boolean).join(" · ")))));
}

async function rollback(row) {
  let preview;
  try {
    preview = await api.get(`/api/processes/${row.id}/preview`);
  } catch (error) {
    status("error", "回退预览失败：" + describe(error));
    fail(error);
    return;
  }
  const box = document.getElementById("rollback-result");
  box.replaceChildren();
  if (!preview.valid) {
    status("error", `版本 ${row.version} 现在无法运行，不能设为最新：发现 ${preview.issues.length} 个问题。`);
    box.append(issuesList(preview.issues));
    return;
  }
  const answer = await confirmPreview(preview, { target: "rollback" });
  if (!answer.ok) return;
  try {
    const result = await api.post(`/api/processes/${row.id}/rollback`,
      { replaces: preview.replaces ? preview.replaces.id : null, reason: answer.reason });
    status("success", `已把版本 ${result.version} 设为最新（替换版本 ${result.replaced_version}）。运行中的项目不受影响，此后新申报的项目使用版本 ${result.version}。`);
    toast(`版本 ${result.version} 已设为最新`, "success");
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) status("error", "不能回退：" + error.summary);
    else status("error", "回退失败：" + describe(error));
    fail(error);
  }
  await load();
}

function renderDeploys(rows) {
  const box = document.getElementById("deploys");
  if (!rows.length) {
    box.replaceChildren(h("p", { class: "empty" }, "尚无部署记录。"));
    return;
  }
  box.replaceChildren(h("table", { class: "list", id: "deploy-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "时间"), h("th", {}, "操作"), h("th", {}, "设为最新"), h("th", {}, "替换"),
      h("th", {}, "操作人"), h("th", {}, "说明"))),
    h("tbody", {}, rows.map((r) => h("tr", { "data-action": r.action },
      h("td", {}, fmtTime(r.at)), h("td", {}, r.action_label), h("td", {}, `v${r.version}`),
      h("td", {}, r.replaced_version ? `v${r.replaced_version}` : "—"), h("td", {}, r.actor_name || r.actor),
      h("td", {}, r.reason || "—"))))));
}

async function load() {
  try {
    const [rows, deploys] = await Promise.all([api.get("/api/processes"), api.get("/api/processes/deploys")]);
    render(rows);
    renderDeploys(deploys);
  } catch (error) {
    document.getElementById("versions").replaceChildren(h("p", { class: "form-error" }, "流程版本加载失败：" + describe(error)));
    fail(error);
  }
}

load();
