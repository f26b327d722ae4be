"""Persistent ORM objects from one statement's raw rows, without the ORM's loading machinery
(docs/performance.md, "Seventh pass").

Executing an ORM select builds, on every execution, a row processor for each of its entities (a
populator per attribute, an adapter per alias); for the completion's read, seven entities, that
setup cost a fifth of the read. A `RowLoader` runs the same columns as a Core select (cached
like any other, its result metadata with it), each entity a slice of the row, and makes the
objects as a load would: in the session's identity map, committed, so the change tracking and
the version columns work as after `Session.execute`. An entity repeated on every row of a join
(one work item beside its N open siblings) is made once.

An object already in the session is refreshed in place, as `populate_existing` would. Mappers with
`load` event listeners (reconstructors, …) are refused at build time: their objects come from
the ORM, which runs them."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, inspect, select
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.attributes import instance_state


@dataclass(frozen=True)
class _Slice:
    name: str
    mapper: Mapper[Any]
    start: int
    keys: tuple[str, ...]
    pk: int  # the primary key's offset within the slice


class Row:
    """One result row: the entities by name (None for an outer join's missing side) and the extra
    columns by label."""

    __slots__ = ("_entities", "_extras")

    def __init__(self, entities: dict[str, Any], extras: dict[str, Any]) -> None:
        self._entities = entities
        self._extras = extras

    def __getattr__(self, name: str) -> Any:
        try:
            return self._entities[name] if name in self._entities else self._extras[name]
        except KeyError:
            raise AttributeError(name) from None


class RowLoader:
    """`entities`: name → mapped class or `aliased()` entity, in the row's order; `extras`: label →
    column expression; `finish(select)` adds the joins, the WHERE, the ORDER BY and the locking."""

    def __init__(self, entities: Mapping[str, Any], extras: Mapping[str, Any],
                 finish: Callable[[Select[Any]], Select[Any]]) -> None:
        self._slices: list[_Slice] = []
        columns: list[Any] = []
        for name, entity in entities.items():
            mapper = inspect(entity).mapper
            if mapper.class_manager.dispatch.load:
                raise TypeError(f"{mapper.class_.__name__} has load listeners: load it through the ORM")
            if len(mapper.primary_key) != 1:
                raise TypeError(f"{mapper.class_.__name__}: one primary key column expected")
            keys = tuple(p.key for p in mapper.column_attrs)
            pk = keys.index(mapper.get_property_by_column(mapper.primary_key[0]).key)
            self._slices.append(_Slice(name, mapper, len(columns), keys, pk))
            columns += [getattr(entity, k).label(f"{name}__{k}") for k in keys]
        self._extras = tuple(extras)
        self._extra_at = len(columns)
        columns += [expr.label(label) for label, expr in extras.items()]
        # Run as Core: found in the compiled cache with its result metadata, the values converted
        # by their types' result processors.
        self.statement = finish(select(*columns))

    def rows(self, session: Session, params: Mapping[str, Any]) -> list[Row]:
        raw = session.connection().execute(self.statement, params).fetchall()
        # One object per identity and call, whichever alias or row brings it (the completed work
        # item is also one of the open items).
        made: dict[Any, Any] = {}
        out: list[Row] = []
        for r in raw:
            entities: dict[str, Any] = {}
            for s in self._slices:
                pk = r[s.start + s.pk]
                if pk is None:
                    entities[s.name] = None
                    continue
                key = s.mapper.identity_key_from_primary_key((pk,))
                obj = made.get(key)
                if obj is None:
                    values = dict(zip(s.keys, r[s.start:s.start + len(s.keys)], strict=True))
                    obj = made[key] = _persistent(session, s.mapper, key, values)
                entities[s.name] = obj
            out.append(Row(entities, dict(zip(self._extras, r[self._extra_at:], strict=True))))
        return out


def _persistent(session: Session, mapper: Mapper[Any], key: Any, values: dict[str, Any]) -> Any:
    """The object with identity `key` in `session`, holding `values` as loaded."""
    identity_map = session.identity_map
    obj = identity_map.get(key)
    if obj is not None:
        state = instance_state(obj)
        # A refresh, as populate_existing: the loaded values replace the object's, which is clean after.
        state.dict.update(values)
        state._commit_all(state.dict, identity_map)
        return obj
    obj = mapper.class_manager.new_instance()
    state = instance_state(obj)
    state.dict.update(values)
    state.key = key
    state.identity_token = None
    state.session_id = session.hash_key
    identity_map._add_unpresent(state, key)
    state._commit_all(state.dict, identity_map)
    if session.dispatch.loaded_as_persistent:
        session.dispatch.loaded_as_persistent(session, state)
    return obj
