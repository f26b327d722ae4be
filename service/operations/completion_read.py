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

from sqlalchemy import and_, bindparam, exists, func, literal_column, select
from sqlalchemy.orm import Session, aliased, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from service.domain.errors import NotFound
from service.operations import drafts
from service.storage import row_ids
from service.storage.models import Countersign, ProcessInstance, Project, TaskDraft, Unit, WorkItem

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


_OTHER = aliased(WorkItem, name="open_items")
_SEEN = aliased(Project, name="seen")
_NEWEST = aliased(WorkItem, name="newest")
# The units as entities of their own rather than through the models' joined eager loading: each
# joined relationship builds its result adapter on every execution, which cost a fifth of this
# read. `load` hands each row's units to its entities (as a joined load would have).
_ITEM_UNIT = aliased(Unit, name="item_unit")
_PROJECT_UNIT = aliased(Unit, name="project_unit")
_OTHER_UNIT = aliased(Unit, name="open_item_unit")
_OPEN = literal_column("'open'")
# Built once per dialect: constructing the aliased statement costs more than running it on SQLite.
_STATEMENTS: dict[bool, Any] = {}


def _statement(postgresql: bool) -> Any:
    q = _STATEMENTS.get(postgresql)
    if q is not None:
        return q
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
    q = (select(WorkItem, ProcessInstance, Project, _OTHER, seen_seq.label("seen_seq"),
                countersigns.label("has_countersigns"), ids.label("ids"), has_drafts.label("has_drafts"),
                _ITEM_UNIT, _PROJECT_UNIT, _OTHER_UNIT)
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
         .options(lazyload(WorkItem.unit), lazyload(Project.unit), lazyload(_OTHER.unit))
         .where(WorkItem.id == bindparam("work_item_id"))
         .order_by(_OTHER.id)
         .execution_options(populate_existing=True))
    if postgresql:
        q = q.with_for_update(of=Project)
    _STATEMENTS[postgresql] = q
    return q


def _query(session: Session, work_item_id: int, postgresql: bool) -> Any:
    return session.execute(_statement(postgresql), {"work_item_id": work_item_id}).all()


def load(session: Session, work_item_id: int) -> CompletionRead:
    """Lock the project of the work item and read what its completion needs (NotFound if none)."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    rows = _query(session, work_item_id, postgresql)
    reread = False
    if rows and rows[0].seen_seq != rows[0][2].audit_seq:
        rows = _query(session, work_item_id, postgresql)  # waited for a writer: read again, lock held
        reread = True
    if not rows:
        raise NotFound("任务不存在")
    first = rows[0]
    item, instance, project = first[0], first[1], first[2]
    set_committed_value(item, "unit", first.item_unit)
    set_committed_value(project, "unit", first.project_unit)
    open_items = []
    for r in rows:
        if r.open_items is not None:
            set_committed_value(r.open_items, "unit", r.open_item_unit)
            open_items.append(r.open_items)
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
