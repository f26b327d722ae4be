"""Deadline clocks of open tasks: the alarm plan (reminders, escalation levels, late statutory
filing), the indexed next fire time the tick reads, and the legal clock that stops (补正) and
extends (延期).

Plan of a task due on day D (all at 09:00 Beijing time unless noted; per-task BPMN properties):

| event | when | property (default) |
| --- | --- | --- |
| remind_before | `remind_days` working days before D | `remind_days` (2; 0 = none) |
| remind_due | on D | |
| escalation level k | when the task is `escalate_days[k]` working days overdue | `escalate_days` ("1,3,5") |
| late_filing | at the end of D (statutory filings only) | |

Level 1 goes to the unit's leader, level 2 to 市大数据局 督办, level 3 to 市政府 督查."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.access import Actor, require_supervisor
from service.domain.calendar import WorkCalendar
from service.domain.clock import DEFAULT_ESCALATE_DAYS, Pause, alarm_at, pause_days, shift_due
from service.domain.deadlines import Due, local_date
from service.domain.errors import Conflict, FieldError, Forbidden, NotFound, RuleViolation, ValidationFailed
from service.domain.suspension import require_not_suspended
from service.operations import audit
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import AuditRecord, Project, WorkItem, WorkItemClock, utcnow

DEFAULT_REMIND_DAYS = 2
# Statutory filings: task → article of the measures.
STATUTORY_FILINGS = {
    "contract_filing": "第十二条",
    "termination_filing": "第十五条",
    "acceptance_report_filing": "第二十四条",
    "self_evaluation": "第二十五条",
}
ESCALATION_TARGETS = {1: ("unit", "leader"), 2: ("市大数据局", "supervision"), 3: ("市政府", "superior")}


@dataclass(frozen=True)
class Alarm:
    at: dt.datetime  # naive UTC
    kind: str  # remind_before | remind_due | escalation | late_filing
    level: int


def local_at(day: dt.date) -> dt.datetime:
    return alarm_at(day)


def working_days_before(cal: WorkCalendar, day: dt.date, n: int) -> dt.date:
    d, k = day, 0
    while k < n:
        d -= dt.timedelta(days=1)
        if cal.is_workday(d):
            k += 1
    return d


def escalate_days(props: Mapping[str, str]) -> tuple[int, ...]:
    raw = props.get("escalate_days")
    if not raw:
        return DEFAULT_ESCALATE_DAYS
    return tuple(int(x) for x in str(raw).split(",") if x.strip())[:3]


def plan(cal: WorkCalendar, item: WorkItem, props: Mapping[str, str]) -> list[Alarm]:
    if item.due_date is None or item.due_at is None:
        return []
    due = item.due_date
    alarms = []
    remind = int(props.get("remind_days", DEFAULT_REMIND_DAYS) or 0)
    if remind > 0:
        alarms.append(Alarm(local_at(working_days_before(cal, due, remind)), "remind_before", 0))
    alarms.append(Alarm(local_at(due), "remind_due", 0))
    for level, days in enumerate(escalate_days(props), start=1):
        alarms.append(Alarm(local_at(cal.add_working_days(due, days).date), "escalation", level))
    if item.task_name in STATUTORY_FILINGS:
        alarms.append(Alarm(item.due_at + dt.timedelta(seconds=1), "late_filing", 0))
    return sorted(alarms, key=lambda a: a.at)


def overdue_working_days(cal: WorkCalendar, item: WorkItem, now: dt.datetime) -> int:
    if item.due_date is None or item.due_at is None or now <= item.due_at:
        return 0
    return cal.working_days_between(item.due_date, local_date(now))


def next_fire(alarms: Iterable[Alarm], now: dt.datetime) -> dt.datetime | None:
    later = [a.at for a in alarms if a.at > now]
    return min(later) if later else None


def arm(ctx: Govflow, session: Session, items: Iterable[WorkItem], props_of: Any, now: dt.datetime) -> None:
    """Create the clock of newly opened work items (called by progress.apply in its transaction)."""
    items = [item for item in items if item.due_date is not None]
    if not items:
        return
    cal = ctx.calendar(session)
    for item in items:
        alarms = plan(cal, item, props_of(item.task_name))
        # An alarm already past when the task opens still fires at the next tick.
        first = min((a.at for a in alarms), default=None)
        session.add(WorkItemClock(work_item_id=item.id, fire_at=first, original_due_date=item.due_date))


def rearm(ctx: Govflow, session: Session, item: WorkItem, now: dt.datetime, *, moved: bool) -> None:
    """The due date of an open item changed (calendar loaded, clock resumed, extension): plan again."""
    clock = _clock(session, item)
    if moved:
        clock.revision = (clock.revision or 0) + 1
    if clock.paused_at is not None or item.due_date is None:
        clock.fire_at = None
        return
    # Fire at once: the tick sends what is due now and sets the next time itself.
    clock.fire_at = now


def pauses_of(session: Session, item: WorkItem, clock: WorkItemClock) -> list[Pause]:
    """Every closed 补正 pause of the item, from its audit records (the clock row keeps only their
    sum). Days the clock row counts beyond the recorded pauses were carried over by 撤回 from an
    earlier occurrence of the task."""
    rows = session.execute(select(AuditRecord.action, AuditRecord.at, AuditRecord.detail)
                           .where(AuditRecord.project_id == item.project_id, AuditRecord.work_item_id == item.id,
                                  AuditRecord.action.in_(("clock_paused", "clock_resumed")))
                           .order_by(AuditRecord.seq)).all()
    pauses: list[Pause] = []
    start: dt.date | None = None
    recorded = 0
    for action, at, detail in rows:
        if action == "clock_paused":
            start = local_date(at)
        elif start is not None:
            pauses.append(Pause(start, local_date(at)))
            recorded += int((detail or {}).get("paused_working_days") or 0)
            start = None
    carried = (clock.paused_days or 0) - recorded
    if carried > 0:
        pauses.insert(0, Pause(dt.date.min, None, days=carried))
    return pauses


def apply_due(cal: WorkCalendar, session: Session, item: WorkItem, clock: WorkItemClock,
              base: Due | None = None, *, closing_at: dt.datetime | None = None, extension: int = 0) -> Due | None:
    """Set the item's due date from its base rule, every pause and every extension
    (service.domain.clock.shift_due), after closing the open pause at `closing_at` and granting
    `extension` working days. `base` (a calendar load) is the rule computed afresh; without it, the
    base the clock holds."""
    pauses = pauses_of(session, item, clock)
    if base is None:
        day = clock.original_due_date or item.due_date
        if day is None:
            return None
        # The stored flag covers base, pauses and extensions: keeping it errs towards "预估" until
        # a calendar load recomputes the base itself.
        base = Due(day, bool(item.due_provisional), item.due_rule or "")
        if item.due_date is not None and shift_due(cal, base, pauses, [clock.extended_days or 0]).date != item.due_date:
            # The date was moved outside the clock (an old row, a hand edit): the date the unit was
            # told stays the truth, so the base is taken back from it.
            total = sum(pause_days(cal, p)[0] for p in pauses) + (clock.extended_days or 0)
            back = working_days_before(cal, item.due_date, total) if total else item.due_date
            base = Due(back, base.provisional, base.rule)
    if closing_at is not None and clock.paused_at is not None:
        # The row's paused_at is the open pause's start (its audit record says the same).
        pauses.append(Pause(local_date(clock.paused_at), local_date(closing_at)))
    clock.extended_days = (clock.extended_days or 0) + extension
    due = shift_due(cal, base, pauses, [clock.extended_days])
    clock.original_due_date = base.date
    # The sum the views subtract from the time used (service.domain.clock.read_clock), recounted
    # on the same calendar as the due date.
    clock.paused_days = sum(pause_days(cal, p)[0] for p in pauses)
    item.due_date, item.due_at, item.due_rule, item.due_provisional = due.date, due.at_utc, due.rule, due.provisional
    return due


def _load(session: Session, work_item_id: int) -> tuple[WorkItem, Project, WorkItemClock]:
    # The project's writers queue on its row (service.storage.locks), the tick included for clocks.
    project = locks.project_of_work_item(session, work_item_id)
    item = session.get(WorkItem, work_item_id, populate_existing=True) if project is not None else None
    if item is None or project is None:
        raise NotFound("任务不存在")
    if item.state != "open":
        raise Conflict("该任务已办结或已撤回")
    return item, project, _clock(session, item)


def clock_for(session: Session, item: WorkItem) -> WorkItemClock:
    return _clock(session, item)


def _clock(session: Session, item: WorkItem) -> WorkItemClock:
    """The item's clock; tasks opened before the workers existed get one on first use."""
    clock = session.get(WorkItemClock, item.id)
    if clock is None:
        clock = WorkItemClock(work_item_id=item.id, original_due_date=item.due_date, revision=0, paused_days=0,
                              extended_days=0)
        session.add(clock)
    return clock


def _require_clock_keeper(actor: Actor, item: WorkItem) -> None:
    """补正 is asked for by the unit handling the task (or by supervision), never by another unit."""
    if actor.roles & {"supervisor", "admin", "system"}:
        return
    if not actor.roles & {"reviewer", "leader", "department"} or actor.unit != item.unit.name:
        raise Forbidden("只有办理该任务的单位或督办人员可以暂停、恢复办理时限")


def pause(ctx: Govflow, work_item_id: int, reason: str, actor: Actor, now: dt.datetime | None = None) -> None:
    """补正: the clock stops while the applicant supplies missing material."""
    now = now or utcnow()
    with ctx.db.session() as s:
        item, project, clock = _load(s, work_item_id)
        _require_clock_keeper(actor, item)
        reason = (reason or "").strip()
        if not reason or len(reason) > 2000:
            raise ValidationFailed([FieldError("reason", "暂停理由：不能为空，且不超过 2000 字")])
        if clock.paused_at is not None:
            raise Conflict("该任务的办理时限已暂停")
        clock.paused_at, clock.paused_reason, clock.fire_at = now, reason, None
        audit.append(s, project, actor=actor.user, action="clock_paused", work_item_id=item.id,
                     detail={"task": item.task_name, "reason": reason,
                             "due_date": item.due_date.isoformat() if item.due_date else None},
                     algorithm=ctx.settings.audit_hash, at=now)


def resume(ctx: Govflow, work_item_id: int, actor: Actor, now: dt.datetime | None = None) -> int:
    """The material arrived: the working days the clock stood still are added to the due date.
    Days counted: working days in (pause day, resume day]. Returns them."""
    now = now or utcnow()
    with ctx.db.session() as s:
        item, project, clock = _load(s, work_item_id)
        _require_clock_keeper(actor, item)
        # A suspended project's clocks restart only with the project (service.operations.suspension).
        require_not_suspended(project.suspension)
        if clock.paused_at is None:
            raise Conflict("该任务的办理时限未暂停")
        return restart_in(ctx, s, project, item, clock, actor, now)


def restart_in(ctx: Govflow, s: Session, project: Project, item: WorkItem, clock: WorkItemClock, actor: Actor,
               now: dt.datetime, detail: dict[str, Any] | None = None) -> int:
    """Close a paused clock inside the caller's transaction (补正 resumed, or a suspended project
    resumed): the due date is recomputed with this pause counted once, alarms re-armed, audited.
    Returns the working days it stood still."""
    cal = ctx.calendar(s)
    assert clock.paused_at is not None
    days = cal.working_days_between(local_date(clock.paused_at), local_date(now))
    old = item.due_date
    if apply_due(cal, s, item, clock, closing_at=now) is None:  # which also counts this pause
        clock.paused_days = (clock.paused_days or 0) + days
    clock.paused_at = None
    rearm(ctx, s, item, now, moved=bool(days))
    audit.append(s, project, actor=actor.user, action="clock_resumed", work_item_id=item.id,
                 detail={"task": item.task_name, "paused_working_days": days, **(detail or {}),
                         "old_due_date": old.isoformat() if old else None,
                         "due_date": item.due_date.isoformat() if item.due_date else None},
                 algorithm=ctx.settings.audit_hash, at=now)
    return days


def extend(ctx: Govflow, work_item_id: int, working_days: int, reason: str, actor: Actor,
           now: dt.datetime | None = None) -> dt.date:
    """延期: a supervisor grants more working days, with a reason, whether or not the task is
    overdue yet. Returns the new due date."""
    now = now or utcnow()
    with ctx.db.session() as s:
        return extend_in(ctx, s, work_item_id, working_days, reason, actor, now)


def extend_in(ctx: Govflow, s: Session, work_item_id: int, working_days: int, reason: str, actor: Actor,
              now: dt.datetime, *, request_id: int | None = None) -> dt.date:
    """extend inside the caller's transaction (an approved 延期申请 commits with its decision).
    Locks the project first, as every write does."""
    require_supervisor(actor)
    if isinstance(working_days, bool) or not isinstance(working_days, int) or not 1 <= working_days <= 250:
        raise ValidationFailed([FieldError("working_days", "延期工作日：应为 1–250 的整数")])
    if not reason.strip():
        raise RuleViolation("延期须说明理由", field="reason")
    item, project, clock = _load(s, work_item_id)
    if item.due_date is None:
        raise RuleViolation("该任务没有办理时限")
    old = item.due_date
    apply_due(ctx.calendar(s), s, item, clock, extension=working_days)
    rearm(ctx, s, item, now, moved=True)
    detail: dict[str, Any] = {"task": item.task_name, "title": item.title, "unit": item.unit.name,
                              "working_days": working_days, "reason": reason,
                              "old_due_date": old.isoformat(), "due_date": item.due_date.isoformat()}
    if request_id is not None:
        detail["extension_request_id"] = request_id
    audit.append(s, project, actor=actor.user, action="deadline_extended", work_item_id=item.id,
                 detail=detail, algorithm=ctx.settings.audit_hash, at=now)
    assert item.due_date is not None
    return item.due_date


def clock_of(ctx: Govflow, work_item_id: int) -> WorkItemClock | None:
    with ctx.db.session() as s:
        return s.scalar(select(WorkItemClock).where(WorkItemClock.work_item_id == work_item_id))
