"""The deadline tick: reminders, escalations and late statutory filings for what is due now.

It reads work_item_clocks through the index on fire_at, so its cost follows the number of clocks
due, not the number of open tasks; each processed clock gets its next fire time. On PostgreSQL the
due clocks are locked with SKIP LOCKED, so an overlapping tick never handles the same task twice;
the unique key (task, kind, level) of the outbox is the final guard."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from service.channels.config import ChannelSettings
from service.operations import notifications
from service.operations.clocks import ESCALATION_TARGETS, STATUTORY_FILINGS, overdue_working_days, plan
from service.operations.context import Govflow
from service.storage.models import (
    Contact,
    LateFiling,
    Notification,
    ProcessInstance,
    Project,
    WorkItem,
    WorkItemClock,
    utcnow,
)


@dataclass(frozen=True)
class TickResult:
    clocks: int
    notifications: int
    deliveries: int
    late_filings: int


def tick(ctx: Govflow, now: dt.datetime | None = None, *, batch: int = 5000,
         cfg: ChannelSettings | None = None) -> TickResult:
    now = now or utcnow()
    cfg = cfg or ChannelSettings()
    with ctx.db.session() as s:
        q = (select(WorkItemClock, WorkItem, ProcessInstance.version_id, Project)
             .join(WorkItem, WorkItem.id == WorkItemClock.work_item_id)
             .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
             .join(Project, Project.id == WorkItem.project_id)
             .where(WorkItemClock.fire_at <= now)
             .order_by(WorkItemClock.fire_at).limit(batch))
        if s.bind is not None and s.bind.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True, of=WorkItemClock)
        rows = s.execute(q).all()
        if not rows:
            return TickResult(0, 0, 0, 0)
        ids = [item.id for _, item, _, _ in rows]
        sent = set(s.execute(select(Notification.work_item_id, Notification.kind, Notification.level)
                             .where(Notification.work_item_id.in_(ids))))
        recorded = set(s.scalars(select(LateFiling.work_item_id).where(LateFiling.work_item_id.in_(ids))))
        cal = ctx.calendar(s)
        created: list[dict] = []
        late = 0
        for clock, item, version_id, project in rows:
            if item.state != "open" or clock.paused_at is not None or item.due_at is None:
                clock.fire_at = None
                continue
            props = ctx.runtime(s, version_id).task_properties(item.task_name)
            alarms = plan(cal, item, props)
            reached = [a for a in alarms if a.at <= now]
            todo: list[tuple[str, int]] = []
            reminders = [a for a in reached if a.kind.startswith("remind")]
            if reminders and now <= item.due_at:
                # Only the latest reminder still meaningful: a task opened on its due day gets one.
                todo.append((reminders[-1].kind, clock.revision or 0))
            todo += [(a.kind, a.level) for a in reached if a.kind in ("escalation", "late_filing")]
            overdue = overdue_working_days(cal, item, now)
            for kind, level in todo:
                if (item.id, kind, level) in sent:
                    continue
                sent.add((item.id, kind, level))
                article = STATUTORY_FILINGS.get(item.task_name)
                if kind == "escalation":
                    target, role = ESCALATION_TARGETS[min(level, 3)]
                    unit_id = item.unit_id if target == "unit" else ctx.units.id_by_name(s, target)
                    unit_name = item.unit.name if target == "unit" else target
                elif kind == "late_filing":
                    unit_id, unit_name, role = ctx.units.id_by_name(s, "市大数据局"), "市大数据局", "supervision"
                    if item.id not in recorded:
                        recorded.add(item.id)
                        s.add(LateFiling(work_item_id=item.id, project_id=project.id, unit_id=item.unit_id,
                                         task_name=item.task_name, article=article or "", due_date=item.due_date,
                                         recorded_at=now))
                        late += 1
                else:
                    unit_id, unit_name, role = item.unit_id, item.unit.name, "assignee"
                    article = None
                if unit_id is None:
                    continue
                created.append(notifications.row(
                    cfg, item=item, project=project, kind=kind, level=level, unit_id=unit_id, unit_name=unit_name,
                    role=role, overdue_days=overdue, now=now, article=article if kind != "escalation" else None))
            later = [a.at for a in alarms if a.at > now]
            clock.fire_at = min(later) if later else None
        s.flush()
        deliveries = notifications.insert_batch(s, cfg, created)
        return TickResult(len(rows), len(created), deliveries, late)


def set_contact(ctx: Govflow, unit_name: str, role: str, email: str) -> None:
    """Where e-mail for a unit's role goes (assignee, leader, supervision, superior)."""
    with ctx.db.session() as s:
        unit_id = ctx.units.id_by_name(s, unit_name)
        if unit_id is None:
            raise ValueError(unit_name)
        exists = s.scalar(select(Contact.id).where(Contact.unit_id == unit_id, Contact.role == role,
                                                   Contact.email == email))
        if exists is None:
            s.add(Contact(unit_id=unit_id, role=role, email=email))


def next_due(ctx: Govflow) -> dt.datetime | None:
    """When the next clock fires (for schedulers and tests)."""
    from sqlalchemy import func

    with ctx.db.session() as s:
        return s.scalar(select(func.min(WorkItemClock.fire_at)))
