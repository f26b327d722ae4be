"""Benchmark (not a test): the whole-lifecycle completion path on a small and on a large database,
to show that a completion costs what its project needs, not what the database holds.

    python bench/completion_at_size.py                       # PostgreSQL, 40 and 1,000 projects
    python bench/completion_at_size.py --db sqlite --large 2000 --rounds 4

What it measures: two databases holding the same current work (bench/page_reads.py's
`build_current`), the second grown with cloned history (`add_history`: completed, far-along and
ended projects with their instances, work items, clocks and audit records; PostgreSQL ANALYZEd
after the load, as autovacuum would). On each, rounds of bench/engine_throughput.py's `lifecycle`
(N new projects declared and driven through every step, the annual-list release included), the
two sides interleaved round by round so a change of machine load hits both alike. Per side: the
median over rounds of service ms per completion (time inside the service calls ÷ completions),
completions/s, this process's CPU per completion and, on PostgreSQL, the server's CPU per
completion (every postgres process's user+system time from /proc, so run it on a machine where
nothing else uses this PostgreSQL). The ratio large/small is the figure: near 1.0 when cost follows
the work. Prints the machine's load beside the figures. Results: bench/results/completion_at_size.json."""
from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import engine_throughput as et  # noqa: E402
import page_reads as pr  # noqa: E402
from scratch import scratch_db, write_result  # noqa: E402

from service.config import Settings  # noqa: E402
from service.operations.context import Govflow  # noqa: E402


def server_cpu_seconds() -> float:
    """User+system CPU of every local postgres process (the server's share of the work)."""
    total = 0
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.find("(") + 1:stat.rfind(")")]
        if name in ("postgres", "postmaster"):
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def open_ctx(url: str) -> Govflow:
    return Govflow(Settings(database_url=url, processes_dir=ROOT / "processes", forms_dir=ROOT / "forms",
                            workflow_cache_size=2000))


def build(kind: str, small: int, large: int) -> tuple[dict[str, str], list[Any]]:
    url, drop = scratch_db(kind)
    drops = [drop]
    ctx = pr.setup(url)
    current = pr.build_current(ctx)
    pr.check_templates(ctx, current["templates"])
    have = pr.sizes(ctx)["projects"]
    n_small = max(small - have, 0)
    analyze = kind == "postgresql"
    pr.add_history(ctx, current["templates"], 1, n_small, 1, analyze)
    ctx.close()
    large_url, drop_large = pr.copy_db(kind, url)
    drops.append(drop_large)
    grow = open_ctx(large_url)
    pr.add_history(grow, current["templates"], 1 + n_small, max(large - small, 0), 2, analyze)
    grow.close()
    return {"small": url, "large": large_url}, drops


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--small", type=int, default=40, help="projects in the small database")
    ap.add_argument("--large", type=int, default=1000, help="projects in the large database")
    ap.add_argument("--projects", type=int, default=10, help="new projects driven per round and side")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    urls, drops = build(args.db, args.small, args.large)
    sizes: dict[str, dict[str, int]] = {}
    ctxs: dict[str, Govflow] = {}
    try:
        for side, url in urls.items():
            ctxs[side] = open_ctx(url)
            sizes[side] = pr.sizes(ctxs[side])
            et.lifecycle(ctxs[side], 2, year=2039)  # warm-up: spec parse, caches, prepared statements
        print(f"[{args.db}] sizes: {sizes}", flush=True)
        runs: dict[str, list[dict[str, float]]] = {side: [] for side in urls}
        for r in range(args.rounds):
            for side, ctx in ctxs.items():
                server0 = server_cpu_seconds() if args.db == "postgresql" else 0.0
                got = et.lifecycle(ctx, args.projects, year=2040 + r)
                server = server_cpu_seconds() - server0 if args.db == "postgresql" else 0.0
                n = float(got["completions"])  # type: ignore[arg-type]
                runs[side].append({"service_ms": float(got["service_seconds"]) / n * 1000,  # type: ignore[arg-type]
                                   "per_s": float(got["completions_per_s_service"]),  # type: ignore[arg-type]
                                   "client_cpu_ms": float(got["process_cpu_ms_per_completion"]),  # type: ignore[arg-type]
                                   "server_cpu_ms": server / n * 1000})
                print(f"  round {r + 1} {side:5s}: {runs[side][-1]}  load {et.loadavg()}", flush=True)
        result: dict[str, Any] = {"db": args.db, "cpus": os.cpu_count(), "sizes": sizes,
                                  "projects_per_round": args.projects, "rounds": args.rounds}
        for side, rows in runs.items():
            result[side] = {k: round(statistics.median(row[k] for row in rows), 3) for k in rows[0]}
        result["ratio_large_small"] = {k: round(result["large"][k] / result["small"][k], 2)
                                       for k in ("service_ms", "client_cpu_ms", "server_cpu_ms")
                                       if result["small"][k]}
        result["loadavg"] = et.loadavg()
        result["seconds"] = round(time.perf_counter() - t0, 1)
    finally:
        for ctx in ctxs.values():
            ctx.close()
        for drop in reversed(drops):
            drop()
    print(result)
    write_result(f"completion_at_size_{args.db}", result)


if __name__ == "__main__":
    main()
