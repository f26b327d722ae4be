"""Benchmark (not a test): whole projects driven over HTTP under gunicorn — every step of each
project is an HTTP request, nothing is prepared in-process.

What it measures: C concurrent clients, each on its own keep-alive connection and its own budget
year, declare `--projects` projects (POST /api/projects as 市教育局), then work every task those
projects open as the unit that holds it — GET /api/tasks/{id} (the task page's read: form and
schema) and POST /api/tasks/{id}/complete with the form's example answer — until the projects wait
for the annual list; the client then releases its year's list over HTTP (compile as 市大数据局,
co-sign as 市财政局, approve as 市政府; a single approval where the API has no compile step) and
drives the projects to their end. Reported per concurrency: completions (declarations + task
completions) per second of wall time, latency p50/p95/max of the completions, of the reads and of
every request, errors (any non-2xx), and the machine's load average before and after.

    python bench/http_latency.py                           # PostgreSQL scratch database, 4 x 8 gunicorn
    python bench/http_latency.py --db sqlite --clients 8 --projects 1

A scratch PostgreSQL database is created on 127.0.0.1:5432 and dropped afterwards. Results go to
bench/results/http_latency_<db>.json."""
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
from collections import deque
from pathlib import Path
from typing import Any

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
# Who works a unit's tasks (demo logins, service/operations/identity.py).
LOGINS = {"市教育局": "edu", "市民政局": "civil", "市大数据局": "bigdata", "市财政局": "finance", "市委网信办": "cac",
          "市公安局": "police", "市密码管理局": "crypto", "市政府": "gov"}
DOCUMENT_NO = "东政字〔2026〕1号"


def start_gunicorn(url: str, port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    """The production server on `url`, in its own process group (stop it with os.killpg)."""
    env = {**os.environ, "GOVFLOW_DATABASE_URL": url, "GOVFLOW_SECRET_KEY": "bench-" + "0" * 32}
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


class Client:
    """One user agent: a keep-alive connection, the demo tokens, latencies by kind."""

    def __init__(self, port: int, tokens: dict[str, str], driver: Driver, year: int, n_projects: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.tokens = tokens
        self.driver = driver
        self.year = year
        self.n_projects = n_projects
        self.lat: dict[str, list[float]] = {"complete": [], "read": [], "list": []}
        self.errors: list[str] = []
        self.completions = 0
        self.done: set[int] = set()

    def call(self, kind: str, method: str, path: str, login: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[login]}", "Content-Type": "application/json"}
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        t0 = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.errors.append(f"{method} {path}: {exc!r}")
            return 0, None
        self.lat[kind].append(time.perf_counter() - t0)
        payload = json.loads(raw) if raw and resp.getheader("Content-Type", "").startswith("application/json") else None
        if resp.status >= 300:
            self.errors.append(f"{method} {path}: {resp.status} {str(payload)[:200]}")
        return resp.status, payload

    def work(self, queue: deque[dict[str, Any]]) -> None:
        """Complete every open task in the queue, and what each completion opens."""
        while queue:
            nxt = queue.popleft()
            if nxt["id"] in self.done:
                continue
            login = LOGINS[nxt["unit"]]
            status, task = self.call("read", "GET", f"/api/tasks/{nxt['id']}", login)
            if status != 200:
                continue
            answer = self.driver.answer(task["form"])
            status, done = self.call("complete", "POST", f"/api/tasks/{nxt['id']}/complete", login, {"data": answer})
            if status == 200:
                self.completions += 1
                self.done.add(nxt["id"])
                queue.extend(done.get("next") or [])

    def release_list(self, project_ids: list[int]) -> None:
        status, draft = self.call("list", "PUT", f"/api/annual-lists/{self.year}/draft", "bigdata",
                                  {"entries": [{"project_id": p} for p in project_ids]})
        approval = {"approved": {str(p): 100.0 for p in project_ids}, "document_no": DOCUMENT_NO}
        if status == 200:
            list_id = draft["list_id"]
            self.call("list", "POST", f"/api/annual-lists/{self.year}/lists/{list_id}/cosign", "finance", {})
            self.call("list", "POST", f"/api/annual-lists/{self.year}/lists/{list_id}/approve", "gov", approval)
        elif status in (404, 405):  # an API without the compile step: one approval
            self.errors.pop()
            self.call("list", "POST", f"/api/annual-lists/{self.year}", "gov", approval)

    def run(self, start: threading.Barrier) -> None:
        start.wait()
        ids = []
        for _ in range(self.n_projects):
            data = self.driver.answer("declaration", {"budget_year": self.year, "participants": []})
            status, declared = self.call("complete", "POST", "/api/projects", "edu", {"data": data})
            if status != 201:
                continue
            self.completions += 1
            ids.append(declared["project_id"])
            self.work(deque(declared.get("next") or []))
        self.release_list(ids)
        for pid in ids:
            status, open_tasks = self.call("read", "GET", f"/api/tasks/search?project_id={pid}&view=todo", "edu")
            # Whoever holds the first step after the list (建设单位 in the lifecycle) finds it in 待办.
            items = [{"id": t["id"], "unit": t["unit"]} for t in (open_tasks or {}).get("items", [])
                     if t.get("project_id") == pid] if status == 200 else []
            if not items:
                items = self._open_by_units(pid)
            self.work(deque(items))

    def _open_by_units(self, pid: int) -> list[dict[str, Any]]:
        out = []
        for unit, login in LOGINS.items():
            status, rows = self.call("read", "GET", f"/api/tasks?project_id={pid}", login)
            if status == 200 and isinstance(rows, list):
                out += [{"id": r["id"], "unit": unit} for r in rows]
        return out


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000, 1)


def figures(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50_ms": pct(values, 50), "p95_ms": pct(values, 95), "max_ms": pct(values, 100),
            "mean_ms": round(statistics.mean(values) * 1000, 1) if values else 0.0}


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def drive(port: int, tokens: dict[str, str], driver: Driver, years: list[int], n_projects: int) -> dict[str, Any]:
    clients = [Client(port, tokens, driver, year, n_projects) for year in years]
    barrier = threading.Barrier(len(clients))
    threads = [threading.Thread(target=c.run, args=(barrier,)) for c in clients]
    before = loadavg()
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = {k: [x for c in clients for x in c.lat[k]] for k in ("complete", "read", "list")}
    errors = [e for c in clients for e in c.errors]
    completions = sum(c.completions for c in clients)
    return {"clients": len(clients), "projects": len(clients) * n_projects, "completions": completions,
            "wall_seconds": round(wall, 2), "completions_per_s": round(completions / wall, 1),
            "requests_per_s": round(sum(len(v) for v in lat.values()) / wall, 1),
            "complete": figures(lat["complete"]), "read": figures(lat["read"]), "list": figures(lat["list"]),
            "all": figures([x for v in lat.values() for x in v]), "errors": len(errors), "error_samples": errors[:5],
            "loadavg_before": before, "loadavg_after": loadavg()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--clients", default="32")
    ap.add_argument("--projects", type=int, default=2, help="projects per client, each driven to its end")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--port", type=int, default=8971)
    args = ap.parse_args()

    counts = [int(c) for c in args.clients.split(",")]
    url, drop = scratch_db(args.db)
    server = None
    try:
        upgrade(url)
        ctx = Govflow(Settings(database_url=url, processes_dir=ROOT / "processes", forms_dir=ROOT / "forms"))
        organisation.ensure_units(ctx)
        processes.deploy(ctx, processes.bundle_from_directory(ROOT / "processes"), OPERATOR)
        # One budget year per client (its own annual list), plus the warm-up's.
        years = list(range(YEAR, YEAR + 1 + sum(counts)))
        for year in years:
            organisation.set_window(ctx, year, dt.date(2000, 1, 1), dt.date(2100, 12, 31), OPERATOR)
        identity.seed_demo_users(ctx)
        tokens = {}
        for login in set(LOGINS.values()):
            user = identity.authenticate(ctx, login, identity.DEMO_PASSWORD)
            tokens[login] = identity.issue_token(ctx, user.id)[0]
        server = start_gunicorn(url, args.port, args.workers, args.threads)
        driver = Driver(ctx)
        # Warm every worker (spec parse, pools, form caches) outside the measurement: one project
        # per worker thread slot, on a year of its own.
        warm = drive(args.port, tokens, driver, [years[0]] * 1, 1)
        results: dict[str, Any] = {"warm_up": {"completions": warm["completions"], "errors": warm["errors"]}}
        offset = 1
        for n in counts:
            res = drive(args.port, tokens, driver, years[offset:offset + n], args.projects)
            offset += n
            results[str(n)] = res
            print(f"{n:>3} clients: {res['completions']} completions, {res['completions_per_s']}/s, "
                  f"complete p50 {res['complete']['p50_ms']} ms p95 {res['complete']['p95_ms']} ms, "
                  f"errors {res['errors']}, load {res['loadavg_before']} -> {res['loadavg_after']}", flush=True)
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
