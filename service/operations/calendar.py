"""Loading a year's official holiday arrangement without a release, and recomputing every pending
deadline that rested on an estimate."""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from service.domain.access import Actor, require_admin
from service.domain.calendar import parse_year_file
from service.domain.deadlines import compute_due
from service.operations import audit, clocks
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import CalendarYear, ProcessInstance, Project, WorkItem, utcnow


@dataclass(frozen=True)
class CalendarLoaded:
    year: int
    recomputed: int
    still_provisional: int


def load_year(ctx: Govflow, text: str, actor: Actor) -> CalendarLoaded:
    require_admin(actor)
    arrangement = parse_year_file(text)
    payload = json.loads(arrangement.to_json())
    now = utcnow()
    recomputed = still = 0
    with ctx.db.session() as s:
        # Two loads of one year queue (the row may not exist yet); then the projects whose deadlines
        # move, in id order, as every writer of a project does (service.storage.locks).
        locks.named(s, f"calendar_year:{arrangement.year}")
        locks.projects(s, s.scalars(select(WorkItem.project_id).where(
            WorkItem.state == "open", WorkItem.due_provisional.is_(True)).distinct()))
        row = s.get(CalendarYear, arrangement.year)
        if row is None:
            s.add(CalendarYear(year=arrangement.year, payload=payload, loaded_by=actor.user, loaded_at=now))
        else:
            row.payload, row.loaded_by, row.loaded_at = payload, actor.user, now
        s.flush()
        calendar = ctx.calendars.refresh(s, force=True)
        pending = s.scalars(select(WorkItem).where(WorkItem.state == "open", WorkItem.due_provisional.is_(True)))
        for item in pending:
            instance = s.get(ProcessInstance, item.instance_id)
            project = s.get(Project, item.project_id)
            assert instance is not None and project is not None
            runtime = ctx.runtime(s, instance.version_id)
            props = runtime.task_properties(item.task_name)
            data = _task_data(ctx, runtime, instance, item)
            sla = props.get("sla_days")
            base = compute_due(calendar, created_at_utc=item.created_at, sla_days=int(sla) if sla else None,
                               rule_text=props.get("deadline"), data=data)
            if base is None:
                continue
            old = item.due_date
            # The base rule again, plus every 补正 pause and 延期 the clock holds: one function
            # (service.domain.clock.shift_due) for this, resume and extend alike.
            due = clocks.apply_due(calendar, s, item, clocks.clock_for(s, item), base)
            assert due is not None
            recomputed += 1
            # Deadline workers: reminders and escalations follow the recomputed due date.
            clocks.rearm(ctx, s, item, now, moved=old != due.date)
            still += int(due.provisional)
            audit.append(s, project, actor=actor.user, action="deadline_recomputed", work_item_id=item.id,
                         detail={"task": item.task_name, "old": old.isoformat() if old else None,
                                 "new": due.date.isoformat(), "provisional": due.provisional,
                                 "base": base.date.isoformat(),
                                 "reason": f"载入 {arrangement.year} 年放假安排"},
                         algorithm=ctx.settings.audit_hash, at=now)
    return CalendarLoaded(arrangement.year, recomputed, still)


def _task_data(ctx: Govflow, runtime, instance: ProcessInstance, item: WorkItem) -> dict:  # type: ignore[no-untyped-def]
    wf = runtime.load(instance.state)
    for task in runtime.ready_user_tasks(wf):
        if task.id == item.spiff_task_id:
            return dict(task.data)
    return {}
