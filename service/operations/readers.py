"""Read models the API needs that the core operations do not offer: the inbox with its scope and
sort order, process versions, a calendar year, users of a unit."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from service.domain.access import WORKER_ROLES, Actor, require_admin
from service.domain.calendar import MAX_YEAR, MIN_YEAR
from service.domain.errors import FieldError, Forbidden, ValidationFailed
from service.domain.visibility import reads_everything
from service.operations import calendar
from service.operations.context import Govflow
from service.operations.task_actions import task_view
from service.storage.models import ProcessVersion, Project, Unit, User, WorkItem


def inbox(ctx: Govflow, actor: Actor, *, stage: str | None = None, project_id: int | None = None,
          unit: str | None = None, mine: bool = False, sort: str = "due", limit: int = 200,
          offset: int = 0) -> list[dict[str, Any]]:
    """Workers see the open tasks of their unit's lanes (or only theirs with `mine`); 督办 and
    审计 see every open task; designers work no tasks."""
    if actor.roles & WORKER_ROLES and actor.unit:
        scope = actor.unit
    elif reads_everything(actor):
        scope = unit
    else:
        raise Forbidden("当前角色不办理任务，没有待办")
    with ctx.db.session() as s:
        q = (select(WorkItem, Project).join(Unit, WorkItem.unit_id == Unit.id)
             .join(Project, Project.id == WorkItem.project_id).where(WorkItem.state == "open"))
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
        return [task_view(item, project) for item, project in s.execute(q.limit(limit).offset(offset))]


def process_versions(ctx: Govflow) -> list[dict[str, Any]]:
    with ctx.db.session() as s:
        rows = s.scalars(select(ProcessVersion).order_by(ProcessVersion.process_key, ProcessVersion.version.desc()))
        return [{"id": v.id, "process_key": v.process_key, "version": v.version, "checksum": v.checksum,
                 "files": sorted(v.sources), "deployed_by": v.deployed_by, "deployed_at": v.deployed_at.isoformat()}
                for v in rows]


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
