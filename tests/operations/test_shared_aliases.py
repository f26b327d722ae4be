"""Aliases shared by request threads are complete before any thread uses them (service.storage.aliases):
SQLAlchemy fills an alias's column lookup lazily and in place, and a thread that came in while
another was filling it built the completion's read with the wrong table (false 409s on PostgreSQL)."""
from __future__ import annotations

import sys
import warnings

import pytest
from sqlalchemy import inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import aliased
from sqlalchemy.orm.util import AliasedClass

import service.http.app  # noqa: F401 - imports every module a server imports before serving
from service.operations import completion_read
from service.storage.aliases import shared_alias
from service.storage.models import Project


def lookup_complete(alias: object) -> bool:
    """Every column of the alias is in its lookup index (SQLAlchemy's private `_proxy_index`), the
    state shared_alias leaves it in: no thread will fill it later."""
    collection = inspect(alias).selectable.c
    return all(column in collection._proxy_index for column in collection)


def test_a_half_filled_lookup_makes_sqlalchemy_read_the_wrong_table():
    """What a second thread meets while the first fills the lookup: SQLAlchemy takes the half-filled
    index for complete and falls back to the unaliased column. (Should a release of SQLAlchemy
    fill it atomically, this test fails and service.storage.aliases can go.)"""
    seen = aliased(Project, name="seen")
    collection = inspect(seen).selectable.c
    first = next(iter(collection))
    collection._proxy_index[first].add(object())  # the first thread's first entry, and no more
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expression = seen.audit_seq.__clause_element__()
    assert any(issubclass(w.category, SAWarning) and "audit_seq" in str(w.message) for w in caught)
    assert expression.table is Project.__table__  # projects.audit_seq, not seen.audit_seq


def test_a_shared_alias_is_complete_when_made():
    alias = shared_alias(Project, "seen_again")
    assert lookup_complete(alias)
    assert not lookup_complete(aliased(Project, name="plain"))
    assert alias.audit_seq.__clause_element__().table is inspect(alias).selectable


def _module_level_aliases() -> list[tuple[str, str, object]]:
    return [(module_name, attr, value) for module_name, module in list(sys.modules.items())
            if module_name.startswith("service.") and module is not None
            for attr, value in list(vars(module).items()) if isinstance(value, AliasedClass)]


def test_every_module_level_alias_of_the_service_is_complete_at_import():
    aliases = _module_level_aliases()
    assert {(m, a) for m, a, _ in aliases} >= {("service.operations.completion_read", "_SEEN"),
                                               ("service.operations.tasks", "_ITEM_UNIT")}
    incomplete = [f"{m}.{a}" for m, a, alias in aliases if not lookup_complete(alias)]
    assert incomplete == [], "make these with service.storage.aliases.shared_alias"


@pytest.mark.parametrize("use_postgresql", [True, False])
def test_the_completion_read_is_built_at_import_for_both_databases(use_postgresql):
    assert set(completion_read._LOADERS) == {False, True}
    dialect = postgresql.dialect() if use_postgresql else sqlite.dialect()
    sql = str(completion_read._LOADERS[use_postgresql].statement.compile(dialect=dialect))
    if use_postgresql:
        # The snapshot's sequence, from the alias; the locked row's, from the outer projects.
        assert "(SELECT seen.audit_seq \nFROM projects AS seen \nWHERE seen.id = projects.id)" in sql
        assert "FOR UPDATE OF projects" in sql
    assert "LEFT OUTER JOIN work_items AS open_items ON open_items.project_id = work_items.project_id" in sql

