"""Pessimistic locks that serialise the writers of one project, one unit or one named resource.

Every write transaction that changes a project's rows (its instance, work items, clocks, opinions,
attachments, audit chain) first locks the project row, so the four departments of 方案评审 who
submit their parallel branches at the same moment queue for a few milliseconds instead of three of
them failing on the instance's optimistic version. The lock is taken before any other row of the
project is read: PostgreSQL (READ COMMITTED) gives every later statement of the transaction a fresh
snapshot, so what the writer reads after the lock is what the previous writer committed.

Lock order, to keep PostgreSQL free of deadlocks: a transaction that needs several projects takes
them in ascending id, in one statement, before anything else; named locks come before project
locks. SQLite needs none of this: every transaction there begins with BEGIN IMMEDIATE, which
already lets one writer in at a time (FOR UPDATE is not even rendered by its dialect)."""
from __future__ import annotations

import zlib
from collections.abc import Iterable

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from service.storage.models import Project, Unit, WorkItem


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def serialised_by_database(session: Session) -> bool:
    """True where the database itself lets one writer in at a time (SQLite's BEGIN IMMEDIATE): a
    caller may then skip the lock statement and read in one round trip, which is already fresh."""
    return session.get_bind().dialect.name == "sqlite"


def _fresh(query: Select, entity: type) -> Select:  # type: ignore[type-arg]
    # OF the entity's table only: a project's unit is joined eagerly (nullable side of an outer
    # join, which PostgreSQL refuses to lock). populate_existing: an object already in the session
    # would otherwise keep the values it was loaded with.
    return query.with_for_update(of=entity).execution_options(populate_existing=True)


def project(session: Session, project_id: int) -> Project | None:
    """Lock and return the project (None if it does not exist)."""
    return session.scalars(_fresh(select(Project).where(Project.id == project_id), Project)).first()


def project_of_work_item(session: Session, work_item_id: int) -> Project | None:
    """Lock and return the project a work item belongs to (None if there is no such item)."""
    query = (select(Project).join(WorkItem, WorkItem.project_id == Project.id).where(WorkItem.id == work_item_id)
             .with_for_update(of=Project).execution_options(populate_existing=True))
    return session.scalars(query).first()


def projects(session: Session, project_ids: Iterable[int]) -> list[Project]:
    """Lock several projects in ascending id order (one statement) and return them in that order."""
    ids = sorted(set(project_ids))
    if not ids:
        return []
    return list(session.scalars(_fresh(select(Project).where(Project.id.in_(ids)).order_by(Project.id), Project)))


def unit(session: Session, unit_id: int) -> Unit | None:
    """Lock and return a unit: the writers of its own audit chain (rectifications) queue on it."""
    return session.scalars(_fresh(select(Unit).where(Unit.id == unit_id), Unit)).first()


def named(session: Session, name: str) -> None:
    """A transaction-scoped lock on a resource that has no row to lock yet (a calendar year being
    loaded, a declaration window being opened): PostgreSQL advisory lock, released at commit."""
    if _postgresql(session):
        key = zlib.crc32(name.encode()) - (1 << 31)  # any stable 32-bit key; pg takes a bigint
        session.execute(select(func.pg_advisory_xact_lock(key)))
