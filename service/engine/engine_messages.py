"""SpiffWorkflow 3.2's parser messages (ValidationException), in Chinese with what to do.

Collected from the raise sites of SpiffWorkflow 3.2.0's bpmn, spiff and dmn parsers (the camunda
parser is not used). A message not in the table is still shown in Chinese, with the engine's English
kept in brackets for whoever reports it: tests/engine/test_dialects.py fails when a raise site of
the installed release is not matched, so an upgrade that adds messages is noticed."""
from __future__ import annotations

import re

# (pattern on the English message, Chinese; groups are substituted as {1}, {2} …)
_TABLE: list[tuple[str, str]] = [
    (r"No start event found", "流程缺少开始事件。修改方法：添加一个开始事件（startEvent）并连到第一个任务"),
    (r"There is no support implemented for this task type\.",
     "引擎不支持这种元素。修改方法：改用用户任务、脚本任务、服务任务（带 operator）、业务规则任务、网关或事件"),
    (r"A SubWorkflow Must contain an End event", "子流程缺少结束事件。修改方法：在子流程内添加结束事件（endEvent）"),
    (r"Exactly one start event is required in a SubWorkflow Task; found (.+)\.",
     "子流程必须恰好有一个开始事件（现有 {1} 个）"),
    (r"Unknown Time Specification", "定时器缺少时间设置（timeDate、timeDuration 或 timeCycle）"),
    (r"Time Specification Error\. (.*)", "定时器时间设置有误：{1}"),
    (r"A Service Task must have an operator",
     "服务任务没有指定 operator。修改方法：在 extensionElements 中添加 spiffworkflow:serviceTaskOperator id=\"…\"，"
     "或改为用户任务 / 脚本任务"),
    (r"Process (.+) is not executable\.", "流程 {1} 未标记为可执行。修改方法："
                                          "在 process 元素上设置 isExecutable=\"true\""),
    (r"Duplicate process ID: (.+)", "流程 id {1} 重复：流程包中两个流程不能同名"),
    (r"The process '(.+)' was not found\. Did you mean one of the following: (.*)\?",
     "流程包中没有流程 {1}（包中的流程：{2}）"),
    (r"Non-default exclusive outgoing sequence flow without condition",
     "排他网关的非默认出口没有流转条件。修改方法：写上条件，或把它设为网关的默认流（default）"),
    (r'No "calledElement" attribute for Call Activity\.', "调用活动未指定被调用流程（calledElement）"),
    (r"Invalid Script Task\.\s+No Script Provided\..*", "脚本任务没有脚本"),
    (r"Cannot resolve dataInputAssociation (.+)", "数据输入关联 {1} 找不到对应的数据对象"),
    (r"Cannot resolve dataOutputAssociation (.+)", "数据输出关联 {1} 找不到对应的数据对象"),
    (r"Conditional event definition with missing condition", "条件事件缺少条件"),
    (r"Could not find messageRef from message event definition: (.*)",
     "消息事件定义 {1} 没有 messageRef（引用的消息）"),
    (r"Message identifier is missing from bpmn xml", "消息（message）缺少 id"),
    (r"Signal identifier is missing from bpmn xml", "信号（signal）缺少 id"),
    (r"Error identifier is missing from bpmn xml", "错误（error）缺少 id"),
    (r"Escalation identifier is missing from bpmn xml", "升级（escalation）缺少 id"),
    (r"Correlation identifier is missing from bpmn xml", "关联属性（correlationProperty）缺少 id"),
    (r"Correlation is missing correlation property retrieval expressions: (.*)",
     "关联属性 {1} 缺少取值表达式（correlationPropertyRetrievalExpression）"),
    (r"Message identifier is missing from correlation property: (.*)", "关联属性 {1} 的取值表达式缺少 messageRef"),
    (r"Data Store identifier is missing from bpmn xml", "数据存储（dataStore）缺少 id"),
    (r"Data Store name is missing from bpmn xml", "数据存储（dataStore）缺少 name"),
    (r"Data Store with name (.+) has no implementation", "数据存储 {1} 没有实现，govflow 不支持数据存储"),
    (r"Sequential ordering for ad hoc subprocesses not supported", "临时子流程（adHocSubProcess）不支持顺序执行"),
    (r"Ad hoc subprocesses may not contain start or end events", "临时子流程（adHocSubProcess）内不能有开始或结束事件"),
    (r"Ad hoc subprocess nodes may not have incoming flows", "临时子流程（adHocSubProcess）内的元素不能有进入的顺序流"),
    (r"A loopMaximum or loopCondition must be specified for Loop Tasks",
     "循环任务必须设置 loopMaximum 或 loopCondition"),
    (r"A multiinstance task must specify a cardinality or a loop input data reference",
     "多实例任务必须设置数量（loopCardinality）或输入集合（loopDataInputRef）"),
    (r"A multiinstance task must specify exactly one of cardinality or loop input data reference",
     "多实例任务只能设置数量（loopCardinality）和输入集合（loopDataInputRef）之一"),
    (r"The loop input data reference is missing from the IO specification", "多实例的输入集合不在 ioSpecification 中"),
    (r"The loop output data reference is missing from the IO specification", "多实例的输出集合不在 ioSpecification 中"),
    (r"Cancel Events may only be used with transactions", "取消事件只能用在事务子流程（transaction）上"),
    (r"Multiple outgoing flows are not supported for tasks of type.*", "这种任务不能有多条出口顺序流。修改方法："
                                                                       "在任务后加网关"),
    (r"When looking for a task spec, we found two items, perhaps a form has the same ID\? \((.*)\)",
     "id {1} 被两个元素使用：流程中的 id 必须唯一"),
    (r"(?i)Expected an? (Message|Signal|Error|Escalation) node",
     "事件引用的{1}定义不存在（检查 messageRef / signalRef / errorRef / escalationRef 指向的 id）"),
    (r"No decisions found", "决策表文件中没有决策（decision）"),
    (r"Multiple decision tables are not current supported\.", "一个 DMN 文件只能有一个决策表"),
    (r"Unknown type in decision table: (.*)", "决策表中有不支持的元素 {1}"),
    (r"Malformed Output Expression '(.*)'\. (.*)", "决策表输出 {1} 不是有效的表达式：{2}"),
    (r'No DMN Diagram available with id "(.*)", Available DMN ids are: (.*)',
     "流程包中没有决策表 {1}（包中的决策表：{2}）"),
    # TaskParser wraps any other exception as its repr: KeyError('x').
    (r"(?s)([A-Za-z]\w*(?:Error|Exception))\((.*)\)", "解析此元素时引擎出错（{1}：{2}）。修改方法："
                                                      "检查该元素的属性与子元素"
     "是否完整、引用的 id 是否存在"),
    (r"(?s)(.*)", "引擎无法解析此元素（SpiffWorkflow：{1}）"),  # last: nothing is shown untranslated without context
]
_COMPILED = [(re.compile(p), zh) for p, zh in _TABLE]


def _first(compiled: list[tuple[re.Pattern[str], str]], text: str) -> str | None:
    """The first table entry matching the whole message, its {n} filled with the groups."""
    for pattern, zh in compiled:
        match = pattern.fullmatch(text)
        if match is not None:
            out = zh
            for i, group in enumerate(match.groups(), start=1):
                out = out.replace("{" + str(i) + "}", (group or "").strip())
            return out
    return None


def translate(message: str) -> str:
    """The Chinese for one SpiffWorkflow parser message."""
    text = message.strip()
    return _first(_COMPILED, text) or text  # the last pattern matches anything


def known(message: str) -> bool:
    """Whether a message has its own entry (not only the catch-all)."""
    return any(p.fullmatch(message.strip()) for p, _ in _COMPILED[:-1])


# libxml2's XML Schema messages (the XSD check of BPMN and DMN files), most frequent first.
_XSD: list[tuple[str, str]] = [
    (r"Element '(.+?)': This element is not expected\. Expected is (?:one of )?\( (.+) \)\.",
     "元素 {1} 不应出现在这里（此处应为：{2}）"),
    (r"Element '(.+?)': This element is not expected\.", "元素 {1} 不应出现在这里"),
    (r"Element '(.+?)': Missing child element\(s\)\. Expected is (?:one of )?\( (.+) \)\.",
     "元素 {1} 缺少子元素（应为：{2}）"),
    (r"Element '(.+?)', attribute '(.+?)': The attribute '.+?' is not allowed\.", "元素 {1} 不允许属性 {2}"),
    (r"Element '(.+?)', attribute '(.+?)': '(.*)' is not a valid value of the (?:atomic|list|union) type '(.+?)'\.",
     "元素 {1} 的属性 {2} 的值 '{3}' 不是有效的 {4}"),
    (r"Element '(.+?)': The attribute '(.+?)' is required but missing\.", "元素 {1} 缺少必需的属性 {2}"),
    (r"Element '(.+?)': '(.*)' is not a valid value of the (?:atomic|list|union) type '(.+?)'\.",
     "元素 {1} 的值 '{2}' 不是有效的 {3}"),
    (r"Element '(.+?)': Character content other than whitespace is not allowed because the content type is "
     r"'element-only'\.", "元素 {1} 只能包含子元素，不能直接写文本"),
    (r"Element '(.+?)': No matching global declaration available for the validation root\.",
     "根元素 {1} 不是 BPMN/DMN 的 definitions（文件不是 BPMN 2.0 / DMN 模型）"),
    (r"Element '(.+?)': No match found for key-sequence \['(.*)'\] of keyref '(.+?)'\.", "元素 {1} 引用的 {2} 不存在"),
    (r"Element '(.+?)': Duplicate key-sequence \['(.*)'\] in (?:unique|key) identity-constraint '(.+?)'\.",
     "元素 {1} 的 id {2} 重复"),
]
_XSD_COMPILED = [(re.compile(p, re.S), zh) for p, zh in _XSD]


def translate_xsd(message: str) -> str:
    """The Chinese for one XML Schema error; an unknown one keeps libxml2's text after 原文."""
    text = message.strip()
    return _first(_XSD_COMPILED, text) or f"结构不符合规范（原文：{text}）"
