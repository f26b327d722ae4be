"""恢复 racing a completion of the same project, with real threads: the project row serialises them
(service.storage.locks), so the completion either ran before the resumption (refused, 第十四条) or
after it (accepted), never half of each; on PostgreSQL both orders are forced with a lock holder."""
from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import create_engine, text

from service.domain.errors import RuleViolation
from service.operations import audit, suspension, tasks
from service.scenario import worker
from service.storage.models import AuditRecord, Project, WorkItem, WorkItemClock
from tests.conftest import POSTGRESQL_ONLY
from tests.operations.test_concurrency import run_at_once
from tests.operations.test_supervision_measures import BIGDATA_REVIEWER, suspended


def state(ctx, pid: int, item_id: int) -> tuple[str | None, str, bool]:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        project, item, clock = s.get(Project, pid), s.get(WorkItem, item_id), s.get(WorkItemClock, item_id)
        assert audit.verify(s, pid) is None
        return project.suspension, item.state, clock.paused_at is not None


def complete_call(ctx, driver, item_id: int):  # type: ignore[no-untyped-def]
    return lambda: tasks.complete(ctx, item_id, driver.answer("construction_progress"), worker("市教育局"))


def test_resume_and_completion_at_once_are_consistent(ctx, driver):
    pid, item_id = suspended(driver, ctx)
    out = run_at_once([lambda: suspension.resume(ctx, pid, BIGDATA_REVIEWER), complete_call(ctx, driver, item_id)])
    assert out[0][0] == "ok", out
    kind, result = out[1]
    after = state(ctx, pid, item_id)
    if kind == "ok":  # resumed first: the completion went through on a running project
        assert after == (None, "completed", False)
    else:  # the completion came first and was refused as a whole
        assert isinstance(result, RuleViolation) and result.article == "第十四条", out
        assert after == (None, "open", False)


class _RowHolder:
    """Holds the project row lock on PostgreSQL so the callers queue in a known order."""

    def __init__(self, url: str, pid: int) -> None:
        self.engine = create_engine(url)
        self.conn = self.engine.connect()
        self.tx = self.conn.begin()
        self.conn.execute(text("SELECT id FROM projects WHERE id = :id FOR UPDATE"), {"id": pid})
        # Autocommit: pg_stat_activity is a snapshot per transaction.
        self.watch = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def waiting(self, n: int) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            count = self.watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                            " AND wait_event_type = 'Lock'")).scalar()
            if count >= n:
                return
            time.sleep(0.01)
        rows = self.watch.execute(text("SELECT state, wait_event_type, wait_event, left(query, 80)"
                                       " FROM pg_stat_activity WHERE datname = current_database()")).all()
        raise AssertionError(f"fewer than {n} writers queued on the project row: {rows}")

    def release(self) -> None:
        self.tx.rollback()
        self.conn.close()
        self.watch.close()
        self.engine.dispose()


def queued(ctx, pid: int, calls: list[Any]) -> list[tuple[str, Any]]:  # type: ignore[no-untyped-def]
    holder = _RowHolder(str(ctx.db.engine.url.render_as_string(hide_password=False)), pid)
    out: list[tuple[str, Any]] = [("error", None)] * len(calls)

    def run(i: int, call: Any) -> None:
        try:
            out[i] = ("ok", call())
        except Exception as exc:  # noqa: BLE001 - the test reports it
            out[i] = ("error", exc)

    threads = []
    try:
        for i, call in enumerate(calls):
            t = threading.Thread(target=run, args=(i, call))
            t.start()
            threads.append(t)
            holder.waiting(i + 1)
    finally:
        holder.release()
    for t in threads:
        t.join(120)
    return out


@POSTGRESQL_ONLY  # row-lock queue order is PostgreSQL's (SQLite serialises whole transactions)
def test_both_orders_on_postgresql(ctx, driver):
    pid, item_id = suspended(driver, ctx)
    # Completion queued first: refused as a whole, then the resumption runs.
    out = queued(ctx, pid, [complete_call(ctx, driver, item_id), lambda: suspension.resume(ctx, pid, BIGDATA_REVIEWER)])
    assert out[0][0] == "error" and isinstance(out[0][1], RuleViolation), out
    assert out[1][0] == "ok", out
    assert state(ctx, pid, item_id) == (None, "open", False)
    # Suspended again, then the resumption queued first: the completion sees a running project.
    driver.complete(pid, "construction", construction_action="报告严重逾期或重大损失")
    driver.complete(pid, "delay_handling", delay_decision="暂停建设", opinion="再次严重逾期")
    again = driver.item(pid, "construction").id
    out = queued(ctx, pid, [lambda: suspension.resume(ctx, pid, BIGDATA_REVIEWER), complete_call(ctx, driver, again)])
    assert [k for k, _ in out] == ["ok", "ok"], out
    assert state(ctx, pid, again) == (None, "completed", False)
    with ctx.db.session() as s:
        trail = [(r.action, r.work_item_id) for r in s.query(AuditRecord).filter_by(project_id=pid)
                 .order_by(AuditRecord.seq)]
    assert trail.index(("project_resumed", None)) < trail.index(("task_completed", again))
