"""Opinions that count (issue 12, docs/opinions.md): a deciding step that sums up other units'
opinions — 出具评审意见 over the four departments' reviews (第七条(三)), 初审结论 over 市财政局's
opinion (第七条(一)) — is checked, when it is submitted, against a DMN table of the deployed version
that turns those opinions into what the step may decide: 允许, 须说明理由 (the form's justification
field becomes required) or 不得通过 (the outcome is refused, e.g. 市密码管理局's 不同意, 第五条).

BPMN user-task properties wire it, so designers see and change it with the table:

    opinion_rule         the DMN decision id (a .dmn file of the same bundle)
    opinion_sources      task ids whose latest completed conclusion the table reads, each under its
                         task id (`review_police`), optionally `task.field`; default field: the
                         source form's first required choice (评审结论, 财政意见)
    justification_field  the form field that carries the written reasons (dissent_justification)

The table also reads the submitted form's own top-level fields (`plan_review_result`). A step
decided over a dissent is recorded in the audit trail (`dissent_overridden`) and its reasons stay
in the form data, so the project file, the dossier and the 审批单 show them."""
from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.errors import ProcessError, RuleViolation
from service.engine.decisions import Decisions
from service.operations import audit
from service.operations.context import Govflow
from service.storage.models import AuditRecord, ProcessInstance, ProcessVersion, Project, Unit, WorkItem

RULE_PROPERTY = "opinion_rule"
SOURCES_PROPERTY = "opinion_sources"
JUSTIFICATION_PROPERTY = "justification_field"
DEFAULT_JUSTIFICATION = "dissent_justification"
ALLOWED, JUSTIFY, REFUSED = "允许", "须说明理由", "不得通过"
OVERRIDE_ACTION = "dissent_overridden"
# What marks an opinion as a dissent in the messages (the table itself decides what it means).
_DISSENT_MARKERS = ("不同意", "退回", "异议", "不予")

_tables: weakref.WeakKeyDictionary[Govflow, dict[int, Decisions]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Opinion:
    task: str
    title: str
    unit: str
    field: str
    value: Any
    work_item_id: int

    @property
    def dissent(self) -> bool:
        return isinstance(self.value, str) and any(m in self.value for m in _DISSENT_MARKERS)

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "title": self.title, "unit": self.unit, "field": self.field,
                "value": self.value, "work_item_id": self.work_item_id}


@dataclass(frozen=True)
class Weighed:
    decision: str
    verdict: str
    article: str | None
    basis: str | None
    opinions: tuple[Opinion, ...]
    justification_field: str
    justification: str | None

    @property
    def overridden(self) -> bool:
        return self.verdict == JUSTIFY

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "verdict": self.verdict, "article": self.article, "basis": self.basis,
                "opinions": [o.to_dict() for o in self.opinions], "justification_field": self.justification_field,
                "justification": self.justification}


def _decisions(ctx: Govflow, session: Session, version_id: int) -> Decisions:
    """The version's tables, parsed once per service context (one database; versions never change)."""
    per_ctx = _tables.setdefault(ctx, {})
    found = per_ctx.get(version_id)
    if found is None:
        version = session.get(ProcessVersion, version_id)
        assert version is not None
        found = per_ctx[version_id] = Decisions(version.sources or {}, ctx.script_engine)
    return found


def _default_field(ctx: Govflow, form: str) -> str | None:
    schema = ctx.forms.get(form).schema if ctx.forms.exists(form) else {}
    props = schema.get("properties") or {}
    return next((f for f in schema.get("required") or [] if "enum" in (props.get(f) or {})), None)


def _opinions(ctx: Govflow, session: Session, item: WorkItem, spec: str) -> list[Opinion]:
    """Each source's latest completion before `item` was opened (the pass it sums up)."""
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    tasks = {w.split(".", 1)[0]: (w.split(".", 1)[1] if "." in w else None) for w in wanted}
    rows = session.execute(
        select(WorkItem.id, WorkItem.task_name, WorkItem.title, WorkItem.form, WorkItem.data, WorkItem.state,
               Unit.name)
        .join(Unit, Unit.id == WorkItem.unit_id)
        # By project and task name (ix_work_items_project), the state checked below: with
        # `state = 'completed'` in the WHERE, SQLite took ix_work_items_state_completed and read
        # the completed rows of every project.
        .where(WorkItem.project_id == item.project_id, WorkItem.instance_id == item.instance_id,
               WorkItem.task_name.in_(list(tasks)), WorkItem.completed_at <= item.created_at)
        .order_by(WorkItem.completed_at, WorkItem.id))
    latest = {row.task_name: row for row in rows if row.state == "completed"}
    out = []
    for task, field in tasks.items():
        row = latest.get(task)
        name = (field or _default_field(ctx, row.form)) if row is not None else None
        if row is None or name is None:
            continue
        out.append(Opinion(task, row.title, row.name, name, (row.data or {}).get(name), row.id))
    return out


def _title(ctx: Govflow, form: str, field: str) -> str:
    schema = ctx.forms.get(form).schema if ctx.forms.exists(form) else {}
    return str(((schema.get("properties") or {}).get(field) or {}).get("title") or field)


def weigh(ctx: Govflow, session: Session, instance: ProcessInstance, item: WorkItem,
          form_data: Mapping[str, Any]) -> Weighed | None:
    """Evaluate the task's opinion rule on the submitted form; raises RuleViolation (422) when the
    table refuses the outcome or wants reasons that are missing. None for a task without a rule."""
    runtime = ctx.runtime(session, instance.version_id)
    props = runtime.task_properties(item.task_name)
    decision_id = (props.get(RULE_PROPERTY) or "").strip()
    if not decision_id:
        return None
    tables = _decisions(ctx, session, instance.version_id)
    if not tables.has(decision_id):
        raise ProcessError(f"任务 {item.task_name} 的 opinion_rule 引用的决策表 {decision_id} 不在流程包中")
    opinions = _opinions(ctx, session, item, props.get(SOURCES_PROPERTY, ""))
    variables: dict[str, Any] = {k: v for k, v in form_data.items()
                                 if isinstance(v, str | int | float | bool) or v is None}
    variables.update({o.task: o.value for o in opinions})
    for task in (s.strip().split(".", 1)[0] for s in props.get(SOURCES_PROPERTY, "").split(",")):
        if task:
            variables.setdefault(task, None)  # a source not reached yet reads as no opinion
    out = tables.evaluate(decision_id, variables)
    verdict = str(out.get("verdict") or ALLOWED)
    article = str(out["article"]) if out.get("article") else None
    basis = str(out["basis"]) if out.get("basis") else None
    field = (props.get(JUSTIFICATION_PROPERTY) or DEFAULT_JUSTIFICATION).strip()
    text = form_data.get(field)
    reasons = text.strip() if isinstance(text, str) and text.strip() else None
    dissent = "、".join(f"{o.unit}{o.value}" for o in opinions if o.dissent) or "各单位意见"
    if verdict == REFUSED:
        outcome_field = next((n.strip() for n in props.get("outputs", "").split(",") if n.strip()), None)
        value = form_data.get(outcome_field) if outcome_field else None
        shown = f"“{_title(ctx, item.form, outcome_field)}”不得为“{value}”" if outcome_field else "该结论不得采用"
        raise RuleViolation(f"{shown}：{dissent}。{basis or ''}".rstrip("。") + "。",
                            article=article, field=outcome_field)
    if verdict == JUSTIFY and reasons is None:
        raise RuleViolation(f"请填写“{_title(ctx, item.form, field)}”：{dissent}。{basis or ''}".rstrip("。") + "。",
                            article=article, field=field)
    return Weighed(decision_id, verdict, article, basis, tuple(opinions), field, reasons)


def record(ctx: Govflow, session: Session, project: Project, item: WorkItem, weighed: Weighed | None,
           actor: str, now: dt.datetime) -> None:
    """In the completion's transaction: a step decided over a dissent leaves its own audit record
    (what each unit said, the table's basis and the written reasons)."""
    if weighed is None or not weighed.overridden:
        return
    audit.append(session, project, actor=actor, action=OVERRIDE_ACTION, work_item_id=item.id,
                 detail={"task": item.task_name, "title": item.title, "unit": item.unit.name, **weighed.to_dict()},
                 algorithm=ctx.settings.audit_hash, at=now)


def decided_over(session: Session, project_id: int) -> dict[int, dict[str, Any]]:
    """work item id → its `dissent_overridden` detail (the opinions and the reasons), for the project file."""
    rows = session.scalars(select(AuditRecord).where(AuditRecord.project_id == project_id,
                                                     AuditRecord.action == OVERRIDE_ACTION))
    return {r.work_item_id: dict(r.detail or {}) for r in rows if r.work_item_id is not None}
