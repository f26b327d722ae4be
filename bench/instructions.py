"""Benchmark (not a test): CPU instructions per completion, counted by valgrind's callgrind — the
figure to compare on a shared, noisy machine, where rates vary by 2x between identical runs and
instruction counts do not.

What it measures: the same whole-project work run twice under callgrind, once with 1 project and
once with 3 (each after the same setup and one warm-up project), and the difference divided by the
difference in completions, so setup, imports and warm-up cancel out. Two paths:

- `--path service`: projects declared and driven through every step in-process, as
  bench/engine_throughput.py does (service calls, the harness's lookups included);
- `--path http`: the same projects driven through the Flask app in-process (its test client, no
  sockets): every step a GET of the task page and a POST of the completion, each authenticated by
  a bearer token, and the annual list released over the API, as bench/http_latency.py's clients do.

Only this Python process is counted: on PostgreSQL the server's own work is not in the figure.

    python bench/instructions.py --path http --db sqlite
    python bench/instructions.py --path service --db postgresql

Needs valgrind (Debian package `valgrind`); a run takes a few minutes."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch import scratch_db, write_result  # noqa: E402


def _service_work(url: str, projects: int) -> int:
    import engine_throughput as et

    ctx = et.setup(url, 2000)
    et.lifecycle(ctx, 1, year=2030)  # warm-up: spec parse, caches, first statements
    done = int(et.lifecycle(ctx, projects)["completions"])
    ctx.close()
    return done


def _http_work(url: str, projects: int) -> int:
    import http_latency as hl

    from service.config import Settings
    from service.http.app import create_app
    from service.observability import logs
    from service.operations import identity, organisation, processes
    from service.operations.context import Govflow
    from service.scenario import Driver
    from service.storage.migrate import upgrade

    upgrade(url)
    os.environ.setdefault("GOVFLOW_SECRET_KEY", "bench-" + "0" * 32)
    ctx = Govflow(Settings(database_url=url, processes_dir=ROOT / "processes", forms_dir=ROOT / "forms"))
    organisation.ensure_units(ctx)
    processes.deploy(ctx, processes.bundle_from_directory(ROOT / "processes"), hl.OPERATOR)
    years = list(range(hl.YEAR, hl.YEAR + projects + 1))
    for year in years:
        organisation.set_window(ctx, year, dt.date(2000, 1, 1), dt.date(2100, 12, 31), hl.OPERATOR)
    identity.seed_demo_users(ctx)
    tokens = {login: identity.issue_token(ctx, identity.authenticate(ctx, login, identity.DEMO_PASSWORD).id)[0]
              for login in set(hl.LOGINS.values())}
    logs.configure("web", stream=open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    client = create_app(Govflow(Settings(database_url=url, processes_dir=ROOT / "processes",
                                            forms_dir=ROOT / "forms"))).test_client()

    class InProcess(hl.Client):
        """bench/http_latency.py's client, its requests sent to the app without a socket."""

        def call(self, kind: str, method: str, path: str, login: str, body: Any = None) -> tuple[int, Any]:
            data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
            r = client.open(path, method=method, data=data, headers={
                "Authorization": f"Bearer {self.tokens[login]}", "Content-Type": "application/json"})
            if r.status_code >= 300:
                self.errors.append(f"{method} {path}: {r.status_code} {r.get_data(as_text=True)[:200]}")
            return r.status_code, r.get_json(silent=True)

    driver = Driver(ctx)
    done = 0
    for i, year in enumerate(years):  # the first project warms up and is not counted
        c = InProcess(0, tokens, driver, year, 1)
        c.run(threading.Barrier(1))
        if c.errors:
            raise RuntimeError(c.errors[:3])
        done += c.completions if i else 0
    return done


def child(path: str, db_url: str, projects: int, out: str) -> None:
    work = _http_work if path == "http" else _service_work
    Path(out).write_text(str(work(db_url, projects)))


def _counted(args: argparse.Namespace, projects: int) -> tuple[int, int]:
    """(instructions, completions) of one run under callgrind."""
    url, drop = scratch_db(args.db)
    with tempfile.TemporaryDirectory() as tmp:
        out, counts = Path(tmp) / "completions", Path(tmp) / "callgrind.out"
        try:
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={counts}", sys.executable,
                            __file__, "--child", "--path", args.path, "--url", url, "--projects", str(projects),
                            "--out", str(out)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            drop()
        totals = re.search(r"^(?:summary|totals):\s+(\d+)", counts.read_text(), re.MULTILINE)
        if totals is None:
            raise RuntimeError("callgrind wrote no totals")
        return int(totals.group(1)), int(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", choices=["service", "http"], default="http")
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="sqlite")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--projects", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.path, args.url, args.projects, args.out)
        return
    small, large = _counted(args, 1), _counted(args, 3)
    per = (large[0] - small[0]) / (large[1] - small[1])
    write_result(f"instructions_{args.path}_{args.db}", {
        "path": args.path, "db": args.db, "completions_counted": large[1] - small[1],
        "million_instructions_per_completion": round(per / 1e6, 2),
        "note": "this process only; the database server's work is not counted"})


if __name__ == "__main__":
    main()
