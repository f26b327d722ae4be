// 加签 signer's page: the host task, the holder's submission (后加签), the other signers, the project
// file so far, and 签署 (同意 / 不同意 with an opinion). GET /api/countersigns/ID decides what is shown.
import { api, describe, fail, fmtTime, h, pageData } from "../api.js";
import { renderForm } from "../schema-form.js";
import { taskFileSlots } from "../file-view.js";
import { countersignCard } from "../countersign-panel.js";
import { flash, person } from "./dept-common.js";

const { countersign_id: csId } = pageData();
const root = document.getElementById("countersign-page");

async function load() {
  let cs;
  try {
    cs = await api.get(`/api/countersigns/${csId}`);
  } catch (e) {
    root.replaceChildren(h("div", { class: "card narrow" }, h("h1", {}, e.status === 404 ? "加签不存在或无权查看" : "加载失败"),
      h("p", { class: "muted" }, describe(e)), h("p", {}, h("a", { class: "button", href: "/inbox" }, "返回我的待办"))));
    return;
  }
  const host = cs.host;
  const head = h("div", { class: "page-head" },
    h("div", {}, h("h1", {}, `${cs.kind_label}：${host.title}`),
      h("div", { class: "subtitle" },
        h("span", {}, `项目：${host.project.code} ${host.project.name}`),
        h("span", {}, `主办单位：${host.unit}`),
        h("span", {}, `主办期限：${host.due_date || "无期限"}`),
        h("span", {}, `加签人：${cs.signer}`))),
    h("a", { class: "button", href: "/inbox" }, "返回待办"));

  const main = h("section", { class: "card", id: "countersign-main" },
    h("p", {}, `${person(cs, "requested_by")} 于 ${fmtTime(cs.created_at)} 请${cs.signer}${cs.kind_label}。`),
    cs.note ? h("div", { class: "notice", role: "status" }, `说明：${cs.note}`) : null);
  if (cs.kind === "after" || cs.held_data) {
    const box = h("div", { id: "countersign-held-form" });
    main.append(h("h2", {}, "主办人提交的内容"), box);
    if (cs.held_data && cs.schema) renderForm(box, cs.schema, cs.held_data, { readOnly: true, attachments: [] });
    else box.append(h("p", { class: "muted" }, "主办人尚未提交；提交后您可以签署。"));
  }
  if (cs.state === "signed") {
    main.append(h("div", { class: "notice", role: "status", id: "countersign-done" },
      `已于 ${fmtTime(cs.signed_at)} 由 ${person(cs, "signed_by")} 签署：${cs.decision}。${cs.opinion || ""}`));
  } else if (cs.state !== "open") {
    main.append(h("div", { class: "notice warn", role: "status" }, cs.state === "cancelled" ? "该加签已被主办人撤销。" : "主办任务已结束，无需签署。"));
  } else if (cs.may_sign) main.append(signForm(cs));

  const file = taskFileSlots(host.id);
  const others = cs.others.length ? countersignCard({ countersigns: cs.others }, false, load) : null;
  root.replaceChildren(head, h("div", { class: "grid two" }, h("div", {}, main, file.steps), h("aside", { class: "side" }, others)));
}

function signForm(cs) {
  const radio = (value) => h("label", {}, h("input", { type: "radio", name: "decision", value, checked: value === "同意" }), value);
  const decision = h("div", { class: "cs-decision", role: "radiogroup" }, radio("同意"), radio("不同意"));
  const opinion = h("textarea", { id: "countersign-opinion", maxlength: 2000, rows: 4, placeholder: "签署意见（不同意时须写明理由）" });
  const help = cs.kind === "after" ? "后加签不同意时，主办人的提交退回给其修改后重新提交。" : "全部前加签签署后，主办人才能提交。";
  const button = h("button", { type: "button", class: "primary", id: "countersign-sign", onclick: async () => {
    const value = decision.querySelector("input:checked").value;
    button.disabled = true;
    try {
      const out = await api.post(`/api/countersigns/${cs.id}/sign`, { decision: value, opinion: opinion.value });
      flash(out.host_completed ? `已签署（${value}），${cs.host.title} 已流转到下一步` : `已签署：${value}`);
      location.href = "/inbox";
    } catch (e) { fail(e); button.disabled = false; }
  } }, "签署");
  return h("div", { id: "countersign-sign-form" }, h("h2", {}, "签署意见"), h("p", { class: "muted" }, help),
    decision, h("label", {}, "意见", opinion), h("div", { class: "actions" }, button));
}

load();
