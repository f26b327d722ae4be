"""Primary keys taken before the rows are written, so that a transaction can build every row (and
hash every audit record that names them) and then write them all at once (service.storage.
one_statement) instead of flushing to learn each id.

PostgreSQL: the ids come from the tables' own sequences (nextval), so they are never handed out
twice, whatever else runs. SQLite: max(id) + 1, + 2 …, which is what SQLite itself would assign
and is safe because every writing transaction starts with BEGIN IMMEDIATE (service.storage.db):
nobody else inserts until this transaction ends. The ids a transaction has taken are remembered
in its session, so two takes from one table never overlap."""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import text
from sqlalchemy.orm import Session

_TAKEN = "govflow.row_ids"
# Only these: the names go into SQL text.
TABLES = frozenset({"projects", "process_instances", "work_items", "carbon_copies"})


def reserve(session: Session, counts: Mapping[str, int]) -> dict[str, list[int]]:
    """`counts[table]` new ids for each table, in one statement."""
    tables = sorted(counts)
    if not set(tables) <= TABLES:
        raise ValueError(f"row_ids: no ids for {sorted(set(tables) - TABLES)}")
    if session.get_bind().dialect.name == "postgresql":
        parts = ", ".join(f"ARRAY(SELECT nextval(pg_get_serial_sequence('{t}', 'id')) "
                          f"FROM generate_series(1, {int(counts[t])}))" for t in tables)
        row = session.execute(text(f"SELECT {parts}")).one()
        return {t: list(ids) for t, ids in zip(tables, row, strict=True)}
    taken: dict[str, int] = session.info.setdefault(_TAKEN, {})
    missing = [t for t in tables if t not in taken]
    if missing:
        parts = ", ".join(f"(SELECT coalesce(max(id), 0) FROM {t})" for t in missing)
        for t, top in zip(missing, session.execute(text(f"SELECT {parts}")).one(), strict=True):
            taken[t] = int(top)
    out = {}
    for t in tables:
        start = taken[t] + 1
        taken[t] += int(counts[t])
        out[t] = list(range(start, taken[t] + 1))
    return out


def known_max(session: Session, table: str, top: int) -> None:
    """SQLite: `top` is max(id) of `table`, read by the caller in a statement of its own (the
    completion's read folds it in), so that `reserve` starts after it without asking again."""
    taken: dict[str, int] = session.info.setdefault(_TAKEN, {})
    taken[table] = max(taken.get(table, 0), int(top))


class IdSource:
    """Ids for one table: the reserved ones first, then more as needed (a fan-out opening more
    tasks than were reserved)."""

    def __init__(self, session: Session, table: str, reserved: list[int]) -> None:
        self._session = session
        self._table = table
        self._ids = list(reserved)

    def __call__(self, n: int) -> list[int]:
        take, self._ids = self._ids[:n], self._ids[n:]
        if len(take) < n:
            take += reserve(self._session, {self._table: n - len(take)})[self._table]
        return take
