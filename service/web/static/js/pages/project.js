// 项目详情: facts, the process diagram with where the project stands, the timeline of steps,
// current tasks, documents, the audit chain status and the dossier export.
import { api, describe, fmtDate, fmtMoney, fmtTime, h, pageData, STATUS_LABELS, toast } from "../api.js";
import { historyTimeline, takeFlash } from "./dept-common.js";
import { projectFileCard } from "../file-view.js";
import { morePager } from "../pager.js";
import { ccBanner, ccButton } from "../carbon-copy.js";
import { supervisionCard, suspensionBanner } from "../supervision-panel.js";

const { project_id: projectId } = pageData();
const root = document.getElementById("project-page");

const STATUS_BADGE = { active: "blue", completed: "green", ended: "" };

function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...children);
}

function facts(p) {
  const rows = [
    ["项目编号", p.code],
    ["项目名称", p.name],
    ["建设单位", p.unit],
    ["参建单位", (p.participants || []).join("、") || "无"],
    ["预算年度", p.budget_year],
    ["投资估算", p.estimate !== null && p.estimate !== undefined ? fmtMoney(p.estimate) : "—"],
    ["当前阶段", p.stage],
    ["状态", (STATUS_LABELS[p.status] || p.status) + (p.suspension_label ? `（${p.suspension_label}）` : "")],
    ["办理结果", p.outcome || "—"],
    ["紧急项目", p.is_urgent ? "是" : "否"],
    ["申报", `${p.declared_by_name || p.declared_by} · ${fmtTime(p.declared_at)}`],
    ["流程版本", p.version ? `v${p.version.version}` + ((p.version_changes || []).length
      ? `（${p.version_changes.map((c) => `${fmtTime(c.at)} 自 v${c.from_version} 迁移`).join("；")}）` : "") : "—"],
  ];
  return h("dl", { class: "kv", id: "project-facts" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v ?? "—"))]));
}

function currentTasks(p) {
  const tasks = p.current_tasks || [];
  if (!tasks.length) return h("p", { class: "muted" }, p.status === "active" ? "当前没有待办任务（等待流程事件）" : "流程已结束");
  return h("table", { class: "list", id: "current-tasks" },
    h("thead", {}, h("tr", {}, h("th", {}, "任务"), h("th", {}, "办理单位"), h("th", {}, "期限"))),
    h("tbody", {}, tasks.map((t) => h("tr", { dataset: { task: t.task } },
      h("td", {}, h("a", { href: `/tasks/${t.id}` }, t.title), t.round > 1 ? h("span", { class: "badge blue", style: "margin-left:6px" }, `第${t.round}轮`) : null,
        t.assignee ? h("span", { class: "cell-sub" }, `认领人：${t.assignee_name || t.assignee}`) : null),
      h("td", {}, t.unit),
      h("td", {}, t.due_date ? fmtDate(t.due_date) : "无期限", t.due_provisional ? h("span", { class: "badge", style: "margin-left:4px" }, "预估") : null)))));
}

function documents(p) {
  const files = p.attachments || [];
  if (!files.length) return h("p", { class: "muted" }, "暂无附件");
  return h("ul", { class: "list-plain", id: "documents" }, files.map((a) => h("li", {},
    h("a", { href: `/api/attachments/${a.id}` }, a.filename),
    h("span", { class: "cell-sub" }, `${Math.max(1, Math.round(a.size / 1024))} KB · ${a.uploaded_by_name || a.uploaded_by} · ${fmtTime(a.uploaded_at)}`))));
}

// One printable 审批单 per completed step the reader may read (the server renders it: /tasks/ID/approval).
function approvalSheets(p) {
  const steps = (p.completed_steps || []).filter((st) => st.data !== null && st.data !== undefined);
  if (!steps.length) return h("p", { class: "muted" }, "暂无已办结环节");
  return h("ul", { class: "list-plain", id: "approval-sheets" }, steps.map((st) => h("li", {},
    h("a", { href: `/tasks/${st.id}/approval`, target: "_blank", rel: "noopener" }, `${st.title}${st.round > 1 ? `（第${st.round}轮）` : ""}`),
    h("span", { class: "cell-sub" }, h("a", { href: `/api/tasks/${st.id}/approval.pdf`, download: "" }, "PDF"),
      ` · ${st.unit} · ${fmtTime(st.completed_at)}`))));
}

async function drawDiagram(box, status) {
  if (typeof window.BpmnJS !== "function") {
    box.replaceChildren(h("p", { class: "empty" }, "流程图组件未加载"));
    return;
  }
  let d;
  try {
    d = await api.get(`/api/projects/${projectId}/diagram`);
  } catch (e) {
    box.replaceChildren(h("p", { class: "empty" }, e.display || "流程图加载失败"));
    return;
  }
  const viewer = new window.BpmnJS({ container: box });
  try {
    await viewer.importXML(d.bpmn);
  } catch (e) {
    box.replaceChildren(h("p", { class: "empty" }, `流程图无法显示：${e.message || e}`));
    return;
  }
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  const mark = (ids, cls) => (ids || []).forEach((id) => { if (registry.get(id)) canvas.addMarker(id, cls); });
  mark((d.completed || []).filter((id) => !(d.active || []).includes(id)), "gf-completed");
  mark(d.active, "gf-active");
  mark(d.overdue, "gf-overdue");
  // Elements done more than once (退回, 修改后重审) carry their count in the tooltip.
  for (const [id, n] of Object.entries(d.counts || {})) {
    const gfx = registry.getGraphics(id);
    if (gfx && n > 1) gfx.setAttribute("data-count", n);
  }
  // The lifecycle is wide: show where the project stands at a readable scale; 适应窗口 shows all.
  const focus = () => {
    canvas.zoom("fit-viewport");
    const here = (d.overdue || []).concat(d.active || []).map((id) => registry.get(id)).filter(Boolean);
    if (canvas.zoom() >= 0.6 || !here.length) return;
    const xs = here.flatMap((e) => [e.x, e.x + e.width]);
    const ys = here.flatMap((e) => [e.y, e.y + e.height]);
    const cx = (Math.min(...xs) + Math.max(...xs)) / 2;
    const cy = (Math.min(...ys) + Math.max(...ys)) / 2;
    const rect = box.getBoundingClientRect();
    const bw = Math.max(...xs) - Math.min(...xs) + 700;
    const bh = Math.max(...ys) - Math.min(...ys) + 160;
    const scale = Math.max(canvas.zoom(), Math.min(rect.width / bw, rect.height / bh, 0.9));
    canvas.viewbox({ x: cx - rect.width / scale / 2, y: cy - rect.height / scale / 2, width: rect.width / scale, height: rect.height / scale });
  };
  focus();
  status.textContent = `流程版本 v${d.version} · 已完成 ${(d.completed || []).length} 个节点，进行中 ${(d.active || []).length} 个${(d.overdue || []).length ? `，逾期 ${d.overdue.length} 个` : ""}`;
  document.getElementById("zoom-fit").onclick = () => canvas.zoom("fit-viewport", "auto");
  document.getElementById("zoom-here").onclick = focus;
  document.getElementById("zoom-in").onclick = () => canvas.zoom(canvas.zoom() * 1.2);
  document.getElementById("zoom-out").onclick = () => canvas.zoom(canvas.zoom() / 1.2);
  box.dataset.ready = "true";
}

async function auditStatus(box) {
  try {
    const a = await api.get(`/api/projects/${projectId}/audit`);
    box.replaceChildren(a.verified
      ? h("span", { class: "audit-ok", id: "audit-status" }, `✓ 审计链完整（${(a.records || []).length} 条记录，哈希校验通过）`)
      : h("span", { class: "audit-bad", id: "audit-status" }, `✗ 审计链校验失败：第 ${a.first_bad_seq} 条记录被改动`));
  } catch (e) {
    box.replaceChildren(h("span", { class: "muted" }, e.display || "无法读取审计记录"));
  }
}

// The project answer holds the latest records only; 更多 reads the page before, oldest on top.
function historyPager(p) {
  const pages = morePager(async (before) => {
    try {
      const page = await api.get(`/api/projects/${projectId}/history?before=${before}`);
      p.history = [...page.items, ...(p.history || [])];
      pages.update(page.next, p.history.length, page.total);
      document.getElementById("timeline").replaceChildren(historyTimeline(p));
    } catch (e) {
      toast(e.display || "办理历程加载失败", "error");
    }
  });
  pages.el.id = "history-pager";
  pages.update(p.history_next, (p.history || []).length, p.history_total);
  return pages.el;
}

async function load() {
  let p;
  try {
    p = await api.get(`/api/projects/${projectId}`);
  } catch (e) {
    root.replaceChildren(h("div", { class: "card narrow" }, h("h1", {}, e.status === 404 ? "项目不存在" : "项目加载失败"),
      h("p", { class: "muted" }, describe(e)), h("a", { class: "button", href: "/projects" }, "返回项目库")));
    return;
  }
  document.title = `${p.name} · 东营市政务数字化项目管理`;
  const diagramBox = h("div", { class: "diagram project-diagram", id: "diagram" });
  const diagramStatus = h("span", { class: "muted", id: "diagram-status" }, "正在加载流程图…");
  const audit = h("div", {}, h("span", { class: "muted" }, "正在校验…"));
  root.replaceChildren(
    h("div", { class: "page-head" },
      h("div", {},
        h("h1", {}, p.name),
        h("div", { class: "subtitle" },
          h("span", {}, p.code),
          h("span", { class: `badge ${STATUS_BADGE[p.status] || ""}`, id: "project-status" }, STATUS_LABELS[p.status] || p.status),
          p.suspension_label ? h("span", { class: "badge suspended", id: "project-suspension" }, p.suspension_label) : null,
          h("span", {}, `阶段：${p.stage}`),
          h("span", {}, `建设单位：${p.unit}`),
          p.version ? h("span", { id: "process-version" }, `流程版本 v${p.version.version}`) : null)),
      h("div", { class: "actions" },
        h("a", { class: "button", href: "/projects" }, "返回项目库"),
        ccButton({ project: projectId }),
        // Only dossier readers may export (the API says so in can_export): no button that ends in a 403.
        p.can_export ? h("a", { class: "button primary", id: "export-zip", href: `/api/projects/${projectId}/export.zip`, download: "" }, "导出档案（ZIP）") : null)),
    ccBanner() || "",
    suspensionBanner(p, load) || "",
    card("流程进度", diagramBox,
          h("div", { class: "diagram-tools" },
            h("div", { class: "legend" },
              h("span", {}, h("i", { class: "l-done" }), "已完成"),
              h("span", {}, h("i", { class: "l-active" }), "进行中"),
              h("span", {}, h("i", { class: "l-overdue" }), "已逾期"),
              h("span", {}, h("i", { class: "l-todo" }), "未开始")),
            diagramStatus,
            h("div", { class: "actions" },
              h("button", { type: "button", id: "zoom-out", title: "缩小" }, "－"),
              h("button", { type: "button", id: "zoom-in", title: "放大" }, "＋"),
              h("button", { type: "button", id: "zoom-here" }, "定位当前"),
              h("button", { type: "button", id: "zoom-fit" }, "显示全图")))),
    h("div", { class: "grid two" },
      h("div", {},
        card("办理历程", historyPager(p), h("div", { id: "timeline" }, historyTimeline(p))),
        projectFileCard(projectId)),
      h("div", {},
        card("项目信息", facts(p)),
        card("当前任务", currentTasks(p)),
        supervisionCard(p, load),
        card("项目档案附件", documents(p)),
        card("审批单（打印、PDF）", approvalSheets(p)),
        card("审计校验", audit))));
  auditStatus(audit);
  drawDiagram(diagramBox, diagramStatus);
}

const flashed = takeFlash();
if (flashed) toast(flashed, "success");
load();
