"""service.storage.one_statement on both databases: what the completion's write leaves behind must
be what a flush leaves — rows, versions, the session's objects — and every statement it sends is
seen by the engine's events (docs/performance.md, sixth pass)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm.exc import StaleDataError

from service.operations import audit
from service.storage import locks, one_statement
from service.storage.models import AuditRecord, WorkItem


def test_a_row_changed_behind_the_writer_fails_the_write_and_nothing_is_kept(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027).project_id
    (item,) = driver.open_items(pid)
    with pytest.raises(StaleDataError):
        with ctx.db.session() as s:
            project = locks.project(s, pid)
            row = s.get(WorkItem, item.id)
            row.assignee = "someone"
            audit.append(s, project, actor="operator", action="probe", work_item_id=item.id, detail={})
            # Behind the objects' back (not synchronised to them): the version the write expects is gone.
            s.execute(update(WorkItem).where(WorkItem.id == item.id).values(row_version=WorkItem.row_version + 1)
                      .execution_options(synchronize_session=False))
            one_statement.write(s)
    with ctx.db.session() as s:
        assert s.get(WorkItem, item.id).assignee is None
        assert s.scalar(select(AuditRecord).where(AuditRecord.action == "probe")) is None


def test_the_write_stores_what_a_flush_stores_and_leaves_the_session_clean(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027).project_id
    (item,) = driver.open_items(pid)
    due = dt.datetime(2027, 3, 1, 9, 30, 15, 123456)
    statements: list[str] = []
    event.listen(ctx.db.engine, "before_cursor_execute", lambda c, cur, sql, *a: statements.append(sql))
    with ctx.db.session() as s:
        project = locks.project(s, pid)
        row = s.get(WorkItem, item.id)
        version = row.row_version
        row.data = {"意见": "同意", "n": [1, 2.5]}
        row.due_at = due
        record = audit.append(s, project, actor="operator", action="probe", work_item_id=item.id,
                              detail={"a": "中文", "b": None})
        statements.clear()
        one_statement.write(s)
        written = list(statements)
        # The updated rows stay in the session, clean, with their new version; the new one left it.
        assert row in s and project in s and not s.dirty and not s.new
        assert row.row_version == version + 1 and not inspect(row).modified
        assert record not in s
        # Changed again after the write: the commit flushes it (checked against the new version).
        row.assignee = "after-the-write"
    assert any(sql.lstrip().upper().startswith("INSERT INTO AUDIT_RECORDS") or "audit_records" in sql
               for sql in written), written
    with ctx.db.session() as s:
        stored = s.get(WorkItem, item.id)
        assert (stored.data, stored.due_at, stored.assignee) == ({"意见": "同意", "n": [1, 2.5]}, due,
                                                                 "after-the-write")
        assert stored.row_version == version + 2
        probe = s.scalar(select(AuditRecord).where(AuditRecord.action == "probe"))
        assert probe.detail == {"a": "中文", "b": None} and probe.at is not None
        assert audit.verify(s, pid) is None
