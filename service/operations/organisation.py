"""Units, declaration windows (第六条) and rectifications (第二十七条)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from service.domain.access import Actor, require_supervisor
from service.domain.errors import Conflict, NotFound
from service.operations import audit
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import Rectification, Unit, utcnow

# The bodies named by the measures (第五条, 第七条(五)); their names are the BPMN lane names.
PARTICIPANTS = [
    ("bigdata", "市大数据局"),
    ("finance", "市财政局"),
    ("cac", "市委网信办"),
    ("police", "市公安局"),
    ("crypto", "市密码管理局"),
    ("audit", "市审计局"),
    ("government", "市政府"),
]
DEMO_DEPARTMENTS = [
    ("education", "市教育局"),
    ("health", "市卫生健康委员会"),
    ("nature", "市自然资源和规划局"),
    ("civil", "市民政局"),
    ("hrss", "市人力资源和社会保障局"),
]


def ensure_units(ctx: Govflow, departments: list[tuple[str, str]] = DEMO_DEPARTMENTS) -> None:
    with ctx.db.session() as s:
        existing = set(s.scalars(select(Unit.code)))
        for code, name in PARTICIPANTS:
            if code not in existing:
                s.add(Unit(code=code, name=name, kind="participant"))
        for code, name in departments:
            if code not in existing:
                s.add(Unit(code=code, name=name, kind="department"))


def set_window(ctx: Govflow, budget_year: int, opens_on: dt.date, closes_on: dt.date, actor: Actor) -> None:
    """Kept for callers of this module: service.operations.budget_arrangement owns the rule (audited)."""
    from service.operations import budget_arrangement

    budget_arrangement.set_window(ctx, budget_year, opens_on, closes_on, actor)


def mark_budget_arranged(ctx: Govflow, budget_year: int, actor: Actor) -> None:
    """第六条: after the budget arrangement, only urgent work with its basis may still be declared;
    the year's non-urgent projects waiting for the list end (service.operations.budget_arrangement)."""
    from service.operations import budget_arrangement

    budget_arrangement.mark_budget_arranged(ctx, budget_year, actor)


def open_rectification(ctx: Govflow, unit_name: str, reason: str, actor: Actor,
                       due_date: dt.date | None = None, article: str = "第二十七条") -> int:
    require_supervisor(actor)
    with ctx.db.session() as s:
        unit_id = s.scalar(select(Unit.id).where(Unit.name == unit_name))
        unit = locks.unit(s, unit_id) if unit_id is not None else None  # the unit's audit chain grows
        if unit is None:
            raise NotFound(f"单位 {unit_name} 不存在")
        r = Rectification(unit_id=unit.id, reason=reason, article=article, opened_by=actor.user, due_date=due_date)
        s.add(r)
        s.flush()
        audit.append_unit(s, unit, actor=actor.user, action="rectification_opened",
                          detail={"rectification_id": r.id, "reason": reason, "article": article,
                                  "due_date": due_date.isoformat() if due_date else None},
                          algorithm=ctx.settings.audit_hash)
        return r.id


def list_rectifications(ctx: Govflow, *, unit: str | None = None, open_only: bool = False) -> list[Rectification]:
    with ctx.db.session() as s:
        q = select(Rectification).order_by(Rectification.opened_at.desc(), Rectification.id.desc())
        if unit:
            q = q.join(Unit, Unit.id == Rectification.unit_id).where(Unit.name == unit)
        if open_only:
            q = q.where(Rectification.closed_at.is_(None))
        return list(s.scalars(q))


def close_rectification(ctx: Govflow, rectification_id: int, actor: Actor) -> None:
    require_supervisor(actor)
    with ctx.db.session() as s:
        unit_id = s.scalar(select(Rectification.unit_id).where(Rectification.id == rectification_id))
        unit = locks.unit(s, unit_id) if unit_id is not None else None
        r = s.get(Rectification, rectification_id, populate_existing=True) if unit is not None else None
        if r is None or unit is None:
            raise NotFound("整改记录不存在")
        if r.closed_at is not None:
            raise Conflict("该整改已完成")
        r.closed_at, r.closed_by = utcnow(), actor.user
        audit.append_unit(s, unit, actor=actor.user, action="rectification_closed",
                          detail={"rectification_id": r.id}, algorithm=ctx.settings.audit_hash)
