"""The lists an OA user works from, one page at a time: 待办 (open tasks of my unit), 已办 (tasks I
completed, with their decision), 我发起的 (projects my unit declared: current steps, who acts, due
date), the 项目库 register and the unit's messages, each searchable by project code or name.

Every list is one COUNT and one LIMIT/OFFSET query on the same filtered SELECT, so a page costs
what the page holds, not what the database holds; the per-row extras (open tasks of the projects
on a page) come in one more query bounded by the page. Scope comes from the actor
(service.domain.visibility), and filters only ever narrow it."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from service.domain.access import WORKER_ROLES, Actor
from service.domain.deadlines import local_date
from service.domain.errors import FieldError, Forbidden, ValidationFailed
from service.domain.visibility import reads_everything
from service.operations import notifications, people, readers, substitutes, withdraw
from service.operations.context import Govflow
from service.operations.dossier import project_summary
from service.operations.task_actions import task_view
from service.storage.models import (
    Notification,
    ProcessInstance,
    Project,
    Unit,
    WorkItem,
    WorkItemClock,
    utcnow,
)

VIEWS = ("todo", "done", "mine")
DUE_STATES = ("overdue", "due_soon", "ok")
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
# 临期: due within this many working days (the yellow-card horizon a clerk acts on).
DUE_SOON_WORKING_DAYS = 3
_DECISION = re.compile(r"(decision|result|conclusion)$")


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def __post_init__(self) -> None:
        if self.page < 1:
            raise ValidationFailed([FieldError("page", "page：页码须从 1 开始")])
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValidationFailed([FieldError("per_page", f"per_page：每页条数须在 1–{MAX_PER_PAGE} 之间")])

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


FIRST_PAGE = PageRequest()


def like_pattern(text: str) -> str:
    """A LIKE pattern for `text` anywhere, with the user's % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def project_matches(text: str | None) -> ColumnElement[bool] | None:
    """Project code or name contains `text`, case-insensitively (ILIKE on PostgreSQL)."""
    text = (text or "").strip()
    if not text:
        return None
    pattern = like_pattern(text)
    return or_(Project.code.ilike(pattern, escape="\\"), Project.name.ilike(pattern, escape="\\"))


def count_and_page(session: Session, query: Select[Any], page: PageRequest) -> tuple[int, list[Any]]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.execute(query.limit(page.per_page).offset(page.offset)).all()) if total else []
    return int(total), rows


def envelope(items: list[dict[str, Any]], total: int, page: PageRequest, **extra: Any) -> dict[str, Any]:
    pages = max(1, -(-total // page.per_page))
    return {"items": items, "total": total, "page": page.page, "per_page": page.per_page, "pages": pages, **extra}


def _due_bounds(ctx: Govflow, session: Session, now: dt.datetime) -> tuple[dt.date, dt.date]:
    today = local_date(now)
    return today, ctx.calendar(session).add_working_days(today, DUE_SOON_WORKING_DAYS).date


def _open_due_filter(due: str, now: dt.datetime, soon: dt.date) -> ColumnElement[bool]:
    """Open tasks by due state: overdue (past its due time), due_soon (due within
    DUE_SOON_WORKING_DAYS working days), ok (no due date or later than that)."""
    if due == "overdue":
        return WorkItem.due_at < now
    if due == "due_soon":
        return and_(WorkItem.due_at >= now, WorkItem.due_date <= soon)
    return or_(WorkItem.due_at.is_(None), and_(WorkItem.due_at >= now, WorkItem.due_date > soon))


def _unit_id(session: Session, name: str) -> int | None:
    return session.scalar(select(Unit.id).where(Unit.name == name))


# -- 待办 / 已办 / 我发起的 ------------------------------------------------------------------------


def tasks_page(ctx: Govflow, actor: Actor, *, view: str = "todo", q: str | None = None, stage: str | None = None,
               unit: str | None = None, due: str | None = None, assigned_to_me: bool = False, sort: str = "due",
               page: PageRequest = FIRST_PAGE, now: dt.datetime | None = None) -> dict[str, Any]:
    if view not in VIEWS:
        raise ValidationFailed([FieldError("view", f"view：只能是 {'、'.join(VIEWS)} 之一")])
    if due is not None and due not in DUE_STATES:
        raise ValidationFailed([FieldError("due", f"due：只能是 {'、'.join(DUE_STATES)} 之一")])
    now = now or utcnow()
    if view == "todo":
        return _todo(ctx, actor, q, stage, unit, due, page, now, assigned_to_me=assigned_to_me, sort=sort)
    if view == "done":
        if due == "due_soon":
            raise ValidationFailed([FieldError("due", "due：已办任务只能按 overdue（逾期办结）或 ok（按期办结）筛选")])
        return _done(ctx, actor, q, stage, unit, due, page)
    return _mine(ctx, actor, q, stage, unit, due, page, now)


def _todo(ctx: Govflow, actor: Actor, text: str | None, stage: str | None, unit: str | None, due: str | None,
          page: PageRequest, now: dt.datetime, *, assigned_to_me: bool, sort: str) -> dict[str, Any]:
    # The same scope as readers.inbox: a worker's own unit, whatever `unit` says; read-all roles any.
    if actor.roles & WORKER_ROLES and actor.unit:
        scope: str | None = actor.unit
    elif reads_everything(actor):
        scope = None
    else:
        raise Forbidden("当前角色不办理任务，没有待办")
    with ctx.db.session() as s:
        query = (select(WorkItem, Project, WorkItemClock, ProcessInstance.version_id)
                 .join(Project, Project.id == WorkItem.project_id)
                 .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
                 .outerjoin(WorkItemClock, WorkItemClock.work_item_id == WorkItem.id)
                 .where(WorkItem.state == "open"))
        for name in (scope, unit):
            if name:
                query = query.where(WorkItem.unit_id == _unit_id(s, name))
        if stage:
            query = query.where(WorkItem.stage == stage)
        if (match := project_matches(text)) is not None:
            query = query.where(match)
        if due:
            query = query.where(_open_due_filter(due, now, _due_bounds(ctx, s, now)[1]))
        # 代理: what colleagues I stand in for today hold is mine to work too (one small read, then
        # the list stays one COUNT and one page).
        covering = substitutes.absent_colleagues(s, actor) if scope else []
        if assigned_to_me:
            query = query.where(WorkItem.assignee.in_([actor.user, *covering]))
        if sort == "-due":
            query = query.order_by(WorkItem.due_at.is_(None), WorkItem.due_at.desc(), WorkItem.id.desc())
        elif sort == "created":
            query = query.order_by(WorkItem.id)
        else:
            query = query.order_by(WorkItem.due_at.is_(None), WorkItem.due_at, WorkItem.id)
        total, rows = count_and_page(s, query, page)
        items = readers.inbox_rows(ctx, s, rows, now)
        for row in items:
            row["on_behalf_of"] = row["assignee"] if row["assignee"] in covering else None
            row["batchable"] = ctx.forms.exists(row["form"]) and ctx.forms.get(row["form"]).batchable
        items = people.add_names(s, items)
    return envelope(items, total, page, view="todo")


def decision_of(data: dict[str, Any] | None) -> str | None:
    """The decision a completed form records (预算安排建议, 评审结论 …): its *_decision / *_result /
    *_conclusion field, as the processes name them."""
    for key, value in (data or {}).items():
        if _DECISION.search(key) and isinstance(value, str | bool):
            return ("是" if value else "否") if isinstance(value, bool) else value
    return None


def _done(ctx: Govflow, actor: Actor, text: str | None, stage: str | None, unit: str | None, due: str | None,
          page: PageRequest) -> dict[str, Any]:
    with ctx.db.session() as s:
        query = (select(WorkItem, Project).join(Project, Project.id == WorkItem.project_id)
                 .where(WorkItem.completed_by == actor.user, WorkItem.state == "completed"))
        if unit:
            query = query.where(WorkItem.unit_id == _unit_id(s, unit))
        if stage:
            query = query.where(WorkItem.stage == stage)
        if (match := project_matches(text)) is not None:
            query = query.where(match)
        late = and_(WorkItem.due_at.is_not(None), WorkItem.completed_at > WorkItem.due_at)
        if due == "overdue":
            query = query.where(late)
        elif due == "ok":
            query = query.where(~late)
        total, rows = count_and_page(s, query.order_by(WorkItem.completed_at.desc(), WorkItem.id.desc()), page)
        items = []
        for item, project in rows:
            view = task_view(item, project)
            data = item.data or {}
            view["decision"] = decision_of(data)
            view["opinion"] = data.get("opinion") if isinstance(data.get("opinion"), str) else None
            view["late"] = bool(item.due_at and item.completed_at and item.completed_at > item.due_at)
            view["project"].update({"stage": project.stage, "status": project.status, "outcome": project.outcome})
            items.append(view)
        withdraw.mark_withdrawable(ctx, s, rows, items, actor)  # 撤回 offered where it works
        people.add_names(s, items)
    return envelope(items, total, page, view="done")


def _mine(ctx: Govflow, actor: Actor, text: str | None, stage: str | None, unit: str | None, due: str | None,
          page: PageRequest, now: dt.datetime) -> dict[str, Any]:
    if actor.unit is None:
        raise Forbidden("当前账号不属于任何单位，没有发起的项目")
    with ctx.db.session() as s:
        query = select(Project).where(Project.unit_id == _unit_id(s, actor.unit))
        if stage:
            query = query.where(Project.stage == stage)
        if (match := project_matches(text)) is not None:
            query = query.where(match)
        # `unit` and `due` ask about the current steps: which unit acts next, and by when.
        step = [WorkItem.project_id == Project.id, WorkItem.state == "open"]
        if unit:
            step.append(WorkItem.unit_id == _unit_id(s, unit))
        if due:
            step.append(_open_due_filter(due, now, _due_bounds(ctx, s, now)[1]))
        if unit or due:
            query = query.where(exists().where(*step))
        total, rows = count_and_page(s, query.order_by(Project.id.desc()), page)
        projects = [r[0] for r in rows]
        steps: dict[int, list[WorkItem]] = {}
        if projects:
            for item in s.scalars(select(WorkItem).where(WorkItem.project_id.in_([p.id for p in projects]),
                                                         WorkItem.state == "open").order_by(WorkItem.id)):
                steps.setdefault(item.project_id, []).append(item)
        items = []
        for p in projects:
            row = project_summary(p)
            current = steps.get(p.id, [])
            row["current_tasks"] = [{"id": w.id, "title": w.title, "stage": w.stage, "unit": w.unit.name,
                                     "due_date": w.due_date.isoformat() if w.due_date else None,
                                     "due_provisional": w.due_provisional,
                                     "overdue": bool(w.due_at and w.due_at < now)} for w in current]
            dues = [w.due_date for w in current if w.due_date]
            row["due_date"] = min(dues).isoformat() if dues else None
            items.append(row)
    return envelope(items, total, page, view="mine")


def next_steps(ctx: Govflow, work_item_ids: list[int]) -> list[dict[str, Any]]:
    """What a submit opened: the unit that acts next, the task and its due date (public, like a
    project's open tasks)."""
    if not work_item_ids:
        return []
    with ctx.db.session() as s:
        return [{"id": w.id, "unit": w.unit.name, "title": w.title, "stage": w.stage,
                 "due_date": w.due_date.isoformat() if w.due_date else None, "due_provisional": w.due_provisional}
                for w in s.scalars(select(WorkItem).where(WorkItem.id.in_(work_item_ids), WorkItem.state == "open")
                                   .order_by(WorkItem.id))]


# -- 项目库 -----------------------------------------------------------------------------------------


def projects_page(ctx: Govflow, *, q: str | None = None, year: int | None = None, unit: str | None = None,
                  stage: str | None = None, status: str | None = None,
                  page: PageRequest = FIRST_PAGE) -> dict[str, Any]:
    """The register (visible to everyone signed in, service.domain.visibility), newest first."""
    with ctx.db.session() as s:
        query = select(Project)
        if year is not None:
            query = query.where(Project.budget_year == year)
        if unit:
            query = query.where(Project.unit_id == _unit_id(s, unit))
        if stage:
            query = query.where(Project.stage == stage)
        if status:
            query = query.where(Project.status == status)
        if (match := project_matches(q)) is not None:
            query = query.where(match)
        total, rows = count_and_page(s, query.order_by(Project.id.desc()), page)
        return envelope([project_summary(r[0]) for r in rows], total, page)


def project_choices(ctx: Govflow) -> dict[str, list[Any]]:
    """Filter choices from the whole register, without reading it: DISTINCT queries."""
    with ctx.db.session() as s:
        return {"years": sorted(s.scalars(select(Project.budget_year).distinct())),
                "units": sorted(s.scalars(select(Unit.name).join(Project, Project.unit_id == Unit.id).distinct())),
                "stages": sorted(s.scalars(select(Project.stage).distinct())),
                # Any unit may act on a project (reviewers too): the inbox's 办理单位 filter.
                "all_units": sorted(s.scalars(select(Unit.name)))}


# -- 消息 -------------------------------------------------------------------------------------------


def _message_unit(actor: Actor, unit: str | None) -> str:
    target = unit or actor.unit
    if target is None:
        raise Forbidden("请指定单位")
    if target != actor.unit and not reads_everything(actor):
        raise Forbidden("无权查看其他单位的消息")
    return target


def notifications_page(ctx: Govflow, actor: Actor, *, q: str | None = None, unread: bool = False,
                       kind: str | None = None, unit: str | None = None,
                       page: PageRequest = FIRST_PAGE) -> dict[str, Any]:
    target = _message_unit(actor, unit)
    with ctx.db.session() as s:
        query = select(Notification).where(Notification.unit_id == _unit_id(s, target))
        if unread:
            query = query.where(Notification.read_at.is_(None))
        if kind:
            query = query.where(Notification.kind == kind)
        if (match := project_matches(q)) is not None:
            query = query.join(Project, Project.id == Notification.project_id).where(
                or_(match, Notification.subject.ilike(like_pattern(q.strip()), escape="\\")))  # type: ignore[union-attr]
        total, rows = count_and_page(s, query.order_by(Notification.created_at.desc(), Notification.id.desc()), page)
        # The rows GET /api/notifications gives, with the reader's name beside read_by.
        return envelope(people.add_names(s, [notifications.in_app_view(r[0]) for r in rows]), total, page)


def unread_count(ctx: Govflow, actor: Actor) -> int:
    """Unread messages of the actor's own unit (ix_notifications_unit_read); 0 without a unit."""
    if actor.unit is None:
        return 0
    with ctx.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Notification)
                            .join(Unit, Unit.id == Notification.unit_id)
                            .where(Unit.name == actor.unit, Notification.read_at.is_(None))) or 0)
