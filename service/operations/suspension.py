"""Project suspension: 暂停建设 (第十四条) and 暂停运行 (第二十六条) as a state of the project.

While a suspension is open (projects.suspension set, one open project_suspensions row):
- nothing moves the project's process: completing, 退回, 撤回 and timers are refused with the article
  (service.domain.suspension, checked by tasks.complete and progress.apply);
- the clocks of its open tasks stand still, through the 补正 machinery (service.operations.clocks):
  each clock gets `paused_at` and a `clock_paused` audit record, so the tick sends no reminder or
  escalation and 黄牌/红牌 are not counted; a clock already stopped by 补正 stays 补正's;
- 市大数据局 resumes it (page action and API): the clocks restart and the working days they stood
  still are added to the due dates, exactly as a 补正 resume does.

Opening happens in the transaction of the step that decided it (严重逾期/重大损失处置 with
暂停建设, through the task's BPMN property `suspend_when`) or of a 第二十六条 supervision action; either
way the project row is already locked (service.storage.locks). Every change is audited on the
project's chain."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.domain import suspension as rules
from service.domain.access import Actor
from service.domain.deadlines import local_date
from service.domain.errors import Conflict, FieldError, Forbidden, NotFound, RuleViolation, ValidationFailed
from service.operations import audit, clocks, people
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import Project, ProjectSuspension, Rectification, WorkItem, utcnow

SUPERVISION_UNIT = "市大数据局"


def may_resume(actor: Actor) -> bool:
    """市大数据局 decides on suspension (第五条、第十四条): its supervisors and its reviewers; never 审计."""
    if actor.roles & {"admin", "system"}:
        return True
    if "auditor" in actor.roles:
        return False
    return actor.unit == SUPERVISION_UNIT and bool(actor.roles & {"supervisor", "reviewer", "leader"})


def _open_row(session: Session, project_id: int) -> ProjectSuspension | None:
    return session.scalars(select(ProjectSuspension).where(ProjectSuspension.project_id == project_id,
                                                           ProjectSuspension.resumed_at.is_(None))
                           .execution_options(populate_existing=True)).first()


def open_in(ctx: Govflow, session: Session, project: Project, *, kind: str, reason: str, actor: str,
            now: dt.datetime, work_item_id: int | None = None) -> ProjectSuspension:
    """Suspend `project` (already locked by the caller) and stop the clocks of its open tasks."""
    if kind not in rules.KINDS:
        raise ValueError(kind)
    if project.suspension:
        raise Conflict(f"项目已{rules.label(project.suspension)}，不能重复暂停", article=rules.article(kind))
    name, article = rules.KINDS[kind]
    row = ProjectSuspension(project_id=project.id, kind=kind, article=article, reason=reason,
                            work_item_id=work_item_id, suspended_by=actor, suspended_at=now, paused_items=[],
                            paused_working_days=0)
    session.add(row)
    session.flush()
    paused = []
    items = session.scalars(select(WorkItem).where(WorkItem.project_id == project.id, WorkItem.state == "open")
                            .order_by(WorkItem.id)).all()
    for item in items:
        clock = clocks.clock_for(session, item)
        if clock.paused_at is not None:
            continue  # 补正 already stopped it; its own resume restarts it (refused while suspended)
        clock.paused_at, clock.paused_reason, clock.fire_at = now, f"{name}（{article}）：{reason}"[:2000], None
        paused.append(item.id)
        audit.append(session, project, actor=actor, action="clock_paused", work_item_id=item.id,
                     detail={"task": item.task_name, "reason": f"{name}（{article}）", "suspension_id": row.id,
                             "due_date": item.due_date.isoformat() if item.due_date else None},
                     algorithm=ctx.settings.audit_hash, at=now)
    row.paused_items = paused
    project.suspension = kind
    audit.append(session, project, actor=actor, action="project_suspended", work_item_id=work_item_id,
                 detail={"suspension_id": row.id, "kind": kind, "label": name, "article": article, "reason": reason,
                         "paused_tasks": paused}, algorithm=ctx.settings.audit_hash, at=now)
    return row


def resume(ctx: Govflow, project_id: int, actor: Actor, note: str = "",
           now: dt.datetime | None = None) -> dict[str, Any]:
    """恢复: 市大数据局 lifts the open suspension; the clocks it stopped run again, their due dates
    moved by the working days in (suspension day, resumption day]."""
    if not may_resume(actor):
        raise Forbidden("只有市大数据局可以恢复暂停的项目（第十四条、第二十六条）")
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationFailed([FieldError("note", "恢复说明：不超过 2000 字")])
    now = now or utcnow()
    try:
        with ctx.db.session() as s:
            project = locks.project(s, project_id)
            if project is None:
                raise NotFound("项目不存在")
            row = _open_row(s, project_id)
            if row is None or not project.suspension:
                raise Conflict("项目未暂停，无需恢复")
            if row.kind == rules.OPERATION:
                _require_rectified(s, row)
            cal = ctx.calendar(s)
            days = cal.working_days_between(local_date(row.suspended_at), local_date(now))
            moved = []
            for item_id in row.paused_items or []:
                item = s.get(WorkItem, item_id, populate_existing=True)
                if item is None or item.state != "open":
                    continue
                clock = clocks.clock_for(s, item)
                if clock.paused_at is None:
                    continue
                # The same restart as 补正's: this pause counted once in the due date and the clock.
                clocks.restart_in(ctx, s, project, item, clock, actor, now, {"suspension_id": row.id})
                moved.append({"id": item.id, "title": item.title,
                              "due_date": item.due_date.isoformat() if item.due_date else None})
            row.resumed_at, row.resumed_by, row.resume_note, row.paused_working_days = now, actor.user, note, days
            project.suspension = None
            audit.append(s, project, actor=actor.user, action="project_resumed",
                         detail={"suspension_id": row.id, "kind": row.kind, "label": rules.label(row.kind),
                                 "article": row.article, "note": note, "paused_working_days": days,
                                 "tasks": [m["id"] for m in moved]},
                         algorithm=ctx.settings.audit_hash, at=now)
            return {"project_id": project_id, "suspension_id": row.id, "paused_working_days": days, "tasks": moved}
    except IntegrityError as exc:  # pragma: no cover - the project lock makes this unreachable
        raise Conflict("项目状态已被他人同时修改，请刷新后重试") from exc


def _require_rectified(session: Session, row: ProjectSuspension) -> None:
    """暂停运行并限期整改 (第二十六条): operation resumes once the rectification is done."""
    from service.storage.models import SupervisionAction

    rect_id = session.scalar(select(SupervisionAction.rectification_id)
                             .where(SupervisionAction.suspension_id == row.id,
                                    SupervisionAction.rectification_id.is_not(None)).limit(1))
    if rect_id is None:
        return
    rect = session.get(Rectification, rect_id)
    if rect is not None and rect.closed_at is None:
        raise RuleViolation(f"暂停运行的项目须限期整改完成后方可恢复运行（第二十六条）；整改 #{rect.id} 尚未完成",
                            article="第二十六条")


def view(session: Session, row: ProjectSuspension) -> dict[str, Any]:
    return {"id": row.id, "project_id": row.project_id, "kind": row.kind, "label": rules.label(row.kind),
            "article": row.article, "reason": row.reason, "work_item_id": row.work_item_id,
            "suspended_by": row.suspended_by, "suspended_by_name": people.name_of(session, row.suspended_by),
            "suspended_at": row.suspended_at.isoformat(),
            "paused_tasks": list(row.paused_items or []), "resumed_by": row.resumed_by,
            "resumed_by_name": people.name_of(session, row.resumed_by) if row.resumed_by else None,
            "resumed_at": row.resumed_at.isoformat() if row.resumed_at else None, "resume_note": row.resume_note,
            "paused_working_days": row.paused_working_days, "open": row.resumed_at is None}


def of_project(session: Session, project_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(ProjectSuspension).where(ProjectSuspension.project_id == project_id)
                           .order_by(ProjectSuspension.id.desc())).all()
    return [view(session, r) for r in rows]


def suspended_projects(ctx: Govflow) -> list[dict[str, Any]]:
    """The dashboard's 暂停 list: every open suspension with its project."""
    with ctx.db.session() as s:
        rows = s.execute(select(ProjectSuspension, Project).join(Project, Project.id == ProjectSuspension.project_id)
                         .where(ProjectSuspension.resumed_at.is_(None))
                         .order_by(ProjectSuspension.suspended_at.desc())).all()
        return [{**view(s, r), "project": {"id": p.id, "code": p.code, "name": p.name, "unit": p.unit.name,
                                           "stage": p.stage}} for r, p in rows]
