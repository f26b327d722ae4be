"""Benchmark (not a test): the four departments of 方案评审 submitting their parallel reviews at the
same moment, over HTTP, under gunicorn (4 workers x 8 threads), on PostgreSQL or SQLite.

    python bench/parallel_reviews.py --db postgresql --projects 20
    python bench/parallel_reviews.py --db sqlite

Whole work: every project is declared and driven to 方案评审 in-process (not timed); then, per
round, the 4 review tasks of each of `--batch` projects are POSTed at once (4 x batch requests
through one barrier). Counts 200 / 409 / 5xx and times each request; prints the machine's load."""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine_throughput import setup  # noqa: E402
from http_latency import pct, start_gunicorn  # noqa: E402
from scratch import scratch_db, write_result  # noqa: E402

from service.operations import identity  # noqa: E402
from service.scenario import Driver  # noqa: E402

REVIEWERS = {"review_bigdata": "bigdata", "review_cac": "cac", "review_police": "police", "review_crypto": "crypto"}


def post_at_once(port: int, requests: list[tuple[str, int, bytes]]) -> list[tuple[int, float]]:
    barrier = threading.Barrier(len(requests))
    out: list[tuple[int, float]] = [(0, 0.0)] * len(requests)

    def run(i: int, token: str, task_id: int, body: bytes) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        barrier.wait()
        t0 = time.perf_counter()
        conn.request("POST", f"/api/tasks/{task_id}/complete", body=body,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        out[i] = (resp.status, time.perf_counter() - t0)
        conn.close()

    threads = [threading.Thread(target=run, args=(i, *r)) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--projects", type=int, default=20)
    ap.add_argument("--batch", type=int, default=4, help="projects whose reviews are sent at the same moment")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--port", type=int, default=8973)
    args = ap.parse_args()
    url, drop = scratch_db(args.db)
    server = None
    try:
        ctx = setup(url, cache=2000)  # migrated, units, processes/ deployed, 2027 window open
        identity.seed_demo_users(ctx)
        tokens = {name: identity.issue_token(ctx, identity.authenticate(ctx, name, identity.DEMO_PASSWORD).id)[0]
                  for name in REVIEWERS.values()}
        driver = Driver(ctx)
        pids = []
        for _ in range(args.projects):
            pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
            driver.run(pid, until="review_bigdata")
            pids.append(pid)
        server = start_gunicorn(url, args.port, args.workers, args.threads)
        load_before = os.getloadavg()
        statuses: Counter[int] = Counter()
        latencies: list[float] = []
        t0 = time.perf_counter()
        for i in range(0, len(pids), args.batch):
            batch = [(tokens[REVIEWERS[w.task_name]], w.id, json.dumps({"data": driver.answer(w.form)}).encode())
                     for pid in pids[i:i + args.batch] for w in driver.open_items(pid)]
            for status, seconds in post_at_once(args.port, batch):
                statuses[status] += 1
                latencies.append(seconds)
        wall = time.perf_counter() - t0
        joined = sum(1 for pid in pids if [w.task_name for w in driver.open_items(pid)] == ["review_consolidate"])
        result = {
            "db": args.db, "gunicorn": f"{args.workers} workers x {args.threads} threads",
            "requests": len(latencies), "statuses": dict(statuses),
            "false_conflict_rate": round(statuses.get(409, 0) / max(1, len(latencies)), 3),
            "projects_joined": f"{joined}/{len(pids)}",
            "p50_ms": round(pct(latencies, 50), 1), "p95_ms": round(pct(latencies, 95), 1),
            "mean_ms": round(statistics.mean(latencies) * 1000, 1),
            "accepted_per_s": round(statuses.get(200, 0) / wall, 1),
            "loadavg_before": load_before, "loadavg_after": os.getloadavg(), "cpus": os.cpu_count(),
        }
        write_result(f"parallel_reviews_{args.db}", result)
        ctx.close()
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        drop()


if __name__ == "__main__":
    main()
