"""The dashboard's growing tables, one page at a time (docs/lists.md): late statutory filings and
rectifications, newest first (one COUNT and one LIMIT/OFFSET query each, the unit's name joined in),
and 逾期与督办任务, graded in Python from the open tasks (service.operations.warnings), then filtered,
sorted and cut to the page here so the browser gets one page with the total."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import select

from service.domain.access import Actor, require_overseer
from service.operations import warnings
from service.operations.context import Govflow
from service.operations.worklists import FIRST_PAGE, PageRequest, count_and_page, envelope
from service.storage.models import LateFiling, Project, Rectification, Unit

LATE_FIELDS = ("id", "project_id", "work_item_id", "unit_id", "task_name", "article", "due_date",
               "recorded_at", "rectification_id")
RECT_FIELDS = ("id", "unit_id", "reason", "article", "opened_by", "opened_at", "due_date", "closed_by", "closed_at")


def _row(obj: Any, fields: tuple[str, ...], unit: str, *project: str | None) -> dict[str, Any]:
    out = {f: getattr(obj, f) for f in fields}
    out = {k: v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for k, v in out.items()}
    out["unit"] = unit
    if project:
        out["project_code"], out["project_name"] = project
    return out


def _page(ctx: Govflow, actor: Actor, model: Any, fields: tuple[str, ...], newest: Any, open_when: Any,
          unit: str | None, open_only: bool, page: PageRequest, *, with_project: bool = False) -> dict[str, Any]:
    require_overseer(actor)
    with ctx.db.session() as s:
        q = (select(model, Unit.name).join(Unit, Unit.id == model.unit_id)
             .order_by(newest.desc(), model.id.desc()))
        if with_project:
            # The page's rows name their projects: the dashboard needs no list of every project.
            q = q.add_columns(Project.code, Project.name).join(Project, Project.id == model.project_id)
        if unit:
            q = q.where(Unit.name == unit)
        if open_only:
            q = q.where(open_when)
        total, rows = count_and_page(s, q, page)
        return envelope([_row(r[0], fields, *r[1:]) for r in rows], total, page)


def late_filings_page(ctx: Govflow, actor: Actor, *, unit: str | None = None, open_only: bool = False,
                      page: PageRequest = FIRST_PAGE) -> dict[str, Any]:
    """Open = not yet covered by a 整改. Rows carry the project's code and name."""
    return _page(ctx, actor, LateFiling, LATE_FIELDS, LateFiling.recorded_at,
                 LateFiling.rectification_id.is_(None), unit, open_only, page, with_project=True)


def rectifications_page(ctx: Govflow, actor: Actor, *, unit: str | None = None, open_only: bool = False,
                        page: PageRequest = FIRST_PAGE) -> dict[str, Any]:
    return _page(ctx, actor, Rectification, RECT_FIELDS, Rectification.opened_at,
                 Rectification.closed_at.is_(None), unit, open_only, page)


def warnings_page(ctx: Govflow, actor: Actor, *, unit: str | None = None, stage: str | None = None,
                  min_level: int = 0, yellow: bool = False, page: PageRequest = FIRST_PAGE,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    """逾期与督办任务: red (逾期), paused (补正) or escalated tasks, yellow (临近到期) ones too when asked,
    at `min_level` or above; highest level first, then the most overdue. Rows carry the project's code
    and name (one query for the projects on the page)."""
    require_overseer(actor)
    rows = [w for w in warnings.warnings(ctx, unit=unit, stage=stage, now=now)
            if (w.grade == warnings.RED or w.paused or w.level > 0 or (yellow and w.grade == warnings.YELLOW))
            and w.level >= min_level]
    rows.sort(key=lambda w: (-w.level, -w.overdue_working_days))
    shown = rows[page.offset:page.offset + page.per_page]
    with ctx.db.session() as s:
        ids = {w.project_id for w in shown}
        projects = {pid: (code, name) for pid, code, name in
                    s.execute(select(Project.id, Project.code, Project.name).where(Project.id.in_(ids)))} if ids else {}
    items = []
    for w in shown:
        row = {k: v.isoformat() if isinstance(v, dt.date | dt.datetime) else v
               for k, v in dataclasses.asdict(w).items()}
        code, name = projects.get(w.project_id, (None, None))
        items.append({**row, "project_code": code, "project_name": name})
    return envelope(items, len(rows), page)
