"""The dashboard's growing tables, one page at a time (docs/lists.md): late statutory filings and
rectifications, newest first. One COUNT and one LIMIT/OFFSET query each, the unit's name joined in."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from service.domain.access import Actor, require_overseer
from service.operations.context import Govflow
from service.operations.worklists import FIRST_PAGE, PageRequest, count_and_page, envelope
from service.storage.models import LateFiling, Rectification, Unit

LATE_FIELDS = ("id", "project_id", "work_item_id", "unit_id", "task_name", "article", "due_date",
               "recorded_at", "rectification_id")
RECT_FIELDS = ("id", "unit_id", "reason", "article", "opened_by", "opened_at", "due_date", "closed_by", "closed_at")


def _row(obj: Any, fields: tuple[str, ...], unit: str) -> dict[str, Any]:
    out = {f: getattr(obj, f) for f in fields}
    out = {k: v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for k, v in out.items()}
    out["unit"] = unit
    return out


def _page(ctx: Govflow, actor: Actor, model: Any, fields: tuple[str, ...], newest: Any, open_when: Any,
          unit: str | None, open_only: bool, page: PageRequest) -> dict[str, Any]:
    require_overseer(actor)
    with ctx.db.session() as s:
        q = (select(model, Unit.name).join(Unit, Unit.id == model.unit_id)
             .order_by(newest.desc(), model.id.desc()))
        if unit:
            q = q.where(Unit.name == unit)
        if open_only:
            q = q.where(open_when)
        total, rows = count_and_page(s, q, page)
        return envelope([_row(r, fields, name) for r, name in rows], total, page)


def late_filings_page(ctx: Govflow, actor: Actor, *, unit: str | None = None, open_only: bool = False,
                      page: PageRequest = FIRST_PAGE) -> dict[str, Any]:
    """Open = not yet covered by a 整改."""
    return _page(ctx, actor, LateFiling, LATE_FIELDS, LateFiling.recorded_at,
                 LateFiling.rectification_id.is_(None), unit, open_only, page)


def rectifications_page(ctx: Govflow, actor: Actor, *, unit: str | None = None, open_only: bool = False,
                        page: PageRequest = FIRST_PAGE) -> dict[str, Any]:
    return _page(ctx, actor, Rectification, RECT_FIELDS, Rectification.opened_at,
                 Rectification.closed_at.is_(None), unit, open_only, page)
