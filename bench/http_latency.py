"""Benchmark (not a test): latency of "complete task" over HTTP under gunicorn, at 1, 8 and 32
concurrent clients, each client on its own keep-alive connection completing distinct tasks.

    python bench/http_latency.py                      # PostgreSQL scratch database, gunicorn
    python bench/http_latency.py --db sqlite --per-client 10

Each client completes `--per-client` tasks (初审（财政意见） of freshly declared projects, opened
in 市财政局's inbox). A scratch PostgreSQL database is created on 127.0.0.1:5432 and dropped
afterwards. Results go to bench/results/http_latency_<db>.json."""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import scratch_db, write_result  # noqa: E402

from service.config import Settings  # noqa: E402
from service.domain.access import Actor  # noqa: E402
from service.operations import identity, organisation, processes  # noqa: E402
from service.operations.context import Govflow  # noqa: E402
from service.scenario import Driver  # noqa: E402
from service.storage.migrate import upgrade  # noqa: E402

OPERATOR = Actor("bench", None, frozenset({"admin", "system"}))
YEAR = dt.date.today().year + 1




def start_gunicorn(url: str, port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    """The production server on `url`, in its own process group (stop it with os.killpg)."""
    env = {**os.environ, "GOVFLOW_DATABASE_URL": url, "GOVFLOW_SECRET_KEY": "bench"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "gthread", "--threads", str(threads),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "service.http.serve:wsgi()"],
        cwd=ROOT, env=env, start_new_session=True)
    wait_ready(port)
    return server


def wait_ready(port: int, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/openapi.json")
            if c.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not come up")


def client(port: int, token: str, items: list[tuple[int, bytes]], out: list[float], errors: list[str],
           start: threading.Barrier) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    start.wait()
    for task_id, body in items:
        t0 = time.perf_counter()
        conn.request("POST", f"/api/tasks/{task_id}/complete", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        out.append(time.perf_counter() - t0)
        if resp.status != 200:
            errors.append(f"{task_id}: {resp.status}")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--per-client", type=int, default=25)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--port", type=int, default=8971)
    args = ap.parse_args()

    url, drop = scratch_db(args.db)
    server = None
    try:
        upgrade(url)
        ctx = Govflow(Settings(database_url=url, processes_dir=ROOT / "processes", forms_dir=ROOT / "forms"))
        organisation.ensure_units(ctx)
        processes.deploy(ctx, processes.bundle_from_directory(ROOT / "processes"), OPERATOR)
        organisation.set_window(ctx, YEAR, dt.date(2000, 1, 1), dt.date(2100, 12, 31), OPERATOR)
        identity.seed_demo_users(ctx)
        finance = identity.authenticate(ctx, "finance", identity.DEMO_PASSWORD)
        token = identity.issue_token(ctx, finance.id)[0]
        server = start_gunicorn(url, args.port, args.workers, args.threads)
        driver = Driver(ctx)
        results = {}
        for n in [int(c) for c in args.clients.split(",")]:
            slices: list[list[tuple[int, bytes]]] = []
            for _ in range(n):
                items = []
                for _ in range(args.per_client):
                    pid = driver.declare("市教育局", budget_year=YEAR, participants=[]).project_id
                    (item,) = driver.open_items(pid)
                    items.append((item.id, json.dumps({"data": driver.answer(item.form)}).encode()))
                slices.append(items)
            # Warm every worker (spec parse, connection pool) outside the measurement.
            for _ in range(args.workers * 2):
                c = http.client.HTTPConnection("127.0.0.1", args.port)
                c.request("GET", "/api/tasks?limit=1", headers={"Authorization": f"Bearer {token}"})
                c.getresponse().read()
            lat: list[float] = []
            errors: list[str] = []
            barrier = threading.Barrier(n)
            threads = [threading.Thread(target=client, args=(args.port, token, s, lat, errors, barrier))
                       for s in slices]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            results[n] = {"requests": len(lat), "errors": len(errors), "p50_ms": round(pct(lat, 50), 1),
                          "p95_ms": round(pct(lat, 95), 1), "mean_ms": round(statistics.mean(lat) * 1000, 1),
                          "throughput_per_s": round(len(lat) / wall, 1)}
            print(f"{n:>3} clients: {results[n]}", flush=True)
            if errors:
                print("  errors:", errors[:5])
        write_result(f"http_latency_{args.db}", {"db": args.db, "cpus": os.cpu_count(), "results": results,
                                                 "gunicorn": f"{args.workers} workers x {args.threads} threads"})
        ctx.close()
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        drop()  # type: ignore[operator]


if __name__ == "__main__":
    main()
