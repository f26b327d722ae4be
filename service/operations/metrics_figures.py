"""Figures /metrics reads from the database at scrape time: open tasks by stage and warning grade,
and the outbox by delivery status. Each is one grouped query over an index (work_items by state,
deliveries by status), run once per scrape by the process that answers it, never per process.

The grade follows service.operations.warnings (黄牌 past `warn_share` of the task's working days,
红牌 overdue, a stopped clock is `paused`), computed per group of tasks that share stage, task,
process version, Beijing creation day, due day and paused days, so the calendar is consulted once
per group instead of once per task."""
from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from service.operations.context import Govflow
from service.operations.warnings import default_share
from service.storage.models import Delivery, ProcessInstance, WorkItem, WorkItemClock, utcnow

NO_DUE = "none"


def _beijing_day(session: Session, column):  # type: ignore[no-untyped-def]
    # Asia/Shanghai has had no daylight saving since 1991: +8 h is the local day.
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return func.date(column + literal(dt.timedelta(hours=8)))
    return func.date(column, "+8 hours")


def open_tasks(ctx: Govflow, now: dt.datetime | None = None) -> Counter[tuple[str, str]]:
    """Open tasks counted by (stage, grade); grade is green, yellow, red, paused or none (no due date)."""
    now = now or utcnow()
    out: Counter[tuple[str, str]] = Counter()
    with ctx.db.session() as s:
        # Computed columns in a subquery, grouped by name outside: PostgreSQL does not match a
        # GROUP BY expression to the select list's when each carries its own bound parameter.
        inner = (select(WorkItem.stage.label("stage"), WorkItem.task_name.label("task"),
                        ProcessInstance.version_id.label("version_id"),
                        _beijing_day(s, WorkItem.created_at).label("created_day"), WorkItem.due_date.label("due"),
                        case((WorkItem.due_at < now, 1), else_=0).label("late"),
                        case((WorkItemClock.paused_at.is_not(None), 1), else_=0).label("paused"),
                        func.coalesce(WorkItemClock.paused_days, 0).label("paused_days"))
                 .select_from(WorkItem)
                 .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
                 .outerjoin(WorkItemClock, WorkItemClock.work_item_id == WorkItem.id)
                 .where(WorkItem.state == "open")).subquery()
        keys = [inner.c.stage, inner.c.task, inner.c.version_id, inner.c.created_day, inner.c.due, inner.c.late,
                inner.c.paused, inner.c.paused_days]
        q = select(*keys, func.count()).group_by(*keys)
        rows = s.execute(q).all()
        cal = ctx.calendar(s)
        today = (now + dt.timedelta(hours=8)).date()
        default = default_share()
        for stage, task, version_id, created_day, due_date, is_late, is_paused, paused_days, count in rows:
            if due_date is None:
                grade = NO_DUE
            elif is_paused:
                grade = "paused"
            elif is_late:
                grade = "red"
            else:
                start = created_day if isinstance(created_day, dt.date) else dt.date.fromisoformat(str(created_day))
                share = float(ctx.runtime(s, version_id).task_properties(task).get("warn_share") or default)
                total = max(cal.working_days_between(start, due_date) - paused_days, 1)
                used = max(cal.working_days_between(start, today) - paused_days, 0)
                grade = "yellow" if used >= share * total else "green"
            out[(stage, grade)] += int(count)
    return out


def outbox(ctx: Govflow) -> dict[str, int]:
    """Deliveries not sent, by status: pending + sending is the backlog, failed the given-up ones.
    Sent rows (the bulk, growing for ever) are left out so the count stays an index range."""
    wanted = ("pending", "sending", "failed")
    with ctx.db.session() as s:
        found = dict(s.execute(select(Delivery.status, func.count()).where(Delivery.status.in_(wanted))
                               .group_by(Delivery.status)).all())
    return {status: int(found.get(status, 0)) for status in wanted}
