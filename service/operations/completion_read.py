"""Everything a completion reads, in one statement taken under the project lock (docs/performance.md).

One SELECT returns the work item, its instance, its project (locked: FOR UPDATE OF projects on
PostgreSQL), the instance's open work items (which the step may withdraw) with their units, whether
the task has open 加签 and (SQLite) drafts, and ids for the work items the step will open, so that
their audit records can be hashed before anything is written (PostgreSQL: taken from the sequence;
SQLite: max(id) + n, which is safe because BEGIN IMMEDIATE lets one writer in at a time).

Freshness. A statement that waited for the lock sees the locked project row as committed by the
previous writer (PostgreSQL re-reads it), but the other rows as they were when the statement
began (docs/concurrency.md, "Folding the lock"). The statement therefore also reads the project's
audit sequence through a subquery, which keeps the statement's snapshot: every writer of a
project's rows appends to its audit chain (operations/audit.py) and so moves `audit_seq` on the
project row, and a difference between the two values means a writer committed while this one
waited. Then the same statement runs once more, now with the lock held: a fresh snapshot, no wait.
The version columns of the work item and the instance remain the second line (a stale row there
makes the write a StaleDataError, a 409, never a lost update)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from service.domain.errors import NotFound
from service.operations import drafts
from service.storage import row_ids
from service.storage.aliases import shared_alias
from service.storage.models import Countersign, ProcessInstance, Project, TaskDraft, Unit, WorkItem
from service.storage.row_loader import Row, RowLoader

# Ids taken with the read: most steps open one task; a fan-out (4 reviews, N 参建单位) asks for more.
_PREALLOCATE = 1


@dataclass
class CompletionRead:
    item: WorkItem
    instance: ProcessInstance
    project: Project
    open_items: list[WorkItem]
    has_countersigns: bool
    reread: bool = False
    # progress.apply's id source for the work items the step opens (service.storage.row_ids).
    new_ids: Callable[[int], list[int]] | None = None


# Shared by every request thread: made complete before any of them uses one (service.storage.aliases).
_OTHER = shared_alias(WorkItem, "open_items")
_SEEN = shared_alias(Project, "seen")
_NEWEST = shared_alias(WorkItem, "newest")
# The units as entities of their own rather than through the models' joined eager loading:
# `load` hands each row's units to its entities (as a joined load would have).
_ITEM_UNIT = shared_alias(Unit, "item_unit")
_PROJECT_UNIT = shared_alias(Unit, "project_unit")
_OTHER_UNIT = shared_alias(Unit, "open_item_unit")
_OPEN = literal_column("'open'")


def _loader(postgresql: bool) -> RowLoader:
    countersigns = exists().where(Countersign.work_item_id == WorkItem.id, Countersign.state == "open")
    # SQLite only (see drafts.none_exist); on PostgreSQL the drafts DELETE rides in the one write.
    has_drafts = literal_column("1") if postgresql else exists().where(TaskDraft.work_item_id == WorkItem.id)
    if postgresql:
        ids = literal_column("ARRAY(SELECT nextval(pg_get_serial_sequence('work_items', 'id')) "
                             f"FROM generate_series(1, {_PREALLOCATE}))")
        seen_seq = select(_SEEN.audit_seq).where(_SEEN.id == Project.id).scalar_subquery()
    else:
        ids = select(func.coalesce(func.max(_NEWEST.id), 0)).scalar_subquery()
        seen_seq = Project.audit_seq

    def finish(q: Select[Any]) -> Select[Any]:
        q = (q.select_from(WorkItem)
             .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
             .join(Project, Project.id == WorkItem.project_id)
             .join(_ITEM_UNIT, _ITEM_UNIT.id == WorkItem.unit_id)
             .join(_PROJECT_UNIT, _PROJECT_UNIT.id == Project.unit_id)
             # The project (one instance per project) and a literal 'open' let the planners use
             # ix_work_items_project_state (project_id, state); on instance_id and state alone SQLite
             # walked every open row of every project (ix_work_items_state_completed).
             .outerjoin(_OTHER, and_(_OTHER.project_id == WorkItem.project_id,
                                     _OTHER.instance_id == WorkItem.instance_id, _OTHER.state == _OPEN))
             .outerjoin(_OTHER_UNIT, _OTHER_UNIT.id == _OTHER.unit_id)
             .where(WorkItem.id == bindparam("work_item_id"))
             .order_by(_OTHER.id))
        return q.with_for_update(of=Project) if postgresql else q

    # The entities come through RowLoader, not the ORM's loading, which builds row processors
    # for all seven entities on every execution (docs/performance.md, seventh pass).
    return RowLoader(
        {"item": WorkItem, "instance": ProcessInstance, "project": Project, "open_item": _OTHER,
         "item_unit": _ITEM_UNIT, "project_unit": _PROJECT_UNIT, "open_item_unit": _OTHER_UNIT},
        {"seen_seq": seen_seq, "has_countersigns": countersigns, "ids": ids, "has_drafts": has_drafts},
        finish)


# Built once per dialect, at import (one thread, before anything is served): constructing the
# aliased statement costs more than running it on SQLite, and when the first requests of a process
# built it, several threads at once could build it wrong (service.storage.aliases).
_LOADERS: dict[bool, RowLoader] = {postgresql: _loader(postgresql) for postgresql in (False, True)}


def _query(session: Session, work_item_id: int, postgresql: bool) -> list[Row]:
    return _LOADERS[postgresql].rows(session, {"work_item_id": work_item_id})


def load(session: Session, work_item_id: int) -> CompletionRead:
    """Lock the project of the work item and read what its completion needs (NotFound if none)."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    rows = _query(session, work_item_id, postgresql)
    reread = False
    if rows and rows[0].seen_seq != rows[0].project.audit_seq:
        rows = _query(session, work_item_id, postgresql)  # waited for a writer: read again, lock held
        reread = True
    if not rows:
        raise NotFound("任务不存在")
    first = rows[0]
    item, instance, project = first.item, first.instance, first.project
    set_committed_value(item, "unit", first.item_unit)
    set_committed_value(project, "unit", first.project_unit)
    open_items = []
    for r in rows:
        if r.open_item is not None:
            set_committed_value(r.open_item, "unit", r.open_item_unit)
            open_items.append(r.open_item)
    if postgresql:
        reserved = list(rows[0].ids)
    else:
        # SQLite: BEGIN IMMEDIATE let this transaction in alone, so the ids after max(id) are its own.
        row_ids.known_max(session, "work_items", int(rows[0].ids))
        reserved = []
        if not first.has_drafts:  # and none can come before this transaction ends: one DELETE fewer
            drafts.none_exist(session, item.id)
    return CompletionRead(item, instance, project, open_items, bool(rows[0].has_countersigns), reread,
                          row_ids.IdSource(session, "work_items", reserved))
