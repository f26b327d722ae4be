"""Supervision statistics (督办统计) for a period: overdue work by unit and by stage with escalation
levels, the on-time completion rate (按期办结率) per unit, a weekly trend, open rectifications and
late statutory filings.

Every query is grouped in the database and bounded by the period through indexed columns
(completed_at, created_at, the open state, late_filings.due_date), so the cost follows the work of
the period and the open work, not the age of the database. Working days come from the statutory
calendar in memory, applied to the grouped rows (one per unit, stage and due date), never per item.

Definitions (dates are Beijing dates; the period is [from, to]):
- overdue in the period: an open task past its due time at the period's end (or now, if earlier),
  or a task completed after its due time, completed on or after `from` and due before the end of
  `to`. days overdue are statutory working days from the due date to its completion (open tasks:
  to the period's end or today); escalated: it has an escalation notification; max_level: the
  highest escalation level (0 without one).
- on time: completed in the period, with a due date, and completed on or before the due date.
  按期办结率 = on time / (completed in the period + open and overdue at the period's end): an open
  task already past its due date can no longer be on time, so it counts against its unit now
  rather than only once it is finally completed. A task whose clock stands still (补正) is not
  overdue (service.domain.clock), here as on every other view.
- weekly: weeks (Monday first) of the last `weeks` weeks up to the week of `to`; completed / on_time
  / late as above (tasks with a due date), opened (all tasks created in the week), and
  overdue_open_at_end: tasks open and past due at the end of the week (or of `to`, or now)."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.domain.access import Actor, require_overseer
from service.domain.calendar import WorkCalendar
from service.domain.deadlines import LOCAL_TZ, local_date
from service.domain.errors import FieldError, ValidationFailed
from service.operations.context import Govflow
from service.storage.models import LateFiling, Notification, Rectification, Unit, WorkItem, WorkItemClock, utcnow
from service.storage.sql_dates import as_date, local_day

DEFAULT_DAYS = 90
DEFAULT_WEEKS = 8
MAX_WEEKS = 104
MAX_SPAN_DAYS = 3 * 366


def _utc(day: dt.date) -> dt.datetime:
    """Beijing midnight starting `day`, as naive UTC (the storage convention)."""
    return dt.datetime.combine(day, dt.time(0), LOCAL_TZ).astimezone(dt.UTC).replace(tzinfo=None)


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def parse_period(date_from: str | None, date_to: str | None, weeks: int | None,
                 today: dt.date) -> tuple[dt.date, dt.date, int]:
    errors = []
    parsed: dict[str, dt.date | None] = {}
    for name, raw in (("from", date_from), ("to", date_to)):
        parsed[name] = None
        if raw:
            try:
                if len(raw) != 10:
                    raise ValueError(raw)
                parsed[name] = dt.date.fromisoformat(raw)
            except ValueError:
                errors.append(FieldError(name, f"{name}：应为日期（YYYY-MM-DD）"))
    if weeks is not None and not 1 <= weeks <= MAX_WEEKS:
        errors.append(FieldError("weeks", f"weeks：须在 1–{MAX_WEEKS} 之间"))
    if errors:
        raise ValidationFailed(errors)
    lo, hi = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
    for name, value in parsed.items():
        if value is not None and not lo <= value <= hi:
            errors.append(FieldError(name, f"{name}：日期须在 2000–2100 年之间"))
    if errors:
        raise ValidationFailed(errors)
    to = parsed["to"] or today
    start = parsed["from"] or to - dt.timedelta(days=DEFAULT_DAYS)
    if start > to:
        raise ValidationFailed([FieldError("from", "from：开始日期不能晚于结束日期")])
    if (to - start).days > MAX_SPAN_DAYS:
        raise ValidationFailed([FieldError("from", f"from：统计区间不能超过 {MAX_SPAN_DAYS} 天")])
    return start, to, weeks or DEFAULT_WEEKS


def overview(ctx: Govflow, actor: Actor, *, date_from: dt.date, date_to: dt.date, weeks: int = DEFAULT_WEEKS,
             now: dt.datetime | None = None) -> dict[str, Any]:
    """The dashboard of 督办 and 审计 (supervisors and auditors only)."""
    require_overseer(actor)
    now = now or utcnow()
    today = local_date(now)
    start_utc, end_utc = _utc(date_from), _utc(date_to + dt.timedelta(days=1))
    ref = min(now, end_utc)  # the moment "open at the end of the period" is judged
    ref_day = min(today, date_to)
    first_week = _monday(date_to) - dt.timedelta(weeks=weeks - 1)
    window_utc = min(start_utc, _utc(first_week))
    with ctx.db.session() as s:
        cal = ctx.calendar(s)
        # No task completes in the future: this upper bound changes no result, but gives the
        # late-completion queries a two-sided range on (state, completed_at), which SQLite's planner
        # needs to pick that index instead of scanning every completed task (bench/page_reads.py).
        horizon = max(now, utcnow())
        overdue = _overdue(s, cal, start_utc, end_utc, ref, ref_day, horizon)
        completions = _completions(s, window_utc, end_utc)
        open_late = _open_overdue_by_unit(s, ref)
        opened = _opened(s, _utc(first_week), end_utc)
        open_due, completed_due = _overdue_history(s, _utc(first_week), end_utc, horizon)
        open_rect = s.scalar(select(func.count()).select_from(Rectification)
                             .where(Rectification.closed_at.is_(None))) or 0
        late = s.scalar(select(func.count()).select_from(LateFiling)
                        .where(LateFiling.due_date >= date_from, LateFiling.due_date <= date_to)) or 0

    on_time: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # on time, late, open overdue
    weekly: dict[dt.date, dict[str, int]] = {
        first_week + dt.timedelta(weeks=i): {"completed": 0, "on_time": 0, "late": 0, "opened": 0,
                                             "overdue_open_at_end": 0} for i in range(weeks)}
    for unit, day, due, n in completions:
        good = day <= due
        if date_from <= day <= date_to:
            on_time[unit][0 if good else 1] += n
        week = weekly.get(_monday(day))
        if week is not None:
            week["completed"] += n
            week["on_time" if good else "late"] += n
    for unit, n in open_late.items():
        on_time[unit][2] += n
    for day, n in opened:
        week = weekly.get(_monday(day))
        if week is not None:
            week["opened"] += n
    for monday, week in weekly.items():
        moment = min(_utc(monday + dt.timedelta(weeks=1)), end_utc, now)
        cutoff = local_date(moment)
        count = sum(n for due, n in open_due if due < cutoff)
        if moment != now:  # a task completed by now was not open now
            count += sum(n for due, done, n in completed_due if due < cutoff <= done)
        week["overdue_open_at_end"] = count

    return {
        "period": {"from": date_from.isoformat(), "to": date_to.isoformat()},
        "overdue_by_unit": overdue["unit"],
        "overdue_by_stage": overdue["stage"],
        "on_time": [{"unit": unit, "completed": good + bad, "on_time": good, "late": bad, "open_overdue": still,
                     "rate": round(good / (good + bad + still), 4) if good + bad + still else None}
                    for unit, (good, bad, still) in sorted(on_time.items())],
        "weekly": [{"week_start": monday.isoformat(), **week} for monday, week in sorted(weekly.items())],
        "open_rectifications": int(open_rect),
        "late_filings": int(late),
    }


def _overdue(s: Session, cal: WorkCalendar, start_utc: dt.datetime, end_utc: dt.datetime, ref: dt.datetime,
             ref_day: dt.date, horizon: dt.datetime) -> dict[str, list[dict[str, Any]]]:
    escalation = (Notification.work_item_id == WorkItem.id) & (Notification.kind == "escalation")
    cols = (Unit.name, WorkItem.stage, WorkItem.due_date, func.count(func.distinct(WorkItem.id)),
            func.count(func.distinct(Notification.work_item_id)), func.max(Notification.level),
            func.max(WorkItem.completed_at))
    base = (select(*cols).join(Unit, Unit.id == WorkItem.unit_id).outerjoin(Notification, escalation)
            .group_by(Unit.name, WorkItem.stage, WorkItem.due_date))
    late_done = base.where(WorkItem.state == "completed", WorkItem.completed_at >= start_utc,
                           WorkItem.completed_at <= horizon, WorkItem.due_at < end_utc,
                           WorkItem.completed_at > WorkItem.due_at)
    still_open = (base.outerjoin(WorkItemClock, WorkItemClock.work_item_id == WorkItem.id)
                  .where(WorkItem.state == "open", WorkItem.due_at < ref, WorkItemClock.paused_at.is_(None)))
    groups: dict[str, dict[str, dict[str, Any]]] = {"unit": {}, "stage": {}}
    last = end_utc - dt.timedelta(microseconds=1)
    for unit, stage, due, n, escalated, level, done in [*s.execute(late_done).all(), *s.execute(still_open).all()]:
        until = local_date(min(done, last)) if done is not None else ref_day
        days = cal.working_days_between(due, until) if due is not None else 0
        for kind, key in (("unit", unit), ("stage", stage)):
            g = groups[kind].setdefault(key, {kind: key, "overdue": 0, "escalated": 0, "max_level": 0,
                                              "max_days_overdue": 0})
            g["overdue"] += int(n)
            g["escalated"] += int(escalated or 0)
            g["max_level"] = max(g["max_level"], int(level or 0))
            g["max_days_overdue"] = max(g["max_days_overdue"], days)
    return {kind: sorted(rows.values(), key=lambda g: (-g["overdue"], str(g[kind])))
            for kind, rows in groups.items()}


def _completions(s: Session, since: dt.datetime, end_utc: dt.datetime) -> list[tuple[str, dt.date, dt.date, int]]:
    """(unit, Beijing completion date, due date, count) of tasks with a due date completed in the window."""
    day = local_day(s, WorkItem.completed_at)
    q = (select(Unit.name, day, WorkItem.due_date, func.count()).join(Unit, Unit.id == WorkItem.unit_id)
         .where(WorkItem.state == "completed", WorkItem.completed_at >= since, WorkItem.completed_at < end_utc,
                WorkItem.due_date.is_not(None))
         .group_by(Unit.name, day, WorkItem.due_date))
    return [(unit, as_date(d), as_date(due), int(n)) for unit, d, due, n in s.execute(q)]


def _open_overdue_by_unit(s: Session, ref: dt.datetime) -> dict[str, int]:
    """Open tasks past their due time at `ref` whose clock runs, per unit (one grouped query on the
    (state, due_at) index)."""
    q = (select(Unit.name, func.count()).select_from(WorkItem).join(Unit, Unit.id == WorkItem.unit_id)
         .outerjoin(WorkItemClock, WorkItemClock.work_item_id == WorkItem.id)
         .where(WorkItem.state == "open", WorkItem.due_at < ref, WorkItemClock.paused_at.is_(None))
         .group_by(Unit.name))
    return {unit: int(n) for unit, n in s.execute(q)}


def _opened(s: Session, since: dt.datetime, end_utc: dt.datetime) -> list[tuple[dt.date, int]]:
    day = local_day(s, WorkItem.created_at)
    q = (select(day, func.count()).where(WorkItem.created_at >= since, WorkItem.created_at < end_utc)
         .group_by(day))
    return [(as_date(d), int(n)) for d, n in s.execute(q)]


def _overdue_history(s: Session, since: dt.datetime, end_utc: dt.datetime,
                     horizon: dt.datetime) -> tuple[list[tuple[dt.date, int]], list[tuple[dt.date, dt.date, int]]]:
    """Open tasks past due by due date; tasks completed late since the window start by (due date,
    Beijing completion date): enough to tell, for any week end, which were open and past due."""
    open_q = (select(WorkItem.due_date, func.count())
              .outerjoin(WorkItemClock, WorkItemClock.work_item_id == WorkItem.id)
              .where(WorkItem.state == "open", WorkItem.due_at < end_utc, WorkItemClock.paused_at.is_(None))
              .group_by(WorkItem.due_date))
    day = local_day(s, WorkItem.completed_at)
    done_q = (select(WorkItem.due_date, day, func.count())
              .where(WorkItem.state == "completed", WorkItem.completed_at >= since,
                     WorkItem.completed_at <= horizon, WorkItem.due_at < end_utc,
                     WorkItem.completed_at > WorkItem.due_at)
              .group_by(WorkItem.due_date, day))
    return ([(as_date(d), int(n)) for d, n in s.execute(open_q)],
            [(as_date(d), as_date(c), int(n)) for d, c, n in s.execute(done_q)])

