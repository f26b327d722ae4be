// What a deploy or a rollback will change, shown before it goes live (POST /api/processes/preview,
// GET /api/processes/{id}/preview): the version it replaces, elements added / removed / renamed,
// forms and lanes, and the problems the checker found (then nothing can be confirmed).
import { fmtTime, h } from "./api.js";

const TYPE = {
  userTask: "用户任务", manualTask: "人工任务", serviceTask: "服务任务", scriptTask: "脚本任务",
  businessRuleTask: "业务规则任务", callActivity: "调用活动", subProcess: "子流程", exclusiveGateway: "排他网关",
  parallelGateway: "并行网关", inclusiveGateway: "包容网关", eventBasedGateway: "事件网关", startEvent: "开始事件",
  endEvent: "结束事件", intermediateCatchEvent: "中间事件", intermediateThrowEvent: "中间事件", boundaryEvent: "边界事件",
};

const label = (e) => `${TYPE[e.type] || e.type} ${e.name || ""}（${e.id}）`;

function section(title, items, cls) {
  if (!items.length) return null;
  return h("div", { class: `preview-part ${cls || ""}` },
    h("h3", {}, `${title}（${items.length}）`),
    h("ul", { class: "help-list" }, items.slice(0, 30).map((t) => h("li", {}, t)),
      items.length > 30 ? h("li", { class: "muted" }, `另有 ${items.length - 30} 项`) : null));
}

export function changesView(changes) {
  const el = changes.elements;
  const parts = [
    section("新增元素", el.added.map(label), "added"),
    section("删除元素", el.removed.map(label), "removed"),
    section("修改元素", el.changed.map((c) => `${c.id}：${TYPE[c.before.type] || c.before.type} “${c.before.name}” → `
      + `${TYPE[c.after.type] || c.after.type} “${c.after.name}”`)),
    section("表单变化", [
      ...changes.forms.tasks.map((f) => `${f.task}：${f.before || "无"} → ${f.after || "无"}`),
    ]),
    section("泳道变化", [
      ...changes.lanes.added.map((n) => `新增泳道 ${n}`),
      ...changes.lanes.removed.map((n) => `删除泳道 ${n}`),
      ...changes.lanes.moved.map((m) => `${m.element}：${m.before} → ${m.after}`),
    ]),
    section("顺序流", [
      ...(changes.flows.added.length ? [`新增 ${changes.flows.added.length} 条`] : []),
      ...(changes.flows.removed.length ? [`删除 ${changes.flows.removed.length} 条`] : []),
      ...(changes.flows.rewired.length ? [`改接 ${changes.flows.rewired.length} 条：${changes.flows.rewired.join("、")}`] : []),
    ]),
  ].filter(Boolean);
  if (!parts.length) {
    const files = changes.files.changed.length ? `（仅文件内容变化：${changes.files.changed.join("、")}，如注释或图形位置）` : "";
    return h("p", { class: "muted", id: "preview-changes" }, `元素、表单和泳道没有变化${files}。`);
  }
  return h("div", { class: "preview-changes", id: "preview-changes" }, parts);
}

function versionLine(v) {
  if (!v) return "当前还没有版本。";
  return `版本 ${v.version}（${v.deployed_by_name || v.deployed_by || "—"} 于 ${fmtTime(v.deployed_at)} 部署）`;
}

// Resolves to {ok, reason}. preview: the server's answer; target: "deploy" or "rollback".
export function confirmPreview(preview, { target }) {
  return new Promise((resolve) => {
    const rollback = target === "rollback";
    const reason = h("textarea", { id: "deploy-reason", rows: 2, maxlength: 500,
      placeholder: rollback ? "回退原因（记入部署记录和审计）" : "说明（可选，记入部署记录和审计）" });
    const head = rollback
      ? `把版本 ${preview.version.version} 重新设为最新，替换当前的${versionLine(preview.replaces)}`
      : `将替换主流程 ${preview.process_key} 的${versionLine(preview.replaces)}`
        + (preview.effect === "make_current" ? `；内容与历史版本 ${preview.same_as.version} 相同，将把它重新设为最新。` : "，部署为新版本。");
    const dialog = h("dialog", { class: "confirm-dialog preview-dialog", id: "deploy-dialog" },
      h("h2", {}, rollback ? "回退到历史版本" : "部署新版本"),
      h("p", { id: "preview-replaces" }, head),
      changesView(preview.changes),
      h("ul", { class: "help-list" },
        h("li", {}, "运行中的项目仍按其原版本办理，不受影响；"),
        h("li", {}, "确认后新申报的项目使用该版本；任何时候都可以在版本列表中回退。")),
      h("label", { class: "prop-field" }, h("span", { class: "prop-label" }, "说明"), reason),
      h("div", { class: "actions dialog-actions" },
        h("button", { type: "button", id: "preview-cancel", onclick: () => dialog.close("cancel") }, "取消"),
        h("button", { type: "button", class: "primary", id: "preview-confirm", onclick: () => dialog.close("ok") },
          rollback ? "确认回退" : "确认部署")));
    dialog.addEventListener("close", () => {
      resolve({ ok: dialog.returnValue === "ok", reason: reason.value.trim() || null });
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
