"""Benchmark (not a test): one deadline tick with N open tasks of which D are due.

    python bench/deadline_tick.py --open 1000000 --due 1000

PostgreSQL only: a scratch database on 127.0.0.1:5432 is created, filled directly with SQL
(generate_series), and dropped afterwards. The tick is the full service call: read the due
clocks through the index, plan each task, write D notifications and D e-mail deliveries, set the
next fire times, commit. Reported: median of --runs ticks (the due rows are reset between runs)."""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import scratch_db, write_result  # noqa: E402

from service.channels.config import ChannelSettings  # noqa: E402
from service.operations import reminders  # noqa: E402
from service.scenario import Driver  # noqa: E402
from service.storage.migrate import upgrade  # noqa: E402
from tests.conftest import make_ctx  # noqa: E402

NOW = dt.datetime(2026, 4, 29, 2, 0)  # 10:00 Beijing on the due day
DUE_FIRE = dt.datetime(2026, 4, 29, 1, 0)  # 09:00 Beijing: the 到期提醒


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--open", type=int, default=1_000_000)
    ap.add_argument("--due", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    url, drop = scratch_db("postgresql")
    try:
        upgrade(url)
        ctx = make_ctx(url)
        pid = Driver(ctx).declare("市教育局").project_id
        reminders.set_contact(ctx, "市教育局", "assignee", "office@edu.example")
        every = max(args.open // args.due, 1)
        t0 = time.perf_counter()
        with ctx.db.engine.begin() as c:
            c.execute(text("UPDATE work_item_clocks SET fire_at = NULL"))
            iid, uid = c.execute(text("SELECT i.id, p.unit_id FROM process_instances i JOIN projects p "
                                      "ON p.id = i.project_id WHERE p.id = :p"), {"p": pid}).one()
            c.execute(text(
                "INSERT INTO work_items (instance_id, project_id, spiff_task_id, task_name, title, stage, lane, "
                "unit_id, form, round, state, created_at, due_date, due_at, due_rule, due_provisional, row_version) "
                "SELECT :iid, :pid, md5(g::text), 'bench_task', '基准任务 ' || g, '项目建设', '建设单位', :uid, "
                "'none', 1, 'open', timestamp '2026-04-20 02:00', date '2026-04-29', "
                "timestamp '2026-04-29 15:59:59', 'bench', false, 1 FROM generate_series(1, :n) g"),
                {"iid": iid, "pid": pid, "uid": uid, "n": args.open})
            c.execute(text(
                "INSERT INTO work_item_clocks (work_item_id, fire_at, paused_days, extended_days, revision, "
                "original_due_date) SELECT id, CASE WHEN id % :every = 0 THEN :due ELSE timestamp '2030-01-01' END, "
                "0, 0, 0, due_date FROM work_items WHERE task_name = 'bench_task'"),
                {"every": every, "due": DUE_FIRE})
        with ctx.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
        load = time.perf_counter() - t0
        with ctx.db.engine.connect() as c:
            due = c.execute(text("SELECT count(*) FROM work_item_clocks WHERE fire_at <= :now"), {"now": NOW}).scalar()
            plan = "\n".join(r[0] for r in c.execute(text(
                "EXPLAIN SELECT * FROM work_item_clocks WHERE fire_at <= :now ORDER BY fire_at LIMIT 5000"),
                {"now": NOW}))
        cfg = ChannelSettings(webhook_url="")
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            if args.profile and _ == args.runs - 1:
                import cProfile
                import pstats
                prof = cProfile.Profile()
                prof.enable()
            result = reminders.tick(ctx, NOW, cfg=cfg)
            if args.profile and _ == args.runs - 1:
                prof.disable()
                pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
            times.append(time.perf_counter() - t)
            assert result.notifications == due, result
            with ctx.db.engine.begin() as c:
                c.execute(text("DELETE FROM deliveries"))
                c.execute(text("DELETE FROM notifications"))
                c.execute(text("UPDATE work_item_clocks SET fire_at = :due WHERE work_item_id % :every = 0 "
                               "AND work_item_id IN (SELECT id FROM work_items WHERE task_name = 'bench_task')"),
                          {"due": DUE_FIRE, "every": every})
        t = time.perf_counter()
        empty = reminders.tick(ctx, dt.datetime(2026, 4, 28), cfg=cfg)
        idle = time.perf_counter() - t
        out = {"open_tasks": args.open, "due": due, "tick_seconds_median": round(statistics.median(times), 4),
               "tick_seconds_all": [round(x, 4) for x in times], "idle_tick_seconds": round(idle, 4),
               "idle_clocks": empty.clocks, "load_seconds": round(load, 1), "index_plan": plan}
        write_result("deadline_tick_postgresql", out)
        ctx.close()
    finally:
        drop()


if __name__ == "__main__":
    main()
