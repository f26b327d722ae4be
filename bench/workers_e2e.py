"""Benchmark (not a test): timer lateness and e-mail throughput through real Celery on Redis.

    python bench/workers_e2e.py --timers 500 --mails 1000

Starts a private redis-server (own port), an aiosmtpd listener, `celery worker` (threads pool) and
`celery beat` against a scratch PostgreSQL database; everything is stopped and dropped afterwards.

- timer lateness: instances wait on a timeDate spread over a few seconds; lateness = the start of
  the firing transaction (instance.completed_at) minus the timer's time;
- e-mail: N due reminders → N SMTP messages; rate from the first to the last message received."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from scratch import scratch_db, write_result  # noqa: E402

from service.operations import reminders  # noqa: E402
from service.scenario import Driver  # noqa: E402
from service.storage.migrate import upgrade  # noqa: E402
from service.storage.models import ProcessInstance, WorkItemClock  # noqa: E402
from tests.conftest import make_ctx  # noqa: E402
from tests.workers.conftest import (  # noqa: E402
    Celery,
    RedisServer,
    SmtpSink,
    deploy_timer_process,
    fixed_now_env,
    free_port,
    start_timer_instances,
    wait_for,
)
from tests.workers.test_workers import add_due_items, bj  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--timers", type=int, default=500)
    ap.add_argument("--mails", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    url, drop = scratch_db("postgresql")
    tmp = Path(tempfile.mkdtemp())
    redis = RedisServer(tmp)
    sink = SmtpSink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    procs = None
    out: dict[str, object] = {}
    try:
        upgrade(url)
        ctx = make_ctx(url)
        redis.start()
        controller.start()
        env = dict(os.environ)
        env.update({"GOVFLOW_DATABASE_URL": url, "GOVFLOW_BROKER_URL": redis.url, "GOVFLOW_SMTP_HOST": "127.0.0.1",
                    "GOVFLOW_SMTP_PORT": str(smtp_port), "GOVFLOW_TICK_SECONDS": "0.5", "GOVFLOW_WEBHOOK_URL": ""})
        fixed_now_env(env, bj("2026-04-29"))
        procs = Celery(env, tmp)
        procs.start_worker(args.concurrency)
        procs.start_beat()
        time.sleep(3)

        version_id = deploy_timer_process(ctx)
        n = args.timers
        base = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=max(8, n * 0.03))
        fire = [base + dt.timedelta(seconds=i * 5.0 / n) for i in range(n)]
        ids = start_timer_instances(ctx, version_id, [{"fire_at": f.isoformat(), "submitted_on": ""} for f in fire])
        assert base > dt.datetime.now(dt.UTC)

        def done() -> bool:
            with ctx.db.session() as s:
                return s.scalar(select(func.count()).where(ProcessInstance.id.in_(ids),
                                                           ProcessInstance.status == "completed")) == n

        assert wait_for(done, 120)
        with ctx.db.session() as s:
            completed = dict(s.execute(select(ProcessInstance.id, ProcessInstance.completed_at)
                                       .where(ProcessInstance.id.in_(ids))).all())
        late = sorted((completed[i] - f.replace(tzinfo=None)).total_seconds() for i, f in zip(ids, fire, strict=True))
        out["timers"] = {"n": n, "p50_s": round(statistics.median(late), 4), "p99_s": round(late[int(n * 0.99) - 1], 4),
                         "max_s": round(late[-1], 4), "min_s": round(late[0], 4)}

        pid = Driver(ctx).declare("市教育局").project_id
        with ctx.db.session() as s:
            s.execute(update(WorkItemClock).values(fire_at=None))
        reminders.set_contact(ctx, "市教育局", "assignee", "office@edu.example")
        add_due_items(ctx, pid, args.mails)
        assert wait_for(lambda: len(sink.ids()) >= args.mails, 300)
        times = sorted(m["at"] for m in sink.messages) if sink.messages and "at" in sink.messages[0] else []
        out["mail"] = {"n": args.mails, "distinct": len(sink.ids()), "concurrency": args.concurrency}
        if times:
            out["mail"]["per_second"] = round((len(times) - 1) / (times[-1] - times[0]), 1)  # type: ignore[index]
        write_result("workers_e2e_postgresql", out)
        ctx.close()
    finally:
        if procs is not None:
            procs.stop()
        controller.stop()
        redis.stop()
        drop()


if __name__ == "__main__":
    main()
