// 审批方式 of a multi-instance user task in the modeler's properties panel: one select writes the
// `approval_mode` extension property and the loop characteristics it means (isSequential and the
// completionCondition), as one undoable command. The conditions mirror service/engine/approval.py;
// the server's 校验 refuses a model where mode, condition and isSequential disagree.

export const APPROVAL_MODES = [
  ["", "不设置（全部实例办结后继续）"],
  ["all", "会签：全部同意（任一有异议即结束）"],
  ["ratio:2/3", "比例会签：2/3 同意即通过"],
  ["ratio:1/2", "比例会签：过半数同意即通过"],
  ["any", "或签：任一家决定即可"],
  ["sequential", "依次审批：逐家办理，任一有异议即结束"],
];

const RATIO = /^ratio:(\d{1,3})\/(\d{1,3})$/;

export function conditionFor(mode) {
  if (mode === "any") return "approval_decided >= 1";
  const m = RATIO.exec(mode || "");
  if (m) {
    const [p, q] = [m[1], m[2]];
    return `approval_agreed * ${q} >= approval_total * ${p} or (approval_total - approval_objected) * ${q} < approval_total * ${p}`;
  }
  return mode ? "approval_objected > 0" : "";
}

export function isMultiInstance(bo) {
  return bo?.loopCharacteristics?.$type === "bpmn:MultiInstanceLoopCharacteristics";
}

// `propertyCommand`: the modeler's command id that sets one Spiff property ({element, name, value}).
export function registerApprovalMode({ commandStack, moddle, propertyHandler }) {
  class UpdateApprovalMode {
    execute(context) {
      const { element, mode } = context;
      const loop = element.businessObject.loopCharacteristics;
      context.old = { isSequential: loop.isSequential, completionCondition: loop.completionCondition };
      context.property = { element, name: "approval_mode", value: mode };
      context.propertyHandler = new propertyHandler();
      context.propertyHandler.execute(context.property);
      loop.isSequential = mode === "sequential";
      const body = conditionFor(mode);
      loop.completionCondition = body ? moddle.create("bpmn:FormalExpression", { body }) : undefined;
      if (loop.completionCondition) loop.completionCondition.$parent = loop;
      return [element];
    }

    revert(context) {
      const loop = context.element.businessObject.loopCharacteristics;
      loop.isSequential = context.old.isSequential;
      loop.completionCondition = context.old.completionCondition;
      context.propertyHandler.revert(context.property);
      return [context.element];
    }
  }
  commandStack.registerHandler("govflow.approvalMode.update", UpdateApprovalMode);
}

export function approvalModeField({ element, props, commandStack, h, field }) {
  const bo = element.businessObject;
  if (!isMultiInstance(bo)) return null;
  const current = props.approval_mode ?? "";
  const options = [...APPROVAL_MODES];
  if (current && !options.some(([v]) => v === current)) options.push([current, `${current}（自定义）`]);
  const select = h("select", { id: "prop-approval-mode", "aria-label": "审批方式" },
    options.map(([value, label]) => h("option", { value }, label)));
  select.value = current;
  select.addEventListener("change", () => {
    if (select.value === (props.approval_mode ?? "")) return;
    commandStack.execute("govflow.approvalMode.update", { element, mode: select.value });
  });
  const loop = bo.loopCharacteristics;
  const condition = loop.completionCondition?.body || "";
  return h("fieldset", { class: "spiff-props", id: "approval-mode" }, h("legend", {}, "审批方式（多实例）"),
    field("审批方式", select, "决定字段 confirmation（同意 / 有异议）须列入“进入流程的字段”；结果写入 approval_result 指定的变量"),
    h("dl", { class: "kv prop-kv" },
      h("dt", {}, "执行方式"), h("dd", { "data-testid": "prop-sequential" }, loop.isSequential ? "依次" : "并行"),
      h("dt", {}, "完成条件"), h("dd", {}, h("code", { "data-testid": "prop-completion" }, condition || "无"))));
}
