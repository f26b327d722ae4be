"""Late statutory filings held against units, and rectifications (整改, 第二十七条) opened from them.

The tick records a LateFiling when a statutory filing task (第十二、十五、二十四、二十五条) passes its
due date while still open. A supervisor opens a rectification with a time limit from such a record
(or by hand through organisation.open_rectification); while it is open the unit cannot declare.
Opening and closing are audited on the projects the records concern."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from service.domain.access import Actor, require_supervisor
from service.domain.errors import Conflict, NotFound
from service.operations import audit
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import LateFiling, Project, Rectification, Unit, utcnow


def list_late(ctx: Govflow, *, unit: str | None = None, open_only: bool = False) -> list[LateFiling]:
    with ctx.db.session() as s:
        q = select(LateFiling).order_by(LateFiling.recorded_at.desc(), LateFiling.id.desc())
        if unit:
            q = q.join(Unit, Unit.id == LateFiling.unit_id).where(Unit.name == unit)
        if open_only:
            q = q.where(LateFiling.rectification_id.is_(None))
        return list(s.scalars(q))


def open_from_late(ctx: Govflow, late_filing_ids: list[int], actor: Actor, *, due_date: dt.date,
                   reason: str | None = None) -> int:
    """One rectification for the unit of the given records, with a time limit."""
    require_supervisor(actor)
    with ctx.db.session() as s:
        scope = s.execute(select(LateFiling.unit_id, LateFiling.project_id)
                          .where(LateFiling.id.in_(late_filing_ids))).all()
        units = {u for u, _ in scope}
        if len(units) > 1:
            raise Conflict("一次整改只能针对一个单位")
        # Lock order: the unit, then its projects in id order (service.storage.locks); then read
        # the records again, as the last writer left them.
        unit = locks.unit(s, units.pop()) if units else None
        locks.projects(s, {p for _, p in scope})
        records = list(s.scalars(select(LateFiling).where(LateFiling.id.in_(late_filing_ids))
                                 .execution_options(populate_existing=True)))
        if unit is None or len(records) != len(set(late_filing_ids)):
            raise NotFound("逾期备案记录不存在")
        if any(r.rectification_id for r in records):
            raise Conflict("所选记录已发起整改")
        unit_name = unit.name
        items = "；".join(f"{r.task_name}（{r.article}，应于 {r.due_date} 前）" for r in records)
        text = reason or f"逾期备案：{items}"
        rect = Rectification(unit_id=unit.id, reason=text, article="第二十七条", opened_by=actor.user,
                             opened_at=utcnow(), due_date=due_date)
        s.add(rect)
        s.flush()
        audit.append_unit(s, unit, actor=actor.user, action="rectification_opened",
                          detail={"rectification_id": rect.id, "reason": text, "article": "第二十七条",
                                  "due_date": due_date.isoformat(), "late_filings": sorted(late_filing_ids)},
                          algorithm=ctx.settings.audit_hash)
        rect_id = rect.id
        for r in records:
            r.rectification_id = rect_id
            project = s.get(Project, r.project_id)
            assert project is not None
            audit.append(s, project, actor=actor.user, action="rectification_opened", work_item_id=r.work_item_id,
                         detail={"rectification_id": rect_id, "unit": unit_name, "reason": text,
                                 "due_date": due_date.isoformat(), "article": "第二十七条"},
                         algorithm=ctx.settings.audit_hash)
    return rect_id


def close(ctx: Govflow, rectification_id: int, actor: Actor, note: str = "") -> None:
    """Close a rectification and audit it on every project whose late filing it covered, in one
    transaction."""
    require_supervisor(actor)
    now = utcnow()
    with ctx.db.session() as s:
        unit_id = s.scalar(select(Rectification.unit_id).where(Rectification.id == rectification_id))
        unit = locks.unit(s, unit_id) if unit_id is not None else None
        locks.projects(s, s.scalars(select(LateFiling.project_id)
                                    .where(LateFiling.rectification_id == rectification_id)))
        rect = s.get(Rectification, rectification_id, populate_existing=True) if unit is not None else None
        if rect is None or unit is None:
            raise NotFound("整改记录不存在")
        if rect.closed_at is not None:
            raise Conflict("该整改已完成")
        rect.closed_at, rect.closed_by = now, actor.user
        audit.append_unit(s, unit, actor=actor.user, action="rectification_closed",
                          detail={"rectification_id": rectification_id, "note": note},
                          algorithm=ctx.settings.audit_hash)
        for r in s.scalars(select(LateFiling).where(LateFiling.rectification_id == rectification_id)):
            project = s.get(Project, r.project_id)
            assert project is not None
            audit.append(s, project, actor=actor.user, action="rectification_closed", work_item_id=r.work_item_id,
                         detail={"rectification_id": rectification_id, "note": note,
                                 "opened_at": rect.opened_at.isoformat(), "closed_at": now.isoformat()},
                         algorithm=ctx.settings.audit_hash, at=now)
