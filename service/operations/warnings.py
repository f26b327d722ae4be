"""Graded warnings (预警): a task past a share of its time (default 80 %, BPMN property
`warn_share` or GOVFLOW_WARN_SHARE) is yellow (黄牌); overdue is red (红牌); else green.

Time is counted in working days from the task's creation to its due date, without the days its
clock stood still (补正) and with granted extensions (延期), exactly as reminders and escalations
see it."""
from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from service.domain.deadlines import local_date
from service.operations.clocks import overdue_working_days
from service.operations.context import Govflow
from service.storage.models import ProcessInstance, Unit, WorkItem, WorkItemClock, utcnow

GREEN, YELLOW, RED = "green", "yellow", "red"
LABELS = {GREEN: "正常", YELLOW: "黄牌", RED: "红牌"}


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


def grade_of(cal, item: WorkItem, clock: WorkItemClock | None, now: dt.datetime,  # type: ignore[no-untyped-def]
             share: float) -> Warning:
    paused_days = clock.paused_days if clock else 0
    paused = clock is not None and clock.paused_at is not None
    start = local_date(item.created_at)
    today = local_date(clock.paused_at if paused and clock and clock.paused_at else now)
    total = used = overdue = 0
    grade = GREEN
    if item.due_date is not None and item.due_at is not None:
        total = max(cal.working_days_between(start, item.due_date) - paused_days, 1)
        used = max(cal.working_days_between(start, today) - paused_days, 0)
        if not paused and now > item.due_at:
            grade = RED
            overdue = overdue_working_days(cal, item, now)
        elif used >= share * total:
            grade = YELLOW
    return Warning(item.id, item.project_id, item.task_name, item.title, item.unit.name, item.stage, item.due_date,
                   grade, LABELS[grade], used, total, overdue, paused)


def warnings(ctx: Govflow, *, unit: str | None = None, stage: str | None = None, project_id: int | None = None,
             grades: tuple[str, ...] = (YELLOW, RED), now: dt.datetime | None = None,
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
            w = grade_of(cal, item, clock, now, share)
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
