"""Benchmark (not a test): GET /api/projects/{id} of a project sent back N times, before and after
paging its history (docs/clocks.md).

    python bench/project_history.py                 # SQLite and PostgreSQL, 10, 150 and 600 send-backs
    python bench/project_history.py --db sqlite --runs 30

"before" is the same service with the page limits lifted (every audit record and every completed step
in the answer, as the project answer was before issue 12); "after" is the service as it ships (the
latest 50 records with a cursor, the latest 100 completed steps). The send-backs are written straight
into the tables (tests/http/test_api_project_history.add_send_backs: 3 audit records and one completed
step per round). Median and p95 of --runs through the Flask test client with a bearer token, and the
answer's size. Results: bench/results/project_history.json."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import scratch_db, write_result  # noqa: E402

from service.http.app import create_app  # noqa: E402
from service.operations import dossier, identity  # noqa: E402
from service.scenario import Driver  # noqa: E402
from service.storage.migrate import upgrade  # noqa: E402
from service.storage.models import User  # noqa: E402
from tests.conftest import make_ctx  # noqa: E402
from tests.http.test_api_project_history import add_send_backs  # noqa: E402

LIMITS = ("HISTORY_PAGE", "HISTORY_MAX_PAGE", "STEPS_SHOWN")


def measure(client: Any, headers: dict[str, str], url: str, runs: int) -> dict[str, Any]:
    for _ in range(3):
        client.get(url, headers=headers)
    times, size = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        r = client.get(url, headers=headers)
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.status_code
        size = len(r.data)
    times.sort()
    return {"bytes": size, "median_ms": round(statistics.median(times) * 1000, 1),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))] * 1000, 1)}


def run(kind: str, rounds: list[int], runs: int) -> dict[str, Any]:
    url, drop = scratch_db(kind)
    try:
        upgrade(url)
        ctx = make_ctx(url)
        identity.seed_demo_users(ctx)
        app = create_app(ctx, secret_key="bench")
        with ctx.db.session() as s:
            uid = s.query(User.id).filter(User.username == "edu").scalar()
        headers = {"Authorization": f"Bearer {identity.issue_token(ctx, uid)[0]}"}
        client = app.test_client()
        pid = Driver(ctx).declare("市教育局", participants=[]).project_id
        shipped = {name: getattr(dossier, name) for name in LIMITS}
        out: dict[str, Any] = {}
        done = 0
        for n in rounds:
            add_send_backs(ctx, pid, n - done)
            done = n
            row: dict[str, Any] = {}
            for mode in ("before", "after"):
                for name in LIMITS:
                    setattr(dossier, name, 10**9 if mode == "before" else shipped[name])
                row[mode] = measure(client, headers, f"/api/projects/{pid}", runs)
            out[f"{n} send-backs"] = row
        for name, value in shipped.items():
            setattr(dossier, name, value)
        ctx.close()
        return out
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    write_result("project_history", {kind: run(kind, [10, 150, 600], args.runs) for kind in kinds})


if __name__ == "__main__":
    main()
