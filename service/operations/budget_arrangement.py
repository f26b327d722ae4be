"""第六条: the declaration window of a budget year and 预算安排完成.

市大数据局 organises the annual declaration "结合下年度财政预算申报安排": its 督办 (supervisor) or an
admin sets the window (opens_on … closes_on, Beijing days) and records 预算安排完成. From then on only
urgent work (上级主管部门或本级党委、政府临时部署的紧急工作) is still declared for the year
(service.operations.projects.check_declaration_rules), and the year's non-urgent projects still
waiting at 项目批准 end at once as 未列入清单 with the reason, recorded in their file and notified,
instead of waiting for a list that will not come. Urgent ones keep waiting for a 追加清单.

Audited on 市大数据局's unit chain (the window) and on each project's chain (its end)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.access import LIST_COMPILER_UNIT, Actor, require_list_reader, require_window_manager
from service.domain.errors import Conflict, NotFound, RuleViolation
from service.operations import annual_list, audit, progress
from service.operations.context import Govflow
from service.operations.people import name_of
from service.storage import locks
from service.storage.models import DeclarationWindow, ProcessInstance, Project, Unit, utcnow

ARTICLE = "第六条"
# Fits Project.outcome (40); the end event's own name "未列入清单" would not say why.
OUTCOME = "预算安排完成，未列入年度清单"


@dataclass(frozen=True)
class Arranged:
    budget_year: int
    ended: list[int]
    still_waiting_urgent: list[int]


def _organiser(session: Any) -> Unit | None:
    unit_id = session.scalar(select(Unit.id).where(Unit.name == LIST_COMPILER_UNIT))
    return locks.unit(session, unit_id) if unit_id is not None else None


def window_view(w: DeclarationWindow) -> dict[str, Any]:
    return {"budget_year": w.budget_year, "opens_on": w.opens_on.isoformat(), "closes_on": w.closes_on.isoformat(),
            "budget_arranged_at": w.budget_arranged_at.isoformat() if w.budget_arranged_at else None,
            "budget_arranged_by": w.budget_arranged_by, "updated_by": w.updated_by,
            "updated_at": w.updated_at.isoformat() if w.updated_at else None}


def list_windows(ctx: Govflow, actor: Actor) -> list[dict[str, Any]]:
    require_list_reader(actor)
    with ctx.db.session() as s:
        out = []
        for w in s.scalars(select(DeclarationWindow).order_by(DeclarationWindow.budget_year.desc())):
            view = window_view(w)
            for key in ("updated_by", "budget_arranged_by"):
                view[f"{key}_name"] = name_of(s, view[key]) if view[key] else None
            out.append(view)
        return out


def set_window(ctx: Govflow, budget_year: int, opens_on: dt.date, closes_on: dt.date, actor: Actor) -> None:
    require_window_manager(actor)
    if closes_on < opens_on:
        raise RuleViolation("申报截止日期不能早于开始日期", field="closes_on", article=ARTICLE)
    now = utcnow()
    with ctx.db.session() as s:
        locks.named(s, f"declaration_window:{budget_year}")  # get-or-create: two managers at once
        unit = _organiser(s)
        window = s.get(DeclarationWindow, budget_year, populate_existing=True)
        before = window_view(window) if window is not None else None
        if window is None:
            window = DeclarationWindow(budget_year=budget_year, opens_on=opens_on, closes_on=closes_on)
            s.add(window)
        else:
            window.opens_on, window.closes_on = opens_on, closes_on
        window.updated_by, window.updated_at = actor.user, now
        if unit is not None:
            audit.append_unit(s, unit, actor=actor.user, action="declaration_window_set",
                              detail={"budget_year": budget_year, "opens_on": opens_on.isoformat(),
                                      "closes_on": closes_on.isoformat(),
                                      "before": {k: before[k] for k in ("opens_on", "closes_on")} if before else None},
                              algorithm=ctx.settings.audit_hash, at=now)


def end_not_listed(ctx: Govflow, session: Session, project: Project, instance: ProcessInstance, runtime: Any,
                   wf: Any, budget_year: int, *, actor: str, now: dt.datetime) -> None:
    """Deliver "not on the list" to one waiting instance (gw_on_list → 未列入清单) with the reason,
    in the caller's transaction, the project row locked."""
    payload = {"on_list": False, "approved_amount": None, "document_no": None, "budget_year": budget_year,
               "reason": OUTCOME}
    runtime.deliver_message(wf, annual_list.MESSAGE, payload,
                            {annual_list.CORRELATION_KEY: {"budget_year": budget_year}})
    audit.append(session, project, actor=actor, action="budget_arranged_not_listed",
                 detail={"budget_year": budget_year, "outcome": OUTCOME, "article": ARTICLE},
                 algorithm=ctx.settings.audit_hash, at=now)
    progress.apply(ctx, session, project, instance, runtime, wf, actor=actor, now=now)
    project.outcome = OUTCOME
    annual_list.notify_project(session, project, level=-budget_year, now=now,
                               subject=f"【年度清单】{project.name}未列入 {budget_year} 年度清单",
                               text=f"{budget_year} 年度预算安排已完成，{project.name}（{project.code}）"
                                    "未列入年度项目清单，项目结束（第六条）")


def close_late_arrival(ctx: Govflow, session: Session, project: Project, instance: ProcessInstance,
                       runtime: Any, wf: Any, *, actor: str, now: dt.datetime) -> None:
    """A non-urgent project that reaches 项目批准 after its year's 预算安排完成 (it was still in 方案评审
    or 预算评审 then) ends at once instead of waiting for a list that will not come
    (progress.apply calls this when an instance starts waiting for the list)."""
    if project.is_urgent or instance.correlation_key is None or not instance.correlation_key.isdigit():
        return
    year = int(instance.correlation_key)
    window = session.get(DeclarationWindow, year)
    if window is None or window.budget_arranged_at is None:
        return
    end_not_listed(ctx, session, project, instance, runtime, wf, year, actor=actor, now=now)


def mark_budget_arranged(ctx: Govflow, budget_year: int, actor: Actor) -> Arranged:
    require_window_manager(actor)
    now = utcnow()
    ended, urgent, touched = [], [], []
    with ctx.db.session() as s:
        # Same order as set_window, then the list's lock (compile/approve take only that one).
        locks.named(s, f"declaration_window:{budget_year}")
        annual_list.year_lock(s, budget_year)
        window = s.get(DeclarationWindow, budget_year, populate_existing=True)
        if window is None:
            raise NotFound(f"{budget_year} 年度未设置申报期")
        if window.budget_arranged_at is not None:
            raise Conflict(f"{budget_year} 年度已于 {window.budget_arranged_at:%Y-%m-%d} 确认预算安排完成",
                           article=ARTICLE)
        pending = annual_list.open_list(s, budget_year)
        if pending is not None and pending.status == "cosigned":
            raise RuleViolation(f"{budget_year} 年度{'项目建议清单' if pending.seq == 1 else '追加清单'}已会签、"
                                "待市政府批准，请先批准或退回后再确认预算安排完成", article=ARTICLE)
        unit = _organiser(s)
        candidates = [i.project_id for i in annual_list.waiting_instances(s, budget_year)]
        locked = locks.projects(s, candidates)
        fresh = {i.project_id: i for i in annual_list.waiting_instances(s, budget_year, candidates)}
        for project in locked:
            instance = fresh.get(project.id)
            if instance is None:  # moved on while we queued for its lock
                continue
            if project.is_urgent:
                urgent.append(project.id)
                continue
            runtime = ctx.runtime(s, instance.version_id)
            wf = ctx.workflows.take(instance.id, instance.revision) or runtime.load(instance.state)
            end_not_listed(ctx, s, project, instance, runtime, wf, budget_year, actor=actor.user, now=now)
            ended.append(project.id)
            touched.append((instance, wf))
        if pending is not None:
            # A draft keeps only what may still be listed: the urgent projects; empty, it goes.
            kept = [e for e in pending.entries if e["project_id"] not in ended]
            if kept:
                pending.entries, pending.revision = kept, pending.revision + 1
            else:
                s.delete(pending)
        window.budget_arranged_at, window.budget_arranged_by = now, actor.user
        if unit is not None:
            audit.append_unit(s, unit, actor=actor.user, action="budget_arranged",
                              detail={"budget_year": budget_year, "ended": ended, "urgent_still_waiting": urgent},
                              algorithm=ctx.settings.audit_hash, at=now)
    for instance, wf in touched:
        ctx.workflows.put(instance.id, instance.revision, wf)
    return Arranged(budget_year, ended, urgent)

