"""DMN decisions of a deployed version evaluated on demand, outside a businessRuleTask.

Why not a businessRuleTask: a rule that may *refuse* a completion has to run before the engine
step, on the form the user is submitting and on the other departments' conclusions, which live in
work_items rather than in engine data (only `outputs` enter the engine, and the parallel join
merges branch data last-writer-wins: four branches each writing `conclusion` would overwrite each
other). Evaluated here, the table still is a deployed DMN (validated at deploy like change_rule.dmn,
its cells compiled and run by the sandboxed script engine) and a new version with an edited table
changes the outcome for the projects started on it.

Spiff 3.2's DMN parser reads one decision per file (the first); its UNIQUE hit policy returns the
first rule that matches."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from SpiffWorkflow.exceptions import SpiffWorkflowException

from service.domain.errors import ProcessError
from service.engine.scripting import explain
from service.engine.validation import ValidationIssue, XmlRefused, parse_xml


@dataclass
class _Spec:
    bpmn_id: str
    bpmn_name: str
    name: str


@dataclass
class _Workflow:
    """What DMNEngine and Spiff's error reporting read from a workflow."""

    script_engine: Any
    file: str

    @property
    def spec(self) -> _Workflow:
        return self

    @property
    def top_workflow(self) -> _Workflow:
        return self


@dataclass
class _RuleTask:
    """The minimal task a DMNEngine evaluates against: its data and its workflow's script engine."""

    data: dict[str, Any]
    workflow: _Workflow
    task_spec: _Spec = field(default_factory=lambda: _Spec("decision", "决策表", "decision"))


class Decisions:
    """The decision tables of one deployed bundle ({file name: source text}), parsed once."""

    def __init__(self, sources: Mapping[str, str], script_engine: Any) -> None:
        self.script_engine = script_engine
        self._engines: dict[str, tuple[DMNEngine, str]] = {}
        parser = BpmnDmnParser()
        for name, text in sorted(sources.items()):
            if name.endswith(".dmn"):
                parser.add_dmn_xml(parse_xml(text.encode("utf-8")), filename=name)
        for decision_id in list(parser.dmn_parsers):
            self._engines[decision_id] = (parser.get_engine(decision_id, None),
                                          parser.dmn_parsers[decision_id].filename or "")

    def has(self, decision_id: str) -> bool:
        return decision_id in self._engines

    def evaluate(self, decision_id: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The first matching rule's outputs ({} when none matches). A cell that fails (a name the
        table reads but the caller did not give, a sandbox limit) is a ProcessError (422)."""
        engine, file = self._engines[decision_id]
        task = _RuleTask(dict(variables), _Workflow(self.script_engine, file),
                         _Spec(decision_id, decision_id, decision_id))
        try:
            return dict(engine.result(task))
        except SpiffWorkflowException as exc:
            raise ProcessError(f"决策表 {decision_id} 求值出错：{explain(exc)}") from exc



_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
       "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}


def reference_issues(files: Mapping[str, bytes], rule_property: str = "opinion_rule",
                     sources_property: str = "opinion_sources") -> list[ValidationIssue]:
    """Deploy-time check of user tasks' `opinion_rule` (a decision of the bundle) and
    `opinion_sources` (tasks of the bundle), with the property's line."""
    trees: dict[str, etree._Element] = {}
    for name, content in files.items():
        try:
            trees[name] = parse_xml(content)
        except (etree.XMLSyntaxError, XmlRefused):
            continue  # reported by validate_bundle
    decisions = {d.get("id") for n, root in trees.items() if n.endswith(".dmn") for d in root.iter("{*}decision")}
    task_ids = {el.get("id") for n, root in trees.items() if n.endswith(".bpmn") for el in root.iter()
                if isinstance(el.tag, str) and el.get("id")}
    issues = []
    for name, root in trees.items():
        if not name.endswith(".bpmn"):
            continue
        for task in root.iterfind(".//bpmn:userTask", _NS):
            props = {p.get("name"): p for p in task.iterfind(".//spiffworkflow:property", _NS)}
            rule = props.get(rule_property)
            if rule is not None and (rule.get("value") or "").strip() not in decisions:
                issues.append(ValidationIssue(name, rule.sourceline, task.get("id"), "userTask",
                                              f"{rule_property} 引用的决策表 {rule.get('value')!r} 不在流程包中"))
            sources = props.get(sources_property)
            for ref in ((sources.get("value") or "").split(",") if sources is not None else []):
                ref_task = ref.strip().split(".", 1)[0]
                if ref_task and ref_task not in task_ids:
                    issues.append(ValidationIssue(name, sources.sourceline, task.get("id"), "userTask",
                                                  f"{sources_property} 中的任务 {ref_task} 不在流程中"))
    return issues
