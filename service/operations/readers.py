"""Read models the API needs that the core operations do not offer: the inbox with its scope and
sort order, process versions, a calendar year, users of a unit."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from service.domain.access import WORKER_ROLES, Actor, require_admin
from service.domain.calendar import MAX_YEAR, MIN_YEAR, WorkCalendar
from service.domain.deadlines import local_date
from service.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed
from service.domain.visibility import reads_everything
from service.operations import calendar, people, process_deploys, warnings
from service.operations.context import Govflow
from service.operations.processes import MAIN_PROCESS, latest_version
from service.operations.task_actions import task_view
from service.storage.models import (
    ProcessInstance,
    ProcessVersion,
    Project,
    Unit,
    User,
    WorkItem,
    WorkItemClock,
    utcnow,
)


def inbox(ctx: Govflow, actor: Actor, *, stage: str | None = None, project_id: int | None = None,
          unit: str | None = None, mine: bool = False, sort: str = "due", limit: int = 200,
          offset: int = 0, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Workers see the open tasks of their unit's lanes (or only theirs with `mine`); 督办 and
    审计 see every open task; designers work no tasks.

    Each row carries `working_days_left` (statutory working days from today, Beijing, to the due
    date; negative when overdue; null without a due date) and `warning` (null, "yellow", "red":
    service.operations.warnings' grading). One query for the rows: the clock comes in the same
    join, the calendar and the task properties are in memory."""
    if actor.roles & WORKER_ROLES and actor.unit:
        scope = actor.unit
    elif reads_everything(actor):
        scope = unit
    else:
        raise Forbidden("当前角色不办理任务，没有待办")
    now = now or utcnow()
    with ctx.db.session() as s:
        q = (select(WorkItem, Project, WorkItemClock, ProcessInstance.version_id)
             .join(Unit, WorkItem.unit_id == Unit.id)
             .join(Project, Project.id == WorkItem.project_id)
             .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
             .outerjoin(WorkItemClock, WorkItemClock.work_item_id == WorkItem.id)
             .where(WorkItem.state == "open"))
        if scope:
            q = q.where(Unit.name == scope)
        if mine:
            q = q.where(WorkItem.assignee == actor.user)
        if stage:
            q = q.where(WorkItem.stage == stage)
        if project_id is not None:
            q = q.where(WorkItem.project_id == project_id)
        if sort == "-due":
            q = q.order_by(WorkItem.due_at.is_(None), WorkItem.due_at.desc(), WorkItem.id.desc())
        elif sort == "created":
            q = q.order_by(WorkItem.id)
        else:
            q = q.order_by(WorkItem.due_at.is_(None), WorkItem.due_at, WorkItem.id)
        rows = s.execute(q.limit(limit).offset(offset)).all()
        return people.add_names(s, inbox_rows(ctx, s, rows, now))  # type: ignore[no-any-return]


def inbox_rows(ctx: Govflow, s: Session, rows: Sequence[Any], now: dt.datetime) -> list[dict[str, Any]]:
    """(WorkItem, Project, WorkItemClock, version id) rows as the inbox shows them: working days
    left and the 黄牌/红牌 grade, with no further query."""
    cal = ctx.calendar(s)
    today = local_date(now)
    out = []
    for item, project, clock, version_id in rows:
        view = task_view(item, project)
        view["working_days_left"] = working_days_left(cal, today, item.due_date)
        view["warning"] = None
        view["paused"], view["paused_reason"], view["clock_label"] = False, None, None
        if item.due_date is not None:
            # One reading of the clock (service.domain.clock) for the days left, the grade and 补正.
            props = ctx.runtime(s, version_id).task_properties(item.task_name)
            r = warnings.reading(cal, item, clock, now, props)
            view["working_days_left"] = r.working_days_left
            view["warning"] = r.grade if r.grade in (warnings.YELLOW, warnings.RED) else None
            view["paused"], view["paused_reason"], view["clock_label"] = r.paused, r.paused_reason, r.label
        out.append(view)
    return out


def working_days_left(cal: WorkCalendar, today: dt.date, due: dt.date | None) -> int | None:
    """Working days from today to the due date: 0 on the due day, negative once past it."""
    if due is None:
        return None
    if due >= today:
        return cal.working_days_between(today, due)
    return -cal.working_days_between(due, today)


def _instance_counts(session: Session, version_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Running and total instances per process version, in one grouped query."""
    running = func.sum(case((ProcessInstance.status == "running", 1), else_=0))
    q = select(ProcessInstance.version_id, running, func.count()).group_by(ProcessInstance.version_id)
    if version_ids is not None:
        q = q.where(ProcessInstance.version_id.in_(version_ids))
    return {vid: {"running": int(r or 0), "total": int(t)} for vid, r, t in session.execute(q)}


def _version_row(v: ProcessVersion, counts: dict[int, dict[str, int]]) -> dict[str, Any]:
    return {"id": v.id, "process_key": v.process_key, "version": v.version, "checksum": v.checksum,
            "deployed_by": v.deployed_by, "deployed_at": v.deployed_at.isoformat(),
            "instances": counts.get(v.id, {"running": 0, "total": 0})}


def process_versions(ctx: Govflow) -> list[dict[str, Any]]:
    with ctx.db.session() as s:
        counts = _instance_counts(s)
        current = process_deploys.current_version_ids(s)  # the version new declarations start on
        rows = s.scalars(select(ProcessVersion).order_by(ProcessVersion.process_key, ProcessVersion.version.desc()))
        return [{**_version_row(v, counts), "files": sorted(v.sources), "is_latest": current.get(v.process_key) == v.id}
                for v in rows]


def require_process_reader(actor: Actor) -> None:
    """Designers edit processes; 督办 and 审计 may read them (read-only)."""
    if not actor.roles & {"designer", "admin", "system", "supervisor", "auditor"}:
        raise Forbidden("只有流程设计人员和督办人员可以查看流程定义")


def process_version(ctx: Govflow, actor: Actor, version_id: int | None = None,
                    process_key: str = MAIN_PROCESS) -> dict[str, Any]:
    """One version with its sources ({file: text}); without an id, the newest of `process_key`."""
    require_process_reader(actor)
    with ctx.db.session() as s:
        if version_id is None:
            v = latest_version(s, process_key)
        else:
            found = s.get(ProcessVersion, version_id)
            if found is None:
                raise NotFound("流程版本不存在")
            v = found
        return {**_version_row(v, _instance_counts(s, [v.id])), "files": dict(sorted(v.sources.items()))}


def calendar_year(ctx: Govflow, year: int) -> dict[str, Any]:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed([FieldError("year", f"年份须在 {MIN_YEAR}–{MAX_YEAR} 之间")])
    with ctx.db.session() as s:
        cal = ctx.calendars.refresh(s)
    day = dt.date(year, 1, 1)
    off, makeup = [], []
    while day.year == year:
        work = cal.is_workday(day)
        if not work and day.weekday() < 5:
            off.append(day.isoformat())
        elif work and day.weekday() >= 5:
            makeup.append(day.isoformat())
        day += dt.timedelta(days=1)
    basis = cal.day_basis(dt.date(year, 6, 1))
    return {"year": year, "basis": basis, "provisional": basis == "estimated", "weekday_days_off": off,
            "weekend_workdays": makeup,
            "notice": f"{year}年放假安排未发布，期限为预估" if basis == "estimated" else None}


def load_calendar_year(ctx: Govflow, year: int, body: dict[str, Any], actor: Actor) -> calendar.CalendarLoaded:
    require_admin(actor)
    if body.get("year") != year:
        raise ValidationFailed([FieldError("year", f"文件中的年份应为 {year}")])
    return calendar.load_year(ctx, json.dumps(body, ensure_ascii=False), actor)


def unit_users(ctx: Govflow, actor: Actor, unit: str | None = None) -> list[dict[str, Any]]:
    """Colleagues to reassign or delegate to: a worker sees their own unit, read-all roles any."""
    target = unit if reads_everything(actor) else actor.unit
    if target is None and not reads_everything(actor):
        return []
    with ctx.db.session() as s:
        q = select(User).where(User.active.is_(True)).order_by(User.username)
        if target:
            q = q.join(Unit, User.unit_id == Unit.id).where(Unit.name == target)
        return [{"username": u.username, "display_name": u.display_name, "unit": u.unit.name if u.unit else None,
                 "roles": sorted(u.roles or [])} for u in s.scalars(q)]
