"""The cheap completion path (docs/performance.md): what one completion costs in round trips on
PostgreSQL (a count, not a timing), and the guarantees the folded read and the one-statement write
must keep — fresh rows after a lock wait, version checks, the audit chain."""
from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event, func, select, text, update

from service.operations import audit, completion_read
from service.scenario import worker
from service.storage import locks, one_statement
from service.storage.models import AuditRecord, Project, WorkItem
from tests.conftest import POSTGRESQL_ONLY

# Round trips of one task completion on PostgreSQL: BEGIN, the locked read, the one write, COMMIT.
PLAIN_COMPLETION = 4
# Steps that do more by design: a fan-out takes extra ids (4 reviews), cc_units copies (抄送), the
# cross-field and opinion rules read earlier forms, 预算评审 reads the year's window. None may exceed this.
ANY_COMPLETION = 9
# A declaration: BEGIN, the declaring unit, its open 整改 (第二十九条), the year's window, the
# participants, the process version, the ids (one statement), the one write, COMMIT.
DECLARATION = 9


def _counting(ctx: Any) -> list[str]:
    seen: list[str] = []

    def cursor(conn: Any, cur: Any, statement: str, *args: Any) -> None:
        if not statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(ctx.db.engine, "before_cursor_execute", cursor)
    event.listen(ctx.db.engine, "begin", lambda conn: seen.append("BEGIN"))
    event.listen(ctx.db.engine, "commit", lambda conn: seen.append("COMMIT"))
    return seen


pytestmark = POSTGRESQL_ONLY  # round trips are counted on PostgreSQL


@pytest.fixture
def pg_ctx(ctx):  # type: ignore[no-untyped-def]
    return ctx


def test_a_completion_costs_at_most_four_round_trips_on_postgresql(pg_ctx, driver):
    from service.operations import tasks

    ctx = pg_ctx
    driver.run(driver.declare("市教育局", budget_year=2027).project_id)  # per-process caches (units, spec)
    seen = _counting(ctx)
    by_task: dict[str, list[int]] = defaultdict(list)
    pid = driver.declare("市教育局", budget_year=2027).project_id
    for _ in range(60):
        items = driver.open_items(pid)
        if not items:
            break
        item = items[0]
        data = driver.answer(item.form)
        start = len(seen)
        tasks.complete(ctx, item.id, data, worker(item.unit.name))
        by_task[item.task_name].append(len(seen) - start)
    assert "review_police" in by_task  # the walk reached 方案评审 and beyond (stops at the annual list)
    plain = {name: counts for name, counts in by_task.items()
             if name in ("preliminary_review_finance", "review_bigdata", "review_cac", "review_police",
                         "review_crypto")}
    assert plain and all(c <= PLAIN_COMPLETION for counts in plain.values() for c in counts), dict(by_task)
    assert all(c <= ANY_COMPLETION for counts in by_task.values() for c in counts), dict(by_task)
    with ctx.db.session() as s:
        assert audit.verify(s, pid) is None


def test_a_declaration_takes_its_ids_first_and_writes_once(pg_ctx, driver):
    """projects.declare reserves the project's, the instance's and the tasks' ids in one statement
    and writes the project, its instance, the 填报 and 预审 tasks and their audit records in one
    more (25 statements before, each insert flushed to learn its id)."""
    ctx = pg_ctx
    driver.declare("市教育局", budget_year=2027)  # per-process caches (units, spec)
    seen = _counting(ctx)
    declared = driver.declare("市教育局", budget_year=2027, participants=["市民政局"])
    writes = [s for s in seen if s.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE", "WITH D", "WITH I", "WITH U")]
    assert len(seen) <= DECLARATION and len(writes) == 1, seen
    with ctx.db.session() as s:
        project = s.get(Project, declared.project_id)
        assert project.code == f"DY2027-{project.id:05d}" and project.participants
        assert project.stage == declared.stage and project.status == "active"
        assert audit.verify(s, project.id) is None
        assert [a.action for a in s.scalars(select(AuditRecord).where(AuditRecord.project_id == project.id)
                                            .order_by(AuditRecord.seq))][:3] == \
            ["project_declared", "task_opened", "task_completed"]
    # The instance's revision as written is the one the workflow cache was given: the next step runs.
    assert driver.run(declared.project_id) > 0


def test_the_automatic_copies_of_a_step_ride_in_its_one_write(pg_ctx, driver):
    """验收报告备案 declares cc_units (市财政局, 市审计局): its copies take their ids first and are written
    with the completion's other rows, not flushed on their own in the middle of it."""
    from service.domain.access import Actor
    from service.operations import annual_list, carbon_copy
    from service.storage.models import CarbonCopy, Notification

    ctx = pg_ctx
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid)
    annual_list.compile_cosign_approve(ctx, 2027, {pid: 400.0}, Actor("gov", "市政府", frozenset({"leader"})))
    driver.run(pid, until="acceptance_report_filing")
    seen = _counting(ctx)
    driver.complete(pid, "acceptance_report_filing")
    writes = [s for s in seen if s.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE", "WITH D", "WITH I", "WITH U")]
    assert len(writes) == 1 and len(seen) <= ANY_COMPLETION, seen
    with ctx.db.session() as s:
        copies = list(s.scalars(select(CarbonCopy).where(CarbonCopy.project_id == pid).order_by(CarbonCopy.id)))
        assert [c.to_unit.name for c in copies] == ["市财政局", "市审计局"]
        record = s.scalar(select(AuditRecord).where(AuditRecord.project_id == pid,
                                                    AuditRecord.action == "carbon_copied"))
        assert record.detail["carbon_copy_ids"] == [c.id for c in copies]
        levels = set(s.scalars(select(Notification.level).where(Notification.project_id == pid,
                                                                Notification.kind == carbon_copy.KIND)))
        assert levels == {c.id for c in copies}
        assert audit.verify(s, pid) is None


def test_a_read_that_waited_for_the_lock_is_read_again(pg_ctx, driver):
    """A writer holds the project and changes the task while the completion's read waits: the read
    must return what that writer committed, not its own starting snapshot."""
    ctx = pg_ctx
    pid = driver.declare("市教育局", budget_year=2027).project_id
    (item,) = driver.open_items(pid)
    holder = ctx.db.sessions()
    holder.begin()
    project = locks.project(holder, pid)
    holder.execute(update(WorkItem).where(WorkItem.id == item.id).values(assignee="周敏"))
    audit.append(holder, project, actor="周敏", action="task_claimed", work_item_id=item.id, detail={})
    holder.flush()
    out: dict[str, Any] = {}

    def read() -> None:
        with ctx.db.session() as s:
            got = completion_read.load(s, item.id)
            out.update(assignee=got.item.assignee, seq=got.project.audit_seq, reread=got.reread)

    reader = threading.Thread(target=read)
    reader.start()
    with ctx.db.engine.connect() as probe:  # wait until the reader really waits for the row lock
        for _ in range(2000):
            waiting = probe.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                         "AND datname = current_database()")).scalar()
            if waiting:
                break
            probe.rollback()
            threading.Event().wait(0.005)
        else:
            raise AssertionError("the reader never waited for the project's row lock")
    seq = project.audit_seq
    holder.commit()
    holder.close()
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert out == {"assignee": "周敏", "seq": seq, "reread": True}


def test_the_one_statement_write_checks_versions(pg_ctx, driver):
    """A work item changed behind the writer's back (its row_version moved) fails the write, as the
    unit of work's flush would, and nothing of the statement is kept."""
    from sqlalchemy.orm.exc import StaleDataError

    ctx = pg_ctx
    pid = driver.declare("市教育局", budget_year=2027).project_id
    (item,) = driver.open_items(pid)
    with pytest.raises(StaleDataError):
        with ctx.db.session() as s:
            row = s.get(WorkItem, item.id)
            row.assignee = "someone"
            s.add(AuditRecord(project_id=pid, seq=999, actor="x", action="probe", detail={}, algorithm="sha256",
                              prev_hash="", hash="h"))
            with ctx.db.engine.begin() as other:
                other.execute(update(WorkItem).where(WorkItem.id == item.id)
                              .values(row_version=WorkItem.row_version + 1))
            one_statement.write(s)
    with ctx.db.session() as s:
        assert s.get(WorkItem, item.id).assignee is None
        assert s.scalar(select(AuditRecord).where(AuditRecord.action == "probe")) is None


def test_the_one_statement_write_stores_what_a_flush_stores(pg_ctx, driver):
    """Defaults, JSON, dates and the version counter come out as the ORM writes them."""
    ctx = pg_ctx
    pid = driver.declare("市教育局", budget_year=2027).project_id
    (item,) = driver.open_items(pid)
    with ctx.db.session() as s:
        project = locks.project(s, pid)
        row = s.get(WorkItem, item.id)
        version = row.row_version
        row.data = {"意见": "同意", "n": [1, 2.5]}
        audit.append(s, project, actor="operator", action="probe", work_item_id=item.id,
                     detail={"a": "中文", "b": None})
        one_statement.write(s)
    with ctx.db.session() as s:
        row = s.get(WorkItem, item.id)
        assert (row.data, row.row_version) == ({"意见": "同意", "n": [1, 2.5]}, version + 1)
        record = s.scalar(select(AuditRecord).where(AuditRecord.action == "probe"))
        assert record.detail == {"a": "中文", "b": None} and record.at is not None
        assert audit.verify(s, pid) is None


def test_the_engine_state_is_stored_with_lz4(pg_ctx, driver):  # type: ignore[no-untyped-def]
    """Migration 0019: pglz cost about half of the write's server time for the 14–22 KB state."""
    pid = driver.declare("市教育局", budget_year=2027).project_id
    driver.run(pid, until="review_consolidate")
    with pg_ctx.db.engine.connect() as conn:
        method = conn.execute(text("SELECT attcompression FROM pg_attribute WHERE attrelid = "
                                   "'process_instances'::regclass AND attname = 'state'")).scalar_one()
        stored = conn.execute(text("SELECT pg_column_compression(state), octet_length(state), "
                                   "pg_column_size(state) FROM process_instances WHERE project_id = :p"),
                              {"p": pid}).one()
    assert method == "l"
    assert stored[0] == "lz4" and stored[2] < stored[1] / 2  # still compressed well


def _version_moved(ctx, item_id: int, project_id: int) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.engine.begin() as other:
        other.execute(update(WorkItem).where(WorkItem.id == item_id).values(row_version=WorkItem.row_version + 1))


def _audit_seq_taken(ctx, item_id: int, project_id: int) -> None:  # type: ignore[no-untyped-def]
    # The next audit seq, written without the project lock and without moving the project's
    # counter. Done before the completion starts: once it holds the project row, this insert's
    # foreign-key check would wait for it.
    with ctx.db.session() as other:
        seq = other.get(Project, project_id).audit_seq + 1
        other.add(AuditRecord(project_id=project_id, seq=seq, actor="x", action="probe", detail={},
                              algorithm="sha256", prev_hash="", hash="h"))


@pytest.mark.parametrize(("interfere", "during", "cause", "logged"), [
    (_version_moved, True, "stale_row", "StaleDataError u"),
    (_audit_seq_taken, False, "constraint", "UniqueViolation 23505 constraint=audit_records_project_id_seq_key"),
])
def test_a_completion_that_loses_a_race_outside_the_lock_says_so_and_writes_nothing(
        pg_ctx, driver, caplog, interfere, during, cause, logged):  # type: ignore[no-untyped-def]
    """Something changes the project's rows without the project lock between the completion's read
    and its write (a work item's version moves; another writer takes the next audit seq): the
    completion fails with the 409, a log line naming the refused row group or constraint (no row
    values) and a count in /metrics; the task and the project stay as they were."""
    from service.domain.errors import Conflict
    from service.operations import tasks

    ctx = pg_ctx
    pid = driver.declare("市教育局", budget_year=2027).project_id
    (item,) = driver.open_items(pid)
    completed = (select(func.count()).select_from(AuditRecord)
                 .where(AuditRecord.project_id == pid, AuditRecord.action == "task_completed"))
    with ctx.db.session() as s:
        before = (s.get(Project, pid).audit_seq, s.scalar(completed))
    conflicts = REGISTRY.get_sample_value("govflow_completion_conflicts_total", {"cause": cause})
    done: list[bool] = []
    if not during:
        interfere(ctx, item.id, pid)
        done.append(True)

    def before_the_write(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("WITH u") and not done:
            done.append(True)
            interfere(ctx, item.id, pid)  # a work item row: not locked by the completion

    event.listen(ctx.db.engine, "before_cursor_execute", before_the_write)
    try:
        with caplog.at_level("WARNING", logger="govflow.tasks"), pytest.raises(Conflict, match="同时办理"):
            tasks.complete(ctx, item.id, driver.answer(item.form), worker(item.unit.name))
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", before_the_write)
    assert done
    lines = [r.getMessage() for r in caplog.records if r.name == "govflow.tasks"]
    assert any(f"work item {item.id} refused as concurrent: {logged}" in m for m in lines), lines
    assert not any("市教育局" in m or item.title in m for m in lines)
    assert REGISTRY.get_sample_value("govflow_completion_conflicts_total", {"cause": cause}) == conflicts + 1
    with ctx.db.session() as s:
        assert (s.get(Project, pid).audit_seq, s.scalar(completed)) == before
        assert s.get(WorkItem, item.id).state == "open"
