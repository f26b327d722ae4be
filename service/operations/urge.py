"""催办: the declaring unit or supervision reminds the unit holding an open task, at most once per
task and statutory working day (docs/urge-and-extension.md).

The working day an urge counts for is today (Beijing) when it is a working day, else the next
one: an urge on Saturday uses up Monday's. The unique key (task, working day) makes the limit hold
against two clicks at once; the project lock makes the second one wait and read the first."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.domain import approval_actions as rules
from service.domain.access import Actor, require_overseer
from service.domain.calendar import WorkCalendar
from service.domain.deadlines import local_date
from service.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from service.domain.visibility import can_see_task
from service.operations import audit, people, task_messages
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import Project, Unit, Urge, WorkItem, utcnow

NOTE_MAX = 500


class AlreadyUrged(Conflict):
    code = "already_urged"


def urge_day(cal: WorkCalendar, now: dt.datetime) -> dt.date:
    today = local_date(now)
    return today if cal.is_workday(today) else cal.next_workday(today)


def may_urge(actor: Actor, item: WorkItem, project: Project) -> bool:
    """Supervision urges any open task; the declaring unit (办件人, leader) urges one another unit
    holds (the rule: service.domain.approval_actions.may_urge)."""
    return rules.may_urge(actor, task_open=item.state == "open", task_unit=item.unit.name,
                          project_unit=project.unit.name)


def urge(ctx: Govflow, work_item_id: int, note: str, actor: Actor, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed([FieldError("note", f"催办说明：不超过 {NOTE_MAX} 字")])
    with ctx.db.session() as s:
        project = locks.project_of_work_item(s, work_item_id)
        item = s.get(WorkItem, work_item_id, populate_existing=True) if project is not None else None
        if item is None or project is None:
            raise NotFound("任务不存在")
        if not can_see_task(actor, item.unit.name, project.unit.name):
            raise NotFound("任务不存在")  # another unit's task does not exist for it
        if item.state != "open":
            raise Conflict("该任务已办结或已撤回，无需催办")
        rules.require_urger(actor, task_unit=item.unit.name, project_unit=project.unit.name)
        cal = ctx.calendar(s)
        day = urge_day(cal, now)
        if s.scalar(select(Urge.id).where(Urge.work_item_id == item.id, Urge.working_day == day)) is not None:
            raise _already(cal, day)
        row = Urge(work_item_id=item.id, project_id=project.id, unit_id=item.unit_id, working_day=day,
                   by_user=actor.user, by_unit=actor.unit, note=note, at=now)
        try:
            with s.begin_nested():
                s.add(row)
        except IntegrityError:
            raise _already(cal, day) from None
        count = s.scalar(select(func.count(Urge.id)).where(Urge.work_item_id == item.id)) or 0
        who = people.name_of(s, actor.user)
        by = f"{actor.unit or ''}{who}"
        task_messages.queue(
            s, item=item, project=project, kind="urge", level=row.id, unit_id=item.unit_id, unit_name=item.unit.name,
            role="assignee", subject=f"【催办】{project.name}「{item.title}」",
            opening=f"{by}催办贵单位承办的「{item.title}」，请抓紧办理。" + (f"催办说明：{note}" if note else ""),
            lead=f"{by}催办" + (f"：{note}" if note else ""),
            facts=[f"催办人：{by}", f"本任务累计催办：{count} 次"], now=now)
        audit.append(s, project, actor=actor.user, action="task_urged", work_item_id=item.id,
                     detail={"task": item.task_name, "title": item.title, "unit": item.unit.name, "note": note,
                             "working_day": day.isoformat(), "by_unit": actor.unit, "count": count},
                     algorithm=ctx.settings.audit_hash, at=now)
        return {"id": row.id, "work_item_id": item.id, "working_day": day.isoformat(), "count": count,
                "at": now.isoformat()}


def _already(cal: WorkCalendar, day: dt.date) -> AlreadyUrged:
    return AlreadyUrged(f"今日已催办过，请于下一个工作日（{cal.next_workday(day).isoformat()}）再催办")


def urge_view(u: Urge, names: dict[str, Any]) -> dict[str, Any]:
    return {"id": u.id, "work_item_id": u.work_item_id, "by_user": u.by_user,
            "by_user_name": (names.get(u.by_user) or {}).get("name") or u.by_user, "by_unit": u.by_unit,
            "note": u.note, "working_day": u.working_day.isoformat(), "at": u.at.isoformat()}


def urges_of(session: Session, work_item_id: int) -> list[dict[str, Any]]:
    rows = list(session.scalars(select(Urge).where(Urge.work_item_id == work_item_id).order_by(Urge.id)))
    names = people.names(session, [u.by_user for u in rows])
    return [urge_view(u, names) for u in rows]


def summary(ctx: Govflow, actor: Actor, *, since: dt.date | None = None, until: dt.date | None = None,
            limit: int = 20) -> dict[str, Any]:
    """督办看板: urges per urged unit (and how many tasks), and the most-urged open tasks."""
    require_overseer(actor)
    with ctx.db.session() as s:
        where = []
        if since is not None:
            where.append(Urge.working_day >= since)
        if until is not None:
            where.append(Urge.working_day <= until)
        by_unit = s.execute(select(Unit.name, func.count(Urge.id), func.count(func.distinct(Urge.work_item_id)))
                            .join(Unit, Unit.id == Urge.unit_id).where(*where)
                            .group_by(Unit.name).order_by(func.count(Urge.id).desc(), Unit.name)).all()
        cols = (WorkItem.id, WorkItem.project_id, WorkItem.title, Unit.name, WorkItem.due_date)
        tasks = s.execute(select(*cols, func.count(Urge.id), func.max(Urge.at))
                          .join(Urge, Urge.work_item_id == WorkItem.id).join(Unit, Unit.id == WorkItem.unit_id)
                          .where(WorkItem.state == "open", *where).group_by(*cols)
                          .order_by(func.count(Urge.id).desc(), func.max(Urge.at).desc()).limit(limit)).all()
        return {
            "total": sum(n for _, n, _ in by_unit),
            "by_unit": [{"unit": u, "urges": n, "tasks": t} for u, n, t in by_unit],
            "tasks": [{"work_item_id": wid, "project_id": pid, "title": title, "unit": unit,
                       "due_date": due.isoformat() if due else None, "urges": n,
                       "last_at": last.isoformat() if last else None}
                      for wid, pid, title, unit, due, n, last in tasks],
        }
