// 实例迁移: dry run of moving running projects from one process version to another, then the move
// of the chosen ones (POST /api/process-migrations/dry-run, /api/process-migrations).
import { api, describe, fail, h, toast } from "../api.js";
import { openDialog } from "./dept-common.js";

const $ = (id) => document.getElementById(id);
let report = null;

function versionOptions(select, rows, { withRunning }) {
  select.replaceChildren(...rows.map((r) => h("option", { value: `${r.id}` },
    `v${r.version}` + (withRunning ? `（运行中 ${(r.instances || {}).running || 0}）` : "") + (r.is_latest ? " · 当前" : ""))));
}

function chosen() {
  return [...document.querySelectorAll("#migration-report input[type=checkbox]:checked")].map((c) => Number(c.value));
}

function renderReport(result) {
  report = result;
  const rows = result.instances.map((r) => h("tr", { "data-instance": `${r.instance_id}`, class: r.safe ? "" : "muted" },
    h("td", {}, r.safe ? h("input", { type: "checkbox", value: `${r.instance_id}`, checked: true,
      "aria-label": `迁移 ${r.code}` }) : null),
    h("td", {}, h("a", { href: `/projects/${r.project_id}` }, r.code), h("div", { class: "small" }, r.name)),
    h("td", {}, r.stage),
    h("td", {}, r.safe ? h("span", { class: "badge green" }, "可以迁移") : h("span", { class: "badge red" }, "不能迁移")),
    h("td", { class: "reasons" }, r.safe ? `当前环节：${r.active.join("、") || "—"}` : h("ul", {}, r.reasons.map((x) => h("li", {}, x))))));
  $("migration-report").replaceChildren(rows.length ? h("table", { class: "list", id: "migration-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "选择"), h("th", {}, "项目"), h("th", {}, "阶段"), h("th", {}, "预检"),
      h("th", {}, "说明"))), h("tbody", {}, rows))
    : h("p", { class: "empty" }, `v${result.from_version} 上没有运行中的项目。`));
  $("migrate").disabled = !result.instances.some((r) => r.safe);
}

async function dryRun(event) {
  event?.preventDefault();
  try {
    renderReport(await api.post("/api/process-migrations/dry-run", {
      from_version_id: Number($("from-version").value), to_version_id: Number($("to-version").value) }));
  } catch (error) {
    $("migration-report").replaceChildren(h("p", { class: "form-error" }, describe(error)));
    $("migrate").disabled = true;
    fail(error);
  }
}

function migrate() {
  const ids = chosen();
  if (!ids.length) return toast("请至少选择一个可以迁移的项目", "error");
  openDialog({
    title: "确认迁移",
    body: h("p", {}, `将 ${ids.length} 个项目从 v${report.from_version} 迁移到 v${report.to_version}，每个项目单独迁移并留痕。`),
    okText: "迁移",
    onOk: async () => {
      try {
        const result = await api.post("/api/process-migrations", {
          from_version_id: Number($("from-version").value), to_version_id: Number($("to-version").value),
          instance_ids: ids });
        const refused = result.results.filter((r) => !r.migrated);
        toast(`已迁移 ${result.migrated} 个项目` + (refused.length ? `，${refused.length} 个未迁移：${refused[0].reasons[0]}` : ""),
          refused.length ? "error" : "success");
        await load({ keep: true });
        await dryRun();
        return null;
      } catch (error) {
        return describe(error);
      }
    },
  });
}

async function load({ keep = false } = {}) {
  try {
    const kept = [$("from-version").value, $("to-version").value];
    const versions = (await api.get("/api/processes")).filter((v) => v.process_key === "govflow_lifecycle");
    versions.sort((a, b) => b.version - a.version);
    versionOptions($("from-version"), versions, { withRunning: true });
    versionOptions($("to-version"), versions, { withRunning: false });
    if (keep) {
      [$("from-version").value, $("to-version").value] = kept;
      return;
    }
    const busiest = versions.slice(1).find((v) => (v.instances || {}).running) || versions[versions.length - 1];
    if (busiest) $("from-version").value = `${busiest.id}`;
    if (versions[0]) $("to-version").value = `${(versions.find((v) => v.is_latest) || versions[0]).id}`;
  } catch (error) {
    fail(error);
  }
}

$("migration-form").addEventListener("submit", dryRun);
$("migrate").addEventListener("click", migrate);
load();
