"""Graded warnings (预警): a task past a share of its time (default 80 %, BPMN property
`warn_share` or GOVFLOW_WARN_SHARE) is yellow (黄牌); overdue is red (红牌); else green. A task whose
clock stands still (补正) is neither: it is `paused`, labelled 已暂停计时（补正：<reason>）.

Every field comes from one reading of the task's clock (service.domain.clock.read_clock): the grade,
the days left, the overdue days and the escalation level reached on the *current* due date, so after
a 延期 the dashboard no longer shows the level of the old date, exactly as reminders see it."""
from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select

from service.domain.clock import GREEN, LABELS, PAUSED, RED, YELLOW, Reading, read_clock
from service.operations.clocks import escalate_days
from service.operations.context import Govflow
from service.storage.models import ProcessInstance, Unit, WorkItem, WorkItemClock, utcnow

__all__ = ["GREEN", "LABELS", "PAUSED", "RED", "YELLOW", "Warning", "grade_of", "reading", "summary", "warnings"]


def default_share() -> float:
    return float(os.environ.get("GOVFLOW_WARN_SHARE", "0.8"))


@dataclass(frozen=True)
class Warning:
    work_item_id: int
    project_id: int
    task: str
    title: str
    unit: str
    stage: str
    due_date: dt.date | None
    grade: str
    label: str
    used_working_days: int
    total_working_days: int
    overdue_working_days: int
    paused: bool
    paused_reason: str | None = None
    working_days_left: int | None = None
    level: int = 0
    level_label: str | None = None
    due_provisional: bool = False


def reading(cal, item: WorkItem, clock: WorkItemClock | None, now: dt.datetime,  # type: ignore[no-untyped-def]
            props: Mapping[str, str] | None = None, share: float | None = None) -> Reading:
    """The task's clock as every view shows it."""
    props = props or {}
    if share is None:
        share = float(props.get("warn_share") or default_share())
    return read_clock(cal, created_at_utc=item.created_at, due_date=item.due_date, due_at_utc=item.due_at,
                      provisional=bool(item.due_provisional),
                      paused_at_utc=clock.paused_at if clock is not None else None,
                      paused_reason=clock.paused_reason if clock is not None else None,
                      paused_days=(clock.paused_days or 0) if clock is not None else 0, now=now, share=share,
                      escalate_days=escalate_days(props))


def grade_of(cal, item: WorkItem, clock: WorkItemClock | None, now: dt.datetime,  # type: ignore[no-untyped-def]
             share: float, props: Mapping[str, str] | None = None) -> Warning:
    r = reading(cal, item, clock, now, props, share)
    return Warning(item.id, item.project_id, item.task_name, item.title, item.unit.name, item.stage, item.due_date,
                   r.grade, r.label, r.used_working_days, r.total_working_days, r.overdue_working_days, r.paused,
                   r.paused_reason, r.working_days_left, r.escalation_level, r.escalation_label, r.provisional)


def warnings(ctx: Govflow, *, unit: str | None = None, stage: str | None = None, project_id: int | None = None,
             grades: tuple[str, ...] = (YELLOW, RED, PAUSED), now: dt.datetime | None = None,
             limit: int = 5000) -> list[Warning]:
    """Open tasks with their grade, filtered by unit, stage or project (most urgent first)."""
    now = now or utcnow()
    with ctx.db.session() as s:
        q = (select(WorkItem, WorkItemClock, ProcessInstance.version_id)
             .outerjoin(WorkItemClock, WorkItemClock.work_item_id == WorkItem.id)
             .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
             .where(WorkItem.state == "open", WorkItem.due_at.is_not(None))
             .order_by(WorkItem.due_at).limit(limit))
        if unit:
            q = q.join(Unit, Unit.id == WorkItem.unit_id).where(Unit.name == unit)
        if stage:
            q = q.where(WorkItem.stage == stage)
        if project_id:
            q = q.where(WorkItem.project_id == project_id)
        cal = ctx.calendar(s)
        out = []
        for item, clock, version_id in s.execute(q).all():
            props = ctx.runtime(s, version_id).task_properties(item.task_name)
            share = float(props.get("warn_share") or default_share())
            w = grade_of(cal, item, clock, now, share, props)
            if w.grade in grades:
                out.append(w)
        return out


def summary(ctx: Govflow, *, by: str = "unit", now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    """Dashboard figure: counts of yellow and red per unit (by="unit") or stage (by="stage")."""
    counts: dict[str, Counter[str]] = {}
    for w in warnings(ctx, now=now, grades=(YELLOW, RED)):
        key = w.unit if by == "unit" else w.stage
        counts.setdefault(key, Counter())[w.grade] += 1
    return {k: {YELLOW: c[YELLOW], RED: c[RED]} for k, c in counts.items()}
