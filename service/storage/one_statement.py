"""Write a transaction's pending ORM changes in ONE statement on PostgreSQL (docs/performance.md).

The unit of work sends one UPDATE per changed row and one INSERT per table, each a round trip;
a completion changes three rows (work item, instance, project) and inserts into three to five
tables. Here every group of rows becomes a data-modifying CTE fed by `json_populate_recordset`
(the table's own row type does the casting), and one `WITH … SELECT` returns the count of every
part, checked like the unit of work checks rowcounts:

- updates carry the version column (work_items.row_version, process_instances.revision) in their
  WHERE, so a row changed behind the caller's back is a StaleDataError, as with a flush;
- inserts into a table that is also updated wait for the update (they read its count first): the
  partial unique index on open work items must see the completed row leave before a new open row
  with the same engine task id arrives, as the flush order guaranteed;
- foreign keys are checked at the end of the statement, so parents and children may come in the
  same statement;
- new rows whose primary key is needed later must already carry it (work items: ids taken from
  the sequence beforehand, service.operations.completion_read); other ids come from the column
  default and are not read back.

Anything the translation does not cover (deletes of ORM objects, relationship-only changes, a JSON
column set to None, which the ORM stores as JSON null) falls back to an ordinary flush, as does
every other database. After the statement the written objects are expunged with their new values
(defaults, versions) set, so the commit flushes nothing."""
from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, Table, bindparam, insert, inspect, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from service.storage.json_text import encode

_DEFERRED = "govflow.one_statement.deletes"


class _Unsupported(Exception):
    pass


def begin(session: Session) -> None:
    """Start collecting deferred deletes for `write`."""
    session.info[_DEFERRED] = []


def defer_delete(session: Session, table: Table, column: str, value: int) -> bool:
    """`DELETE FROM table WHERE column = value` as part of the one statement; False when not
    collecting (the caller then executes it itself)."""
    deletes = session.info.get(_DEFERRED)
    if deletes is None:
        return False
    deletes.append((table, column, value))
    return True


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        # psycopg would send it as timestamptz and PostgreSQL convert it in the session's zone:
        # leave that to the flush rather than imitate it.
        raise _Unsupported(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _default(column: Any) -> tuple[bool, Any]:
    default = column.default
    if default is None:
        return False, None
    if default.is_scalar:
        return True, default.arg
    if default.is_callable:
        return True, default.arg(None)  # SQLAlchemy wraps zero-argument callables to take a context
    raise _Unsupported(column)


def _insert_row(obj: Any) -> tuple[Table, dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    mapper = state.mapper
    if mapper.inherits is not None or len(mapper.tables) != 1:
        raise _Unsupported(mapper)
    table = mapper.local_table
    row: dict[str, Any] = {}
    assigned: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        if len(prop.columns) != 1:
            raise _Unsupported(prop)
        column = prop.columns[0]
        if prop.key in state.dict:
            value = state.dict[prop.key]
            if value is None and isinstance(column.type, JSON):
                raise _Unsupported(column)  # the ORM would store JSON null, not SQL NULL
        else:
            has, value = _default(column)
            if not has:
                if column.primary_key and column.autoincrement and column.server_default is None:
                    continue  # the sequence gives it; nobody reads it back in this transaction
                if column.server_default is not None:
                    continue
                value = None
            assigned[prop.key] = value
        row[column.name] = value
    for rel in mapper.relationships:
        if rel.key in state.dict and state.dict[rel.key] is not None and rel.direction.name == "MANYTOONE":
            # Set through the relationship: its foreign key must also be set on the row itself.
            for local in rel.local_columns:
                if row.get(local.name) is None:
                    raise _Unsupported(rel)
    return table, row, assigned


def _update_row(obj: Any) -> tuple[Table, dict[str, Any], str | None, dict[str, Any]] | None:
    state = inspect(obj)
    mapper = state.mapper
    if len(mapper.tables) != 1:
        raise _Unsupported(mapper)
    changed = {}
    for key in state.committed_state:
        prop = mapper.attrs.get(key)
        if prop is None or not hasattr(prop, "columns"):
            raise _Unsupported(key)  # a relationship change: leave it to the unit of work
        value = state.dict.get(key)
        if value is None and isinstance(prop.columns[0].type, JSON):
            raise _Unsupported(key)
        before = state.committed_state[key]
        # The same dict or list as before: mutated in place (flag_modified), so changed.
        if (value is before and isinstance(value, dict | list)) or value != before:
            changed[prop.columns[0].name] = value
    if not changed:
        return None
    pk = mapper.primary_key
    if len(pk) != 1:
        raise _Unsupported(mapper)
    row = {pk[0].name: state.dict[mapper.get_property_by_column(pk[0]).key], **changed}
    version = None
    after: dict[str, Any] = {}
    if mapper.version_id_col is not None:
        version = mapper.version_id_col.name
        key = mapper.get_property_by_column(mapper.version_id_col).key
        old = state.committed_state.get(key, state.dict.get(key))
        row[version] = old
        after[key] = (old or 0) + 1
    return mapper.local_table, row, version, after


def write(session: Session) -> None:
    """Write everything pending in the session: one statement on PostgreSQL; on SQLite, where a
    statement costs no network but the unit of work's bookkeeping costs CPU, one Core executemany
    per group of rows, in foreign-key order."""
    deletes = session.info.pop(_DEFERRED, None)
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite") or session.deleted:
        _plain(session, deletes)
        return
    try:
        inserts = [(obj, *_insert_row(obj)) for obj in session.new]
        updates = [(obj, u) for obj in session.dirty if (u := _update_row(obj)) is not None]
        if dialect == "postgresql":
            # Encodes every row before it sends anything: an _Unsupported here has written nothing.
            _execute(session, inserts, updates, deletes or [])
            return
    except _Unsupported:
        _plain(session, deletes)
        return
    _execute_core(session, inserts, updates, deletes or [])


def _plain(session: Session, deletes: Iterable[tuple[Table, str, int]] | None) -> None:
    for table, column, value in deletes or ():
        session.execute(table.delete().where(table.c[column] == value))
    session.flush()


def _execute(session: Session, inserts: list[Any], updates: list[Any], deletes: list[tuple[Table, str, int]]) -> None:
    ctes: list[str] = []
    expected: list[int] = []
    params: dict[str, Any] = {}
    order = _table_order()

    update_groups: dict[tuple[Table, tuple[str, ...], str | None], list[dict[str, Any]]] = {}
    for _, (table, row, version, _after) in updates:
        update_groups.setdefault((table, tuple(row), version), []).append(row)
    updated_by_table: dict[Table, list[str]] = {}
    for (table, columns, version), rows in update_groups.items():
        name = f"u{len(ctes)}"
        pk = table.primary_key.columns.values()[0].name
        sets = [f'"{c}" = r."{c}"' for c in columns if c not in (pk, version)]
        where = [f't."{pk}" = r."{pk}"']
        if version:
            sets.append(f'"{version}" = r."{version}" + 1')
            where.append(f't."{version}" = r."{version}"')
        params[name] = _rows_json(rows)
        ctes.append(f'{name} AS (UPDATE "{table.name}" AS t SET {", ".join(sets)} '
                    f'FROM json_populate_recordset(NULL::"{table.name}", :{name}) AS r '
                    f'WHERE {" AND ".join(where)} RETURNING 1)')
        expected.append(len(rows))
        updated_by_table.setdefault(table, []).append(name)
    for table, column, value in deletes:
        name = f"d{len(ctes)}"
        params[name] = value
        ctes.append(f'{name} AS (DELETE FROM "{table.name}" WHERE "{column}" = :{name} RETURNING 1)')
        expected.append(-1)
    insert_groups: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for _, table, row, _assigned in inserts:
        insert_groups.setdefault((table, tuple(sorted(row))), []).append(row)
    for (table, columns), rows in sorted(insert_groups.items(), key=lambda g: order.get(g[0][0], 0)):
        name = f"i{len(ctes)}"
        cols = ", ".join(f'"{c}"' for c in columns)
        after = ""
        if table in updated_by_table:
            after = " WHERE " + " AND ".join(f"(SELECT count(*) FROM {u}) >= 0" for u in updated_by_table[table])
        params[name] = _rows_json(rows)
        ctes.append(f'{name} AS (INSERT INTO "{table.name}" ({cols}) SELECT {cols} '
                    f'FROM json_populate_recordset(NULL::"{table.name}", :{name}){after} RETURNING 1)')
        expected.append(len(rows))
    if not ctes:
        return
    names = [c.split(" ", 1)[0] for c in ctes]
    sql = "WITH " + ", ".join(ctes) + " SELECT " + ", ".join(f"(SELECT count(*) FROM {n})" for n in names)
    counts = session.execute(text(sql), params).one()
    for name, want, got in zip(names, expected, counts, strict=True):
        if want >= 0 and got != want:
            if name.startswith("u"):
                raise StaleDataError(f"{name}: expected to update {want} row(s), updated {got}")
            raise StaleDataError(f"{name}: expected to insert {want} row(s), inserted {got}")
    _settle(session, inserts, updates)


def _execute_core(session: Session, inserts: list[Any], updates: list[Any],
                  deletes: list[tuple[Table, str, int]]) -> None:
    order = _table_order()
    conn = session.connection()
    groups: dict[tuple[Table, tuple[str, ...], str | None], list[dict[str, Any]]] = {}
    for _, (table, row, version, _after) in updates:
        groups.setdefault((table, tuple(row), version), []).append(row)
    for (table, columns, version), rows in sorted(groups.items(), key=lambda g: order.get(g[0][0], 0)):
        pk = table.primary_key.columns.values()[0]
        params = [{"k_pk": r[pk.name], **({"k_version": r[version]} if version else {}),
                   **{f"v_{c}": r[c] for c in columns if c not in (pk.name, version)}} for r in rows]
        result = conn.execute(_update_statement(table, columns, version), params)
        if result.rowcount != len(rows):
            raise StaleDataError(f"{table.name}: expected to update {len(rows)} row(s), updated {result.rowcount}")
    for table, column, value in deletes:
        conn.execute(_delete_statement(table, column), {"k_value": value})
    inserted: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for _, table, row, _assigned in inserts:
        inserted.setdefault((table, tuple(sorted(row))), []).append(row)
    for (table, _columns), rows in sorted(inserted.items(), key=lambda g: order.get(g[0][0], 0)):
        conn.execute(_insert_statement(table), rows)
    _settle(session, inserts, updates)


def _rows_json(rows: list[dict[str, Any]]) -> str:
    return encode([{k: _json_value(v) for k, v in row.items()} for row in rows])


# Built once: `MetaData.sorted_tables` sorts the schema's foreign keys on every access, and a
# constructed UPDATE costs more to build than to run on SQLite. Keyed by the table count, so a
# table added at run time (tests) gets a fresh order.
_ORDER: dict[int, dict[Table, int]] = {}
_UPDATES: dict[tuple[Table, tuple[str, ...], str | None], Any] = {}
_INSERTS: dict[Table, Any] = {}
_DELETES: dict[tuple[Table, str], Any] = {}


def _table_order() -> dict[Table, int]:
    from service.storage.models import Base

    order = _ORDER.get(len(Base.metadata.tables))
    if order is None:
        order = {t: i for i, t in enumerate(Base.metadata.sorted_tables)}
        _ORDER.clear()
        _ORDER[len(Base.metadata.tables)] = order
    return order


def _update_statement(table: Table, columns: tuple[str, ...], version: str | None) -> Any:
    key = (table, columns, version)
    stmt = _UPDATES.get(key)
    if stmt is None:
        pk = table.primary_key.columns.values()[0]
        values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in columns if c not in (pk.name, version)}
        where = [pk == bindparam("k_pk")]
        if version:
            values[version] = table.c[version] + 1
            where.append(table.c[version] == bindparam("k_version"))
        stmt = _UPDATES[key] = update(table).where(*where).values(values)
    return stmt


def _delete_statement(table: Table, column: str) -> Any:
    key = (table, column)
    stmt = _DELETES.get(key)
    if stmt is None:
        stmt = _DELETES[key] = table.delete().where(table.c[column] == bindparam("k_value"))
    return stmt


def _insert_statement(table: Table) -> Any:
    stmt = _INSERTS.get(table)
    if stmt is None:
        stmt = _INSERTS[table] = insert(table)
    return stmt


def _settle(session: Session, inserts: list[Any], updates: list[Any]) -> None:
    """The rows are written: give the objects the values the flush would have given them and take
    them out of the session, so the commit has nothing left to flush."""
    for obj, _table, _row, assigned in inserts:
        for key, value in assigned.items():
            set_committed_value(obj, key, value)
        session.expunge(obj)
    for obj, (_table, _row, _version, after) in updates:
        state = inspect(obj)
        session.expunge(obj)
        for key in list(state.committed_state):
            set_committed_value(obj, key, state.dict.get(key))
        for key, value in after.items():
            set_committed_value(obj, key, value)
