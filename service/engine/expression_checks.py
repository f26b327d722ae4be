"""Designer code in a bundle, checked without running it: sequence-flow conditions, scripts (task,
pre and post), timer expressions, multi-instance settings and DMN cells are compiled with the
sandbox's compiler (:func:`service.engine.scripting.find_source_problem`) only; timer texts that
are bare ISO 8601 are caught before they reach Spiff."""
from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Literal

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from service.engine.bpmn_xml import NS
from service.engine.bpmn_xml import local as _local
from service.engine.scripting import find_source_problem

if TYPE_CHECKING:
    from service.engine.validation import _Collector

def _check_text(name: str, el: etree._Element, owner: etree._Element, source: str | None,
                mode: Literal["eval", "exec"], what: str, out: _Collector,
                functions: list[str] | None) -> None:
    if (name, owner.get("id")) in out.covered:
        return
    if source is None or not source.strip():
        if mode == "eval":
            out.add(name, el, f"{what}为空", element_id=owner.get("id"), element_type=_local(owner))
        return
    problem = find_source_problem(source, mode, functions=functions)
    if problem is None:
        return
    lineno, message = problem
    line = el.sourceline + (lineno - 1 if lineno else 0) if el.sourceline else None
    if mode == "exec" and lineno:
        detail = f"第 {lineno} 行：{message}"
    else:
        detail = f"{message}（{source.strip()[:80]}）"
    out.add(name, el, f"{what}有误：{detail}", line=line,
            element_id=owner.get("id"), element_type=_local(owner))


def check_bpmn_expressions(name: str, root: etree._Element, out: _Collector,
                            functions: list[str] | None) -> None:
    for flow in root.iterfind(".//bpmn:sequenceFlow", NS):
        cond = flow.find("bpmn:conditionExpression", NS)
        if cond is not None:
            _check_text(name, cond, flow, cond.text, "eval", "流转条件", out, functions)
    for task in root.iterfind(".//bpmn:scriptTask", NS):
        script = task.find("bpmn:script", NS)
        _check_text(name, script if script is not None else task, task,
                    script.text if script is not None else None, "exec", "脚本", out, functions)
        if script is None or not (script.text or "").strip():
            out.add(name, task, f"脚本任务 {task.get('id')} 没有脚本")
    for tag in ("preScript", "postScript"):
        for el in root.iterfind(f".//bpmn:extensionElements/spiffworkflow:{tag}", NS):
            owner = el.getparent().getparent()
            if (el.text or "").strip():
                what = "前置脚本" if tag == "preScript" else "后置脚本"
                _check_text(name, el, owner, el.text, "exec", what, out, functions)
    for timer in root.iterfind(".//bpmn:timerEventDefinition", NS):
        owner = timer.getparent()
        specs = [c for c in timer if _local(c) in ("timeDate", "timeDuration", "timeCycle")]
        if not specs:
            out.add(name, owner,
                    f"定时事件 {owner.get('id')} 缺少时间设置（timeDate、timeDuration 或 timeCycle）")
        for spec in specs:
            if (name, owner.get("id")) in out.covered:
                continue
            if _check_iso_literal(name, spec, owner, out):
                _check_text(name, spec, owner, spec.text, "eval", "定时表达式", out, functions)
    for tag, what in (("loopCardinality", "多实例数量"), ("completionCondition", "多实例完成条件")):
        for el in root.iterfind(f".//bpmn:{tag}", NS):
            owner = el.getparent().getparent()
            _check_text(name, el, owner, el.text, "eval", what, out, functions)


_ISO_LIKE = re.compile(r"R\d*/.*|P[\dYMWDTHS.,]*|\d{4}-\d{2}-\d{2}.*")


def _check_iso_literal(name: str, el: etree._Element, owner: etree._Element, out: _Collector) -> bool:
    """Timer texts are Python expressions that must yield ISO 8601 text. Catch the usual mistake of
    writing bare ISO text (PT5M, which is a valid Python name) and check constant strings right away.
    Returns whether the generic expression check should still run."""
    text = (el.text or "").strip()
    if _ISO_LIKE.fullmatch(text):
        out.add(name, el, f"定时表达式 {text} 是 Python 表达式，ISO 8601 文本需要加引号，例如 \"{text}\"",
                element_id=owner.get("id"), element_type=_local(owner))
        return False
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return True
    kind = _local(el)
    try:
        if not isinstance(value, str):
            raise ValueError("不是字符串")
        if kind == "timeDate":
            TimerEventDefinition.parse_time_or_duration(value)
        elif kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        else:
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:  # Spiff's own parse errors are unhelpful ('NoneType' object has no attribute ...)
        out.add(name, el, f"定时表达式 {text} 不是有效的 ISO 8601 {kind} 文本",
                element_id=owner.get("id"), element_type=_local(owner))
    return False


_DMN_QUESTION = re.compile(r"""(\?)(?=(?:[^'"]|['"][^'"]*['"])*$)""")


def check_dmn_cells(name: str, root: etree._Element, out: _Collector, functions: list[str] | None) -> None:
    for expr in root.iter("{*}inputExpression"):
        text = expr.find("{*}text")
        owner = expr.getparent()
        _check_text(name, text if text is not None else expr, owner,
                    text.text if text is not None else None, "eval", "决策表输入表达式", out, functions)
    for entry in root.iter("{*}inputEntry"):
        text_el = entry.find("{*}text")
        text = (text_el.text if text_el is not None else "") or ""
        if text.strip() in ("", "-"):
            continue  # '-' or empty: any value
        _check_input_entry(name, text_el if text_el is not None else entry, entry, text, out, functions)
    for entry in root.iter("{*}outputEntry"):
        text_el = entry.find("{*}text")
        text = (text_el.text if text_el is not None else "") or ""
        if text.strip():
            _check_text(name, text_el if text_el is not None else entry, entry, text, "eval", "决策表输出",
                        out, functions)


def _check_input_entry(name: str, el: etree._Element, entry: etree._Element, text: str, out: _Collector,
                       functions: list[str] | None) -> None:
    """Spiff compares a cell as `(input) == (cell)`, or appends it to the input when the cell starts with
    an operator (`> 5`), or substitutes `?` with the input (`1 < ? < 5`); any of these may be valid."""
    if "?" in text:
        candidates = [_DMN_QUESTION.sub("dmninputexpr", text)]
    else:
        candidates = [text, f"dmninputexpr {text}"]
    problems = [find_source_problem(c, "eval", functions=functions) for c in candidates]
    if any(p is None for p in problems):
        return
    # Prefer a refusal over a syntax error: `__import__('os')` parses, so the refusal is the real issue.
    chosen = next((p for p in problems if p is not None and not p[1].startswith("语法错误")), problems[0])
    assert chosen is not None
    out.add(name, el, f"决策表条件有误：{chosen[1]}（{text.strip()[:80]}）", element_id=entry.get("id"),
            element_type="inputEntry")
