"""Process analytics for designers and supervisors: per element of a process, how many instances
passed it, how many wait there now, and the median and p90 working days spent in it; and a
stage-duration table per budget year and unit.

Read from the task rows already stored (work_items): a user task's time is from the moment the
row opened to its completion (or to today while it is open), in statutory working days
(WorkCalendar.working_days_between: working days in (opened, completed], so a step opened and
finished the same day took 0). Cancelled rows (withdrawn, ended with their instance) are neither
passed nor waiting. Only user tasks have rows; gateways, events and service tasks take no time a
department spends and are not counted.

Rows are grouped in SQL by (element, opening day, completion day) and the calendar is applied to
each group once, so the cost follows the number of distinct day pairs, not the number of rows."""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.domain.access import Actor
from service.domain.calendar import WorkCalendar
from service.domain.deadlines import local_date
from service.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed
from service.operations import process_deploys
from service.operations.context import Govflow
from service.storage.models import ProcessInstance, ProcessVersion, Project, Unit, WorkItem, utcnow
from service.storage.sql_dates import as_date, local_day

READERS = frozenset({"designer", "supervisor", "auditor", "admin", "system"})
DEFAULT_PROCESS = "govflow_lifecycle"


def require_reader(actor: Actor) -> None:
    if not actor.roles & READERS:
        raise Forbidden("只有流程设计、督办或审计人员可以查看流程运行分析")


def quantile(weighted: Iterable[tuple[int, int]], share: float) -> int | None:
    """Nearest-rank quantile of values given as (value, count) pairs; None for no values."""
    pairs = sorted((v, n) for v, n in weighted if n > 0)
    total = sum(n for _, n in pairs)
    if total == 0:
        return None
    rank = max(1, math.ceil(share * total - 1e-9))
    seen = 0
    for value, n in pairs:
        seen += n
        if seen >= rank:
            return value
    return pairs[-1][0]


def _summary(durations: list[tuple[int, int]]) -> dict[str, Any]:
    return {"median_days": quantile(durations, 0.5), "p90_days": quantile(durations, 0.9)}


def _filters(query: Any, version_ids: list[int], year: int | None, unit_id: int | None) -> Any:
    query = query.join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id).where(
        ProcessInstance.version_id.in_(version_ids))
    if year is not None:
        query = query.join(Project, Project.id == WorkItem.project_id).where(Project.budget_year == year)
    if unit_id is not None:
        query = query.where(WorkItem.unit_id == unit_id)
    return query


def _versions(s: Session, process_key: str, version_id: int | None) -> list[ProcessVersion]:
    query = select(ProcessVersion).where(ProcessVersion.process_key == process_key)
    if version_id is not None:
        query = query.where(ProcessVersion.id == version_id)
    versions = list(s.scalars(query.order_by(ProcessVersion.version)))
    if not versions:
        raise NotFound(f"流程 {process_key}" + (f" 没有 id 为 {version_id} 的版本" if version_id else " 尚未部署"))
    return versions


def _unit_id(s: Session, unit: str | None) -> int | None:
    if not unit:
        return None
    found = s.scalar(select(Unit.id).where(Unit.name == unit))
    if found is None:
        raise ValidationFailed([FieldError("unit", f"unit：没有名为 {unit} 的单位")], "查询条件不符合要求")
    return found


def analytics(ctx: Govflow, actor: Actor, *, process_key: str = DEFAULT_PROCESS, version_id: int | None = None,
              year: int | None = None, unit: str | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """The heatmap figures per element and the stage-duration table (see the module docstring)."""
    require_reader(actor)
    today = local_date(now or utcnow())
    with ctx.db.session() as s:
        versions = _versions(s, process_key, version_id)
        ids = [v.id for v in versions]
        unit_id = _unit_id(s, unit)
        cal = ctx.calendars.refresh(s)
        elements = _elements(s, cal, ids, year, unit_id, today)
        stages = _stages(s, cal, ids, year, unit_id)
        # The diagram drawn by default: the version new declarations start on (after a rollback
        # not the highest), or the one version asked for.
        current = process_deploys.current_version(s, process_key) if version_id is None else None
        shown = current.id if current is not None else versions[-1].id
    return {"process_key": process_key, "versions": [v.version for v in versions],
            "latest_version_id": shown, "year": year, "unit": unit, "as_of": today.isoformat(),
            "elements": elements, "stages": stages}


def _elements(s: Session, cal: WorkCalendar, ids: list[int], year: int | None, unit_id: int | None,
              today: dt.date) -> dict[str, dict[str, Any]]:
    opened, closed = local_day(s, WorkItem.created_at), local_day(s, WorkItem.completed_at)
    done: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for name, a, b, n in s.execute(_filters(
            select(WorkItem.task_name, opened, closed, func.count()).where(WorkItem.state == "completed"),
            ids, year, unit_id).group_by(WorkItem.task_name, opened, closed)):
        done[name].append((cal.working_days_between(as_date(a), as_date(b)), n))
    waiting: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for name, a, n in s.execute(_filters(
            select(WorkItem.task_name, opened, func.count()).where(WorkItem.state == "open"),
            ids, year, unit_id).group_by(WorkItem.task_name, opened)):
        waiting[name].append((cal.working_days_between(as_date(a), today), n))
    passed = dict(s.execute(_filters(
        select(WorkItem.task_name, func.count(func.distinct(WorkItem.instance_id))).where(
            WorkItem.state == "completed"), ids, year, unit_id).group_by(WorkItem.task_name)).all())
    result: dict[str, dict[str, Any]] = {}
    for name in sorted(set(done) | set(waiting)):
        result[name] = {"passed": int(passed.get(name, 0)), "completed": sum(n for _, n in done[name]),
                        **_summary(done[name]), "waiting": sum(n for _, n in waiting[name]),
                        "waiting_median_days": quantile(waiting[name], 0.5)}
    return result


def _stages(s: Session, cal: WorkCalendar, ids: list[int], year: int | None,
            unit_id: int | None) -> list[dict[str, Any]]:
    opened, closed = local_day(s, WorkItem.created_at), local_day(s, WorkItem.completed_at)
    query = select(Project.budget_year, Unit.name, WorkItem.stage, opened, closed, func.count()).join(
        ProcessInstance, ProcessInstance.id == WorkItem.instance_id).join(
        Project, Project.id == WorkItem.project_id).join(Unit, Unit.id == WorkItem.unit_id).where(
        WorkItem.state == "completed", ProcessInstance.version_id.in_(ids))
    if year is not None:
        query = query.where(Project.budget_year == year)
    if unit_id is not None:
        query = query.where(WorkItem.unit_id == unit_id)
    groups: dict[tuple[int, str, str], list[tuple[int, int]]] = defaultdict(list)
    for budget_year, unit_name, stage, a, b, n in s.execute(
            query.group_by(Project.budget_year, Unit.name, WorkItem.stage, opened, closed)):
        groups[budget_year, unit_name, stage].append((cal.working_days_between(as_date(a), as_date(b)), n))
    return [{"year": y, "unit": u, "stage": st, "completed": sum(n for _, n in d), **_summary(d),
             "total_days": sum(v * n for v, n in d)}
            for (y, u, st), d in sorted(groups.items())]
