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
every other database. After the statement the objects get the values a flush would have given them
(defaults, versions): the new ones leave the session, the updated ones stay in it, clean, so the
commit flushes nothing."""
from __future__ import annotations

import datetime as dt
import decimal
import functools
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Connection, Table, bindparam, insert, inspect, literal_column, text, update
from sqlalchemy.orm import Session
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


@dataclass(frozen=True)
class _Column:
    key: str
    name: str
    json: bool
    # When the object does not set it: (True, value or zero-argument callable) from the column's
    # default, or NULL; (False, column) for a SQL expression default, which only a flush can
    # evaluate; None when the database gives it (its sequence or server default).
    default: tuple[bool, Any] | None
    callable_default: bool


@dataclass(frozen=True)
class _InsertPlan:
    table: Table
    columns: tuple[_Column, ...]
    # (relationship key, foreign-key column names) of the many-to-one relationships.
    parents: tuple[tuple[str, tuple[str, ...]], ...]


_PLANS: dict[Any, _InsertPlan] = {}


def _plan(mapper: Any) -> _InsertPlan:
    """What inserting a row of this mapper needs, read from the mapper once (per process)."""
    plan = _PLANS.get(mapper)
    if plan is not None:
        return plan
    if mapper.inherits is not None or len(mapper.tables) != 1:
        raise _Unsupported(mapper)
    columns = []
    for prop in mapper.column_attrs:
        if len(prop.columns) != 1:
            raise _Unsupported(prop)
        column = prop.columns[0]
        default: tuple[bool, Any] | None
        callable_default = False
        if column.default is not None:
            if column.default.is_scalar:
                default = (True, column.default.arg)
            elif column.default.is_callable:
                default, callable_default = (True, column.default.arg), True
            else:
                default = (False, column)  # a SQL expression: only a flush can evaluate it
        elif column.server_default is not None or (column.primary_key and column.autoincrement):
            default = None  # the sequence or the server gives it; nobody reads it back in this transaction
        else:
            default = (True, None)
        columns.append(_Column(prop.key, column.name, isinstance(column.type, JSON), default, callable_default))
    parents = tuple((rel.key, tuple(c.name for c in rel.local_columns))
                    for rel in mapper.relationships if rel.direction.name == "MANYTOONE")
    plan = _PLANS[mapper] = _InsertPlan(mapper.local_table, tuple(columns), parents)
    return plan


def _insert_row(obj: Any) -> tuple[Table, dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    plan = _plan(state.mapper)
    values = state.dict
    row: dict[str, Any] = {}
    assigned: dict[str, Any] = {}
    for c in plan.columns:
        if c.key in values:
            value = values[c.key]
            if value is None and c.json:
                raise _Unsupported(c.name)  # the ORM would store JSON null, not SQL NULL
        elif c.default is None:
            continue
        elif not c.default[0]:
            raise _Unsupported(c.default[1])
        else:
            # SQLAlchemy wraps zero-argument callables to take a context
            value = c.default[1](None) if c.callable_default else c.default[1]
            assigned[c.key] = value
        row[c.name] = value
    for key, local in plan.parents:
        if values.get(key) is not None:
            # Set through the relationship: its foreign key must also be set on the row itself.
            for name in local:
                if row.get(name) is None:
                    raise _Unsupported(key)
    return plan.table, row, assigned


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
        # The LIMIT tells the planner how many rows come: it takes json_populate_recordset for 100,
        # and against a table of a few hundred to some ten thousand rows (projects, instances) it
        # then hashed a sequential scan of the whole table instead of looking the rows up by key.
        ctes.append(f'{name} AS (UPDATE "{table.name}" AS t SET {", ".join(sets)} '
                    f'FROM (SELECT * FROM json_populate_recordset(NULL::"{table.name}", :{name}) '
                    f'LIMIT {len(rows)}) AS r '
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
    counts = session.execute(_text(sql), params).one()
    for name, want, got in zip(names, expected, counts, strict=True):
        if want >= 0 and got != want:
            if name.startswith("u"):
                raise StaleDataError(f"{name}: expected to update {want} row(s), updated {got}")
            raise StaleDataError(f"{name}: expected to insert {want} row(s), inserted {got}")
    _settle(session, inserts, updates)


@functools.lru_cache(maxsize=512)
def _text(sql: str) -> Any:
    """The statement as a TextClause, built once per shape: building one parses the SQL for its
    bind parameters (about 40 µs for a completion's 2 KB statement), and a process sees only a few
    hundred shapes (tables × columns × row counts)."""
    return text(sql)


def _execute_core(session: Session, inserts: list[Any], updates: list[Any],
                  deletes: list[tuple[Table, str, int]]) -> None:
    order = _table_order()
    conn = session.connection()
    groups: dict[tuple[Table, tuple[str, ...], str | None], list[dict[str, Any]]] = {}
    for _, (table, row, version, _after) in updates:
        groups.setdefault((table, tuple(row), version), []).append(row)
    for (table, columns, version), rows in sorted(groups.items(), key=lambda g: order.get(g[0][0], 0)):
        pk = table.primary_key.columns.values()[0].name
        params = [{"k_pk": r[pk], **({"k_version": r[version]} if version else {}),
                   **{f"v_{c}": r[c] for c in columns if c not in (pk, version)}} for r in rows]
        count = _run(conn, ("update", table, columns, version), params)
        if count != len(rows):
            raise StaleDataError(f"{table.name}: expected to update {len(rows)} row(s), updated {count}")
    for table, column, value in deletes:
        _run(conn, ("delete", table, column), [{"k_value": value}])
    inserted: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for _, table, row, _assigned in inserts:
        inserted.setdefault((table, tuple(sorted(row))), []).append(row)
    for (table, columns), rows in sorted(inserted.items(), key=lambda g: order.get(g[0][0], 0)):
        _run(conn, ("insert", table, columns), rows)
    _settle(session, inserts, updates)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # The statement's parameters in their positional order, each with the type's bind processor
    # (JSON encoding, SQLite's date text, …) or None.
    binds: tuple[tuple[str, Callable[[Any], Any] | None], ...]


# Per dialect (an engine's JSON serializer is part of its dialect), per statement shape.
_COMPILED: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], _Compiled | None]] = weakref.WeakKeyDictionary()


def _statement(shape: tuple[Any, ...]) -> tuple[Any, list[str] | None]:
    kind, table = shape[0], shape[1]
    if kind == "insert":
        return insert(table), list(shape[2])
    if kind == "delete":
        return table.delete().where(table.c[shape[2]] == bindparam("k_value")), None
    columns, version = shape[2], shape[3]
    pk = table.primary_key.columns.values()[0]
    values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in columns if c not in (pk.name, version)}
    where = [pk == bindparam("k_pk")]
    if version:
        # A literal, not a bound 1: the compiled statement's parameters are exactly the row's.
        values[version] = table.c[version] + literal_column("1")
        where.append(table.c[version] == bindparam("k_version"))
    return update(table).where(*where).values(values), None


def _compiled(conn: Connection, shape: tuple[Any, ...]) -> _Compiled | None:
    """The statement compiled once for this dialect, or None when its parameters are not plainly
    positional (then Connection.execute runs it)."""
    by_shape = _COMPILED.setdefault(conn.dialect, {})
    if shape in by_shape:
        return by_shape[shape]
    stmt, column_keys = _statement(shape)
    compiled = stmt.compile(dialect=conn.dialect, column_keys=column_keys)
    names = compiled.positiontup
    result = None
    if names is not None and not compiled.literal_execute_params and not compiled.post_compile_params:
        processors = compiled._bind_processors
        result = _Compiled(compiled.string, tuple((n, processors.get(n)) for n in names))
    by_shape[shape] = result
    return result


def _run(conn: Connection, shape: tuple[Any, ...], rows: list[dict[str, Any]]) -> int:
    """Execute one statement shape for `rows` (executemany for several); its rowcount.

    The statements are compiled once and sent with exec_driver_sql: Connection.execute would
    look each one up in the compiled cache by its cache key and build its parameters through the
    compiler on every call, about half of what a small statement costs on SQLite. The
    connection's events still see every statement."""
    compiled = _compiled(conn, shape)
    if compiled is None:
        stmt, _ = _statement(shape)
        return conn.execute(stmt, rows).rowcount
    params = [tuple(p(r[n]) if p is not None else r[n] for n, p in compiled.binds) for r in rows]
    return conn.exec_driver_sql(compiled.sql, params if len(params) > 1 else params[0]).rowcount


def _rows_json(rows: list[dict[str, Any]]) -> str:
    return encode([{k: _json_value(v) for k, v in row.items()} for row in rows])


# Built once: `MetaData.sorted_tables` sorts the schema's foreign keys on every access. Keyed by
# the table count, so a table added at run time (tests) gets a fresh order.
_ORDER: dict[int, dict[Table, int]] = {}


def _table_order() -> dict[Table, int]:
    from service.storage.models import Base

    order = _ORDER.get(len(Base.metadata.tables))
    if order is None:
        order = {t: i for i, t in enumerate(Base.metadata.sorted_tables)}
        _ORDER.clear()
        _ORDER[len(Base.metadata.tables)] = order
    return order


def _settle(session: Session, inserts: list[Any], updates: list[Any]) -> None:
    """The rows are written: give the objects the values the flush would have given them, so the
    commit has nothing left to flush. New objects leave the session (their database-made ids were
    not read back); updated ones stay in it, clean, with their new version."""
    for obj, _table, _row, assigned in inserts:
        inspect(obj).dict.update(assigned)
    # No expunge cascade to walk: every pending object of the session is in `inserts`.
    session._expunge_states([inspect(obj) for obj, *_ in inserts])
    for obj, (_table, _row, _version, after) in updates:
        state = inspect(obj)
        state.dict.update(after)
        state._commit_all(state.dict, session.identity_map)
