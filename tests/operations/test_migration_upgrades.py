"""Every earlier schema, holding data, upgrades to head on PostgreSQL; the newest migration
downgrades one step with data in it and upgrades again.

A production database is never at an empty base: it was created at some revision and has lived
through the later ones with rows in every table. So for each revision R the test migrates a
scratch database to R, fills every table that exists there with rows (every column set,
foreign keys pointing at real rows), upgrades to head and checks that no row was lost."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, create_engine, func, inspect, select, text, types

from service.storage.migrate import alembic_config, upgrade
from service.storage.models import Base
from tests.conftest import BACKENDS, scratch_database

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="GOVFLOW_TEST_BACKENDS excludes postgresql")
ROWS = 2
# JSON columns hold shaped documents in real databases, and data migrations read them: the
# shapes the code writes, where a column is not a plain object.
SHAPED: dict[tuple[str, str], Any] = {
    ("annual_lists", "entries"): [{"project_id": 1, "amount": 300.0}],
    ("annual_lists", "approved_entries"): [{"project_id": 1, "amount": 300.0, "reason": None}],
    ("projects", "participants"): ["市公安局"],
    ("users", "roles"): ["department"],
}
LISTS = {(t.name, c.name) for t in Base.metadata.tables.values() for c in t.columns
         if c.default is not None and getattr(c.default, "arg", None) is list}


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


REVISIONS = _revisions()


@pytest.fixture
def scratch_url() -> Iterator[str]:
    with scratch_database("govflow_mig") as url:
        yield url


def _value(table: Table, column: Any, i: int) -> Any:
    t = column.type
    if isinstance(t, types.Boolean):
        return i % 2 == 0
    if isinstance(t, types.DateTime):
        return dt.datetime(2026, 11, 2 + i, 9, 0, tzinfo=dt.UTC if t.timezone else None)
    if isinstance(t, types.Date):
        return dt.date(2026, 11, 2 + i)
    if isinstance(t, types.Integer):
        return 1000 + i
    if isinstance(t, types.Numeric | types.Float):
        return 1 + i
    if isinstance(t, types.JSON):
        if (table.name, column.name) in SHAPED:
            return SHAPED[table.name, column.name]
        return [] if (table.name, column.name) in LISTS else {"row": i}
    if isinstance(t, types.LargeBinary):
        return bytes([i]) * 8
    if isinstance(t, types.String):
        raw = f"{table.name[:12]}-{column.name[:12]}-{i}"
        return raw[-t.length:] if t.length else raw
    raise AssertionError(f"no sample value for {table.name}.{column.name} ({t!r})")


def _fill(url: str) -> dict[str, int]:
    """ROWS rows in every table, in foreign-key order; returns the row count per table."""
    engine = create_engine(url)
    try:
        return _fill_with(engine)
    finally:
        engine.dispose()


def _fill_with(engine: Any) -> dict[str, int]:
    meta = MetaData()
    meta.reflect(engine)
    keys: dict[str, list[dict[str, Any]]] = {}
    with engine.begin() as conn:
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            keys[table.name] = []
            for i in range(ROWS):
                row: dict[str, Any] = {}
                for column in table.columns:
                    fks = list(column.foreign_keys)
                    if fks:
                        target = fks[0].column
                        parents = keys.get(target.table.name)
                        if parents and target.name in parents[i % len(parents)]:
                            row[column.name] = parents[i % len(parents)][target.name]
                        elif not column.nullable:
                            raise AssertionError(f"{table.name}.{column.name}: parent {target.table.name} unfilled")
                        continue
                    if column.primary_key and column.autoincrement in (True, "auto") \
                            and isinstance(column.type, types.Integer) and len(table.primary_key.columns) == 1:
                        continue
                    row[column.name] = _value(table, column, i)
                pk = conn.execute(table.insert().values(**row).returning(*table.primary_key.columns)).one()
                keys[table.name].append({**row, **pk._asdict()})
        return {name: conn.execute(select(func.count()).select_from(meta.tables[name])).scalar_one()
                for name in keys}


def _counts(url: str, tables: list[str]) -> dict[str, int]:
    engine = create_engine(url)
    try:
        present = set(inspect(engine).get_table_names())
        meta = MetaData()
        meta.reflect(engine, only=[t for t in tables if t in present])
        with engine.connect() as conn:
            return {name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                    for name, table in meta.tables.items()}
    finally:
        engine.dispose()


def _tables_at(url: str, revision: str) -> set[str]:
    """The tables a database at `revision` has (a scratch database of its own)."""
    with scratch_database("govflow_mig") as other:
        upgrade(other, revision)
        engine = create_engine(other)
        try:
            return set(inspect(engine).get_table_names())
        finally:
            engine.dispose()


def _current(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.parametrize("revision", REVISIONS[:-1])
def test_a_database_with_data_at_each_revision_upgrades_to_head(scratch_url: str, revision: str) -> None:
    upgrade(scratch_url, revision)
    before = _fill(scratch_url)
    assert before and all(n == ROWS for n in before.values())
    upgrade(scratch_url)
    assert _current(scratch_url) == REVISIONS[-1]
    after = _counts(scratch_url, list(before))
    lost = {t: (n, after.get(t)) for t, n in before.items() if after.get(t, 0) < n}
    assert not lost, f"rows lost upgrading from {revision}: {lost}"


def test_the_newest_migration_downgrades_one_step_with_data_and_upgrades_again(scratch_url: str) -> None:
    upgrade(scratch_url)
    before = _fill(scratch_url)
    command.downgrade(alembic_config(scratch_url), "-1")
    assert _current(scratch_url) == REVISIONS[-2]
    upgrade(scratch_url)
    assert _current(scratch_url) == REVISIONS[-1]
    after = _counts(scratch_url, list(before))
    # Only the newest revision's own tables may come back empty (its downgrade drops them).
    newest = {t for t in before if t not in _tables_at(scratch_url, REVISIONS[-2])}
    lost = {t: (n, after.get(t, 0)) for t, n in before.items() if t not in newest and after.get(t, 0) < n}
    assert before and not lost, lost
