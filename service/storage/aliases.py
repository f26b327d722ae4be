"""Aliases of mapped classes that module-level statements share between request threads.

SQLAlchemy fills an alias's column lookup index (`ColumnCollection._init_proxy_index`) lazily, the
first time a statement adapts a column to the alias, and it fills it in place: a second thread that
arrives meanwhile sees a non-empty index, takes it as complete, misses the column it wants and
falls back to the unaliased one, with only an SAWarning ("Did not locate an expression in
selectable …"). The statement it builds then reads the wrong table. In the completion's read that
turned `seen.audit_seq` (the snapshot's value, service.operations.completion_read) into
`projects.audit_seq` (the locked row's), so a read that waited for the project lock was never read
again, and gunicorn processes whose first requests raced answered every parallel review after the
first with a false 409 for the rest of their lives (docs/concurrency.md, "Statements shared by
threads"). SQLAlchemy 2.1.9, the newest release, still fills the index this way.

`shared_alias` fills the index while the module is imported, which happens in one thread before a
server serves anything; afterwards the alias is only read."""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import aliased

_T = TypeVar("_T")


def shared_alias(entity: type[_T], name: str) -> Any:
    """`aliased(entity, name=name)`, with its column lookup complete before any thread uses it."""
    alias = aliased(entity, name=name)
    selectable = inspect(alias).selectable
    # Any lookup builds the whole index; the table's first column is always there.
    selectable.corresponding_column(next(iter(inspect(entity).local_table.c)))
    return alias

