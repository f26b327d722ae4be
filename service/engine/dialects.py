"""Foreign BPMN dialects: Camunda, Flowable, Activiti and Zeebe files recognised and explained.

Designers bring models from Camunda Modeler or Flowable. SpiffWorkflow ignores their extensions
silently (an assignee, a form key, a Java class) or fails on what they imply with a message that is
true but unhelpful ("invalid syntax" for `${isHoliday}`, "A Service Task must have an operator").
This module finds those constructs on the lxml tree and says, in Chinese, what they are and what
govflow expects instead, with the element id and line. Pure reading: nothing here runs anything.

A finding `covers` its element: the generic syntax / engine message for the same element would only
repeat it less clearly, so validation leaves it out."""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

__all__ = ["Finding", "find", "is_bpmn_name", "is_dmn_name", "is_model_name", "MODEL_SUFFIXES"]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DIALECTS = {
    "http://camunda.org/schema/1.0/bpmn": "Camunda",
    "http://camunda.org/schema/zeebe/1.0": "Camunda 8 (Zeebe)",
    "http://flowable.org/bpmn": "Flowable",
    "http://activiti.org/bpmn": "Activiti",
    "http://activiti.com/modeler": "Activiti",
}
# Camunda/Flowable export `.bpmn20.xml`; it is the same BPMN 2.0 XML.
MODEL_SUFFIXES = (".bpmn", ".bpmn20.xml", ".dmn")


def is_bpmn_name(name: str) -> bool:
    return name.endswith((".bpmn", ".bpmn20.xml"))


def is_dmn_name(name: str) -> bool:
    return name.endswith(".dmn")


def is_model_name(name: str) -> bool:
    return is_bpmn_name(name) or is_dmn_name(name)


@dataclass(frozen=True)
class Finding:
    element: etree._Element  # the BPMN element the problem belongs to (its id names it)
    message: str
    line: int | None = None  # of the foreign construct, when it is not the element's own line
    covers: bool = True


# ${…} (JUEL, Camunda/Flowable/Activiti) and #{…} (deferred JUEL).
_JUEL = re.compile(r"[$#]\{(.*?)\}", re.S)
# Quartz / Spring cron: 5–7 fields of digits, * ? / , - L W # and month/day names.
_CRON_FIELD = r"(?:[0-9*?/,\-LW#]+|[A-Za-z]{3}(?:-[A-Za-z]{3})?)"
_CRON = re.compile(rf"\s*{_CRON_FIELD}(?:\s+{_CRON_FIELD}){{4,6}}\s*")
_ASSIGNMENT = ("assignee", "candidateGroups", "candidateUsers", "candidateStarterGroups",
               "candidateStarterUsers", "owner", "dueDate", "priority")
_JAVA = ("class", "delegateExpression", "expression", "resultVariable")
_EXTERNAL = ("topic", "taskPriority")


TYPE_ZH = {"userTask": "用户任务", "manualTask": "人工任务", "serviceTask": "服务任务", "scriptTask": "脚本任务",
           "businessRuleTask": "业务规则任务", "callActivity": "调用活动", "subProcess": "子流程",
           "sendTask": "发送任务", "receiveTask": "接收任务", "task": "任务", "exclusiveGateway": "排他网关",
           "parallelGateway": "并行网关",
           "inclusiveGateway": "包容网关", "eventBasedGateway": "事件网关", "startEvent": "开始事件",
           "endEvent": "结束事件", "intermediateCatchEvent": "中间捕获事件", "intermediateThrowEvent": "中间抛出事件",
           "boundaryEvent": "边界事件", "sequenceFlow": "顺序流", "process": "流程", "definitions": "文件"}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _label(el: etree._Element) -> str:
    return f"{TYPE_ZH.get(_local(el), _local(el))} {el.get('id') or ''}".strip()


def _flow_node(el: etree._Element) -> etree._Element:
    """The nearest BPMN element with an id that is not an event definition: what a nested
    expression or extension belongs to (the event, not its timerEventDefinition)."""
    node: etree._Element | None = el
    while node is not None:
        if (isinstance(node.tag, str) and etree.QName(node).namespace == BPMN_NS and node.get("id")
                and not _local(node).endswith("EventDefinition")):
            return node
        node = node.getparent()
    return el


def _python_hint(expression: str) -> str:
    """A Python rewriting of a simple JUEL expression, offered as an example (not applied)."""
    text = expression.strip()
    for juel, py in ((r"&&", " and "), (r"\|\|", " or "), (r"!(?!=)", "not "), (r"\beq\b", "=="),
                     (r"\bne\b", "!="), (r"\bgt\b", ">"), (r"\blt\b", "<"), (r"\bge\b", ">="),
                     (r"\ble\b", "<="), (r"\btrue\b", "True"), (r"\bfalse\b", "False"), (r"\bnull\b", "None"),
                     (r"\bempty\s+(\w+)", r"not \1"), (r"\band\b", "and"), (r"\bor\b", "or")):
        text = re.sub(juel, py, text)
    return re.sub(r"\s+", " ", text).strip() or "…"


def _dialect(el: etree._Element, attr: str | None = None) -> str | None:
    ns = etree.QName(attr).namespace if attr else etree.QName(el).namespace
    return DIALECTS.get(ns or "")


def _expressions(root: etree._Element) -> list[Finding]:
    out: list[Finding] = []
    containers = ("conditionExpression", "condition", "timeDate", "timeDuration", "timeCycle", "loopCardinality",
                  "completionCondition", "script")
    for el in root.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in containers)):
        text = el.text or ""
        match = _JUEL.search(text)
        if match is None:
            continue
        owner = _flow_node(el.getparent() if el.getparent() is not None else el)
        what = {"conditionExpression": "流转条件", "condition": "条件", "script": "脚本",
                "loopCardinality": "多实例数量", "completionCondition": "多实例完成条件"}.get(_local(el), "定时表达式")
        hint = _python_hint(match.group(1))
        out.append(Finding(owner, f"{what}使用了 JUEL 表达式 {match.group(0)[:80]}（Camunda/Flowable 写法），govflow "
                                  f"不支持。修改方法：改写为 Python 表达式，去掉 ${{ }}，"
                                  f"例如 {hint}", line=el.sourceline))
    return out


def _cron_timers(root: etree._Element) -> list[Finding]:
    out: list[Finding] = []
    for el in root.iter(f"{{{BPMN_NS}}}timeCycle", f"{{{BPMN_NS}}}timeDate", f"{{{BPMN_NS}}}timeDuration"):
        text = (el.text or "").strip().strip("\"'")
        if not _CRON.fullmatch(text) or text.isdigit():
            continue
        owner = _flow_node(el)
        out.append(Finding(owner, f"定时器使用了 cron 表达式 {text}（Quartz/Camunda 写法），govflow 不支持。修改方法："
                                  "改用带引号的 ISO 8601 文本，例如 \"PT24H\"（时长）、"
                                  "\"2027-01-04T09:00:00+08:00\"（时间点）、"
                                  "\"R/2027-01-04T09:00:00+08:00/P1D\"（每天重复），或按工作日计算："
                                  "working_days_after(start_date, 3) + \"T09:00:00+08:00\"", line=el.sourceline))
    return out


def _foreign_attributes(root: etree._Element) -> list[Finding]:
    out: list[Finding] = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        foreign = [(a, _dialect(el, a)) for a in el.attrib if a.startswith("{")]
        foreign = [(a, d) for a, d in foreign if d]
        if not foreign:
            continue
        names = {etree.QName(a).localname: (a, d) for a, d in foreign}
        dialect = foreign[0][1]
        if names.get("type") and el.get(names["type"][0]) == "external" or any(n in names for n in _EXTERNAL):
            out.append(Finding(el, f"{_label(el)} 是 {dialect} 外部任务（external task，topic "
                                   f"{el.get(names['topic'][0]) if 'topic' in names else '—'}），"
                                   f"govflow 不支持。修改方法："
                                   "改为服务任务并在 spiffworkflow:serviceTaskOperator 中指定 operator，"
                                   "或改为用户任务由单位办理"))
            names = {k: v for k, v in names.items() if k not in ("type", *_EXTERNAL)}
        java = [n for n in _JAVA if n in names]
        if java:
            out.append(Finding(el, f"{_label(el)} 使用了 {dialect} 的 {dialect.split()[0].lower()}:{java[0]}"
                                   f"（{el.get(names[java[0]][0])}），govflow 不执行 Java 委托或表达式。修改方法："
                                   "服务任务在 spiffworkflow:serviceTaskOperator 中指定 operator；"
                                   "需要计算时改用脚本任务（Python）"))
            names = {k: v for k, v in names.items() if k not in _JAVA}
        if "formKey" in names or "formRef" in names:
            key = "formKey" if "formKey" in names else "formRef"
            out.append(Finding(el, f"{_label(el)} 使用了 {dialect} 表单 {key}=\"{el.get(names[key][0])}\"，"
                                   "govflow 不读取它。修改方法："
                                   "在扩展属性中写 form（spiffworkflow:property name=\"form\"，"
                                   "值为 forms/ 中的表单名，例如 declaration）", covers=False))
            names.pop(key)
        assigned = [n for n in _ASSIGNMENT if n in names]
        if assigned:
            values = "、".join(f"{n}=\"{el.get(names[n][0])}\"" for n in assigned)
            out.append(Finding(el, f"{_label(el)} 使用了 {dialect} 分派 {values}，govflow 不按人分派。"
                                   "修改方法：把任务放进泳道——建设单位、参建单位（多实例）或单位全称（如 市大数据局），"
                                   "由该单位的人员认领办理", covers=False))
            names = {k: v for k, v in names.items() if k not in _ASSIGNMENT}
        if names:
            listed = "、".join(f"{d.split()[0].lower()}:{n}" for n, (_, d) in sorted(names.items()))
            out.append(Finding(el, f"{_label(el)} 带有 {dialect} 扩展属性 {listed}，govflow 会忽略它们。"
                                   "修改方法：删除这些属性；"
                                   "需要的设置写成 spiffworkflow:property 扩展属性", covers=False))
    return out


def _foreign_elements(root: etree._Element) -> list[Finding]:
    out: list[Finding] = []
    for ext in root.iter(f"{{{BPMN_NS}}}extensionElements"):
        owner = _flow_node(ext.getparent() if ext.getparent() is not None else ext)
        for child in ext:
            if not isinstance(child.tag, str):
                continue
            dialect = _dialect(child)
            if dialect is None:
                continue
            name = _local(child)
            prefix = dialect.split()[0].lower()
            if name == "connector":
                connector_id = child.findtext(f"{{{etree.QName(child).namespace}}}connectorId") or "—"
                message = (f"{_label(owner)} 使用了 {dialect} 连接器（connector {connector_id}），"
                           "govflow 不支持。修改方法："
                           "改为服务任务并在 spiffworkflow:serviceTaskOperator 中指定 operator，"
                           "或改为用户任务由单位办理")
            elif name in ("formData", "formProperty"):
                message = (f"{_label(owner)} 在 {prefix}:{name} 中定义表单字段，govflow 不读取。"
                           "修改方法：把字段写进 forms/ 中的 JSON Schema 表单，并用扩展属性 form 引用它")
            elif name in ("taskListener", "executionListener", "eventListener"):
                message = (f"{_label(owner)} 带有 {dialect} 监听器 {prefix}:{name}，govflow 不执行。"
                           "修改方法：需要的计算改用脚本任务或 spiffworkflow:preScript / postScript（Python）")
            else:
                message = (f"{_label(owner)} 带有 {dialect} 扩展 {prefix}:{name}，govflow 会忽略它。"
                           "修改方法：删除它；需要的设置写成 spiffworkflow:properties 中的扩展属性")
            out.append(Finding(owner, message, line=child.sourceline))
    return out


def find(root: etree._Element) -> list[Finding]:
    """Every foreign construct of a BPMN file, in document order."""
    found = _expressions(root) + _cron_timers(root) + _foreign_attributes(root) + _foreign_elements(root)
    seen: set[tuple[str | None, int | None, str]] = set()  # a JUEL cron text is found twice
    unique = []
    for f in sorted(found, key=lambda f: (f.line or f.element.sourceline or 0)):
        key = (f.element.get("id"), f.line or f.element.sourceline, f.message)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique
