// The project file (项目档案, docs/project-file.md): each earlier step's submitted form, read-only,
// drawn by schema-form.js (labels, 万元, dates, tables, attachments under their field), newest
// first and collapsible; and, at a consolidation step, the parallel branches side by side.
// The server decides what a unit may read (GET /api/tasks/ID/file, /api/projects/ID/file).
//
//   const slots = taskFileSlots(taskId);   → {branches, steps}: elements filled when the file arrives
//   renderSteps(container, steps)          → the <details> list
//   renderBranches(container, branches)    → the comparison table
//   decisionText(summary)                  → "评审结论：同意 · 审定投资概算：460.00 万元"
import { api, fmtTime, h } from "./api.js";
import { renderForm } from "./schema-form.js";

const who = (row) => row.completed_by_name || row.completed_by || "—";

export function formatValue(item) {
  const v = item.value;
  if (v === undefined || v === null || v === "") return "—";
  if (item.kind === "boolean") return v === true ? "是" : v === false ? "否" : String(v);
  if (item.kind === "money") {
    return `${Number(v).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 })} 万元`;
  }
  return String(v);
}

export function decisionText(summary) {
  return (summary || []).map((f) => `${f.title}：${formatValue(f)}`).join(" · ");
}

function decisionChips(summary) {
  if (!summary || !summary.length) return null;
  return h("span", { class: "fv-chips" }, summary.map((f) =>
    h("span", { class: `fv-chip${f.kind === "choice" ? " choice" : ""}`, dataset: { field: f.field } },
      h("span", { class: "fv-chip-k" }, f.title), formatValue(f))));
}

function stepAttachments(step) {
  return [...Object.values(step.attachments || {}).flat(), ...(step.other_attachments || [])];
}

function attachmentLine(a) {
  return h("li", {}, h("a", { href: `/api/attachments/${a.id}` }, a.filename),
    h("span", { class: "cell-sub" }, ` ${Math.max(1, Math.round(a.size / 1024))} KB`));
}

function stepNode(step, open) {
  const body = h("div", { class: "fv-body" });
  const details = h("details", { class: "fv-step", dataset: { task: step.task, id: String(step.id) }, open },
    h("summary", {},
      h("span", { class: "fv-title" }, step.title,
        step.round > 1 ? h("span", { class: "badge blue fv-round" }, `第${step.round}轮`) : null),
      h("span", { class: "fv-meta" }, `${step.unit} · ${who(step)} · ${fmtTime(step.completed_at)}`),
      decisionChips(step.summary)),
    body);
  // Drawn when first opened: a long file stays cheap until someone reads a step.
  let drawn = false;
  const draw = () => {
    if (drawn || !details.open) return;
    drawn = true;
    const formBox = h("div", { class: "fv-form" });
    body.append(formBox);
    if (step.schema) {
      renderForm(formBox, step.schema, step.data || {}, { readOnly: true, attachments: stepAttachments(step) });
      // data-path belongs to the form being worked on (its 422s are placed by it); an earlier
      // step's copy keeps the path under another name so the two never collide.
      formBox.querySelectorAll("[data-path]").forEach((n) => {
        n.dataset.filePath = n.dataset.path;
        delete n.dataset.path;
      });
    } else formBox.append(h("p", { class: "muted" }, "该步骤没有表单。"));
    if ((step.countersigns || []).length) {
      // 加签 opinions under the host step (service.operations.countersign).
      body.append(h("div", { class: "fv-other fv-countersigns" }, h("span", { class: "muted" }, "加签意见"),
        h("ul", { class: "list-plain" }, step.countersigns.map((c) => h("li", {},
          h("strong", {}, `${c.kind_label} · ${c.signer} · ${c.decision}`), `：${c.opinion}`,
          h("span", { class: "cell-sub" }, ` ${c.signed_by_name || c.signed_by} · ${fmtTime(c.signed_at)}`))))));
    }
    if ((step.other_attachments || []).length) {
      body.append(h("div", { class: "fv-other" }, h("span", { class: "muted" }, "办理时上传的其他附件"),
        h("ul", { class: "list-plain" }, step.other_attachments.map(attachmentLine))));
    }
    body.append(h("p", { class: "fv-open" }, h("a", { href: `/tasks/${step.id}` }, "打开该步骤（只读）")));
  };
  details.addEventListener("toggle", draw);
  draw();
  return details;
}

export function renderSteps(container, steps) {
  if (!steps || !steps.length) {
    container.replaceChildren(h("p", { class: "muted" }, "此前尚无已办步骤。"));
    return;
  }
  const list = h("div", { class: "fv-steps" }, steps.map((s, i) => stepNode(s, i === 0)));
  const toggle = h("button", { type: "button", class: "fv-toggle", onclick: () => {
    const all = [...list.querySelectorAll("details.fv-step")];
    const open = !all.every((d) => d.open);
    all.forEach((d) => { d.open = open; });
    toggle.textContent = open ? "全部收起" : "全部展开";
  } }, "全部展开");
  container.replaceChildren(h("div", { class: "fv-tools" }, h("span", { class: "muted" }, `共 ${steps.length} 个已办步骤，最新在前`), toggle), list);
}

export function renderBranches(container, branches) {
  const rows = (branches && branches.rows) || [];
  if (!rows.length) {
    container.replaceChildren(h("p", { class: "muted" }, "各并行分支尚无办结结果。"));
    return;
  }
  const table = h("table", { class: "list fv-branch-table", id: "branch-table" },
    h("thead", {}, h("tr", {}, ["部门", "结论", "关键数字", "意见", "办理人", "办结时间"].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows.map((r) => h("tr", { dataset: { task: r.task, unit: r.unit } },
      h("td", { class: "fv-unit" }, h("a", { href: `/tasks/${r.id}` }, r.unit)),
      h("td", { class: "fv-conclusion" }, r.conclusion
        ? h("span", { class: `badge ${/不同意|不通过/.test(r.conclusion.value) ? "red" : /修改/.test(r.conclusion.value) ? "yellow" : "green"}` }, formatValue(r.conclusion))
        : "—"),
      h("td", { class: "fv-figures" }, (r.figures || []).length
        ? (r.figures || []).map((f) => h("div", {}, `${f.title}：${formatValue(f)}`)) : "—"),
      h("td", { class: "fv-opinion" }, r.opinion ? h("div", {}, h("span", { class: "cell-sub" }, r.opinion.title), r.opinion.text) : "—"),
      h("td", {}, who(r)),
      h("td", { class: "fv-when" }, fmtTime(r.completed_at))))));
  container.replaceChildren(h("div", { class: "fv-scroll" }, table));
}

// The two cards of a task page, filled once GET /api/tasks/ID/file answers. A unit that may not
// read the file (the server says 404) gets no cards at all.
export function taskFileSlots(taskId) {
  const branchBox = h("div", { id: "task-branches" }, h("p", { class: "muted" }, "正在加载…"));
  const stepBox = h("div", { id: "task-file" }, h("p", { class: "muted" }, "正在加载项目档案…"));
  const branches = h("section", { class: "card fv-card", hidden: true }, h("h2", {}, "各部门意见对照"), branchBox);
  const steps = h("section", { class: "card fv-card", id: "project-file-card" }, h("h2", {}, "项目档案（此前各步骤）"), stepBox);
  api.get(`/api/tasks/${taskId}/file`).then((file) => {
    if (file.branches) {
      branches.hidden = false;
      renderBranches(branchBox, file.branches);
    }
    renderSteps(stepBox, file.steps);
  }).catch((e) => {
    if (e.status === 404 || e.status === 403) steps.hidden = true;
    else stepBox.replaceChildren(h("p", { class: "muted" }, e.display || "项目档案加载失败"));
  });
  return { branches, steps };
}

// The project page's card: the whole file; refused (403) for a unit with no part in the project.
export function projectFileCard(projectId) {
  const box = h("div", { id: "project-file" }, h("p", { class: "muted" }, "正在加载项目档案…"));
  const card = h("section", { class: "card fv-card", id: "project-file-card" }, h("h2", {}, "项目档案（各步骤表单）"), box);
  api.get(`/api/projects/${projectId}/file`).then((file) => renderSteps(box, file.steps)).catch((e) => {
    box.replaceChildren(h("p", { class: "muted" }, e.status === 403 ? "项目档案仅对建设单位、参建单位、承办单位和督办、审计人员可见。" : (e.display || "项目档案加载失败")));
  });
  return card;
}
