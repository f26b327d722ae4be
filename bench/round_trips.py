"""Benchmark (not a test, but noise-free): database round trips per completion, by task, on the
full lifecycle (bench/engine_throughput.py's setup() and lifecycle driver).

A round trip is one cursor execution (SELECT, INSERT, UPDATE, DELETE — an executemany batch counts
as one per page it sends) plus every BEGIN, COMMIT and ROLLBACK the engine issues; the pool's
pre-ping is counted as well when it runs. Only statements issued inside projects.declare /
tasks.complete / annual_list.approve are counted, not the harness finding the next task.

    python bench/round_trips.py --db postgresql --projects 4 [--statements]
    python bench/round_trips.py --db sqlite"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engine_throughput import OPERATOR, approve_list, setup  # noqa: E402
from scratch import scratch_db, write_result  # noqa: E402

from service.operations import organisation, tasks  # noqa: E402
from service.operations.context import Govflow  # noqa: E402
from service.scenario import Driver, worker  # noqa: E402


class Counter:
    """Counts round trips on an engine while `active` (per thread: the harness is single-threaded)."""

    def __init__(self, ctx: Govflow) -> None:
        self.active = False
        self.statements: list[str] = []
        self._local = threading.local()
        engine = ctx.db.engine
        event.listen(engine, "before_cursor_execute", self._cursor)
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)
        # The pool's pre-ping runs on the raw DBAPI connection, outside the events above: counted
        # apart (it is a real round trip per checkout, but not part of the transaction).
        self.pings = 0
        ping = engine.dialect.do_ping

        def counted_ping(dbapi_connection: Any) -> bool:
            if self.active:
                self.pings += 1
            return ping(dbapi_connection)

        engine.dialect.do_ping = counted_ping  # type: ignore[method-assign]

    def _note(self, text: str) -> None:
        if self.active:
            self.statements.append(text)

    def _cursor(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("BEGIN"):
            return
        self._note(" ".join(statement.split())[:160] + (" [executemany]" if executemany else ""))

    def _begin(self, conn: Any) -> None:
        # psycopg sends BEGIN itself before the first statement (its own round trip); SQLite's
        # BEGIN IMMEDIATE comes from a begin listener (service.storage.db) through the cursor and
        # is skipped there, so each database counts its BEGIN once, here.
        self._note("BEGIN")

    def _commit(self, conn: Any) -> None:
        self._note("COMMIT")

    def _rollback(self, conn: Any) -> None:
        self._note("ROLLBACK")

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        start = len(self.statements)
        self.active = True
        out: list[str] = []
        try:
            yield out
        finally:
            self.active = False
            out.extend(self.statements[start:])


def counted_lifecycle(ctx: Govflow, n_projects: int, year: int = 2027) -> dict[str, Any]:
    """The lifecycle of engine_throughput, with the statements of each completion by task name."""
    counter = Counter(ctx)
    driver = Driver(ctx)
    organisation.set_window(ctx, year, dt.date(2000, 1, 1), dt.date(2100, 1, 1), OPERATOR)
    by_task: dict[str, list[int]] = collections.defaultdict(list)
    samples: dict[str, list[str]] = {}

    def record(name: str, fn: Callable[[], Any]) -> Any:
        with counter.counting() as stmts:
            result = fn()
        by_task[name].append(len(stmts))
        samples.setdefault(name, stmts)
        return result

    def run(pid: int) -> None:
        while True:
            items = driver.open_items(pid)
            if not items:
                return
            item = items[0]
            data = driver.answer(item.form)
            actor = worker(item.unit.name)
            record(item.task_name, lambda i=item.id, d=data, a=actor: tasks.complete(ctx, i, d, a))

    ids = []
    for i in range(n_projects):
        members = ["市民政局"] if i % 2 else []
        pid = record("declare", lambda m=members: driver.declare("市教育局", budget_year=year,
                                                                  participants=m).project_id)
        run(pid)
        ids.append(pid)
    record("annual_list.approve", lambda: approve_list(ctx, year, ids))
    for pid in ids:
        run(pid)
    completions = {k: v for k, v in by_task.items() if k not in ("declare", "annual_list.approve")}
    n = sum(len(v) for v in completions.values())
    total = sum(sum(v) for v in completions.values())
    return {"by_task": {k: round(sum(v) / len(v), 2) for k, v in sorted(by_task.items())},
            "max_per_completion": max(max(v) for v in completions.values()),
            "mean_per_completion": round(total / n, 2), "completions": n,
            # Not in the counts above: the pool's pre-ping (SELECT 1 in autocommit) per checkout.
            "pre_pings_per_call": round(counter.pings / sum(len(v) for v in by_task.values()), 2),
            "samples": samples}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--projects", type=int, default=4)
    ap.add_argument("--statements", action="store_true", help="print the statements of one completion per task")
    args = ap.parse_args()
    url, drop = scratch_db(args.db)
    try:
        ctx = setup(url, 2000)
        out = counted_lifecycle(ctx, args.projects)
        ctx.close()
    finally:
        drop()
    samples = out.pop("samples")
    if args.statements:
        for name, stmts in samples.items():
            print(f"-- {name} ({len(stmts)})")
            for s in stmts:
                print("   ", s)
    out["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    write_result(f"round_trips_{args.db}", {"db": args.db, **out})


if __name__ == "__main__":
    main()
