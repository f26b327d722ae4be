"""Benchmark (not a test): task completions per second through the service layer on the whole
lifecycle, and the cost of one completion after 0, 10 and 50 send-back loops.

What it measures: N projects, each declared and driven through every step (happy path, half of
them with a 参建单位), in one process, one thread. The headline `completions_per_s_service` is
completions ÷ time inside the service calls — declarations, task completions AND the annual-list
release (compile, co-sign, approve: it carries every project past 项目批准, so it is part of the
work); `wall` adds the harness (building answers, finding the next task). Each figure is printed
with the machine's load average (shared machine: compare runs made side by side only).

    python bench/engine_throughput.py --db postgresql --projects 20
    python bench/engine_throughput.py --db sqlite

PostgreSQL: a scratch database is created on 127.0.0.1:5432 and dropped afterwards."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import scratch_db, write_result  # noqa: E402

# The server imports every module when it starts (the app factory's blueprints); so does this
# benchmark, or its first completion would time the imports the step makes lazily (~0.15 s).
import service.http.app  # noqa: E402, F401
from service.config import Settings  # noqa: E402
from service.domain.access import Actor  # noqa: E402
from service.operations import annual_list, organisation, processes  # noqa: E402
from service.operations.context import Govflow  # noqa: E402
from service.scenario import Driver  # noqa: E402
from service.storage.migrate import upgrade  # noqa: E402
from service.storage.models import ProcessInstance  # noqa: E402

OPERATOR = Actor("bench", None, frozenset({"admin", "system"}))
GOV = Actor("市政府", "市政府", frozenset({"leader"}))


def setup(url: str, cache: int) -> Govflow:
    upgrade(url)
    ctx = Govflow(Settings(database_url=url, processes_dir=ROOT / "processes", forms_dir=ROOT / "forms",
                           workflow_cache_size=cache))
    organisation.ensure_units(ctx)
    processes.deploy(ctx, processes.bundle_from_directory(ROOT / "processes"), OPERATOR)
    organisation.set_window(ctx, 2027, dt.date(2000, 1, 1), dt.date(2100, 1, 1), OPERATOR)
    return ctx


def approve_list(ctx: Govflow, year: int, ids: list[int]) -> None:
    """Release the year's annual list with every project on it (compile + co-sign + approve where
    the code has those steps, a single approval in older versions)."""
    if hasattr(annual_list, "compile_cosign_approve"):
        annual_list.compile_cosign_approve(ctx, year, {pid: 100.0 for pid in ids}, GOV)
    else:
        annual_list.approve(ctx, year, {pid: 100.0 for pid in ids}, GOV)


def lifecycle(ctx: Govflow, n_projects: int, year: int = 2027) -> dict[str, object]:
    driver = Driver(ctx)
    organisation.set_window(ctx, year, dt.date(2000, 1, 1), dt.date(2100, 1, 1), OPERATOR)
    completions = 0
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    ids = []
    for i in range(n_projects):
        pid = driver.declare("市教育局", budget_year=year, participants=["市民政局"] if i % 2 else []).project_id
        completions += 1 + driver.run(pid)
        ids.append(pid)
    t_list = time.perf_counter()
    approve_list(ctx, year, ids)
    list_seconds = time.perf_counter() - t_list
    driver.service_seconds += list_seconds
    for pid in ids:
        completions += driver.run(pid)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    # "service" counts only time inside projects.declare / tasks.complete; "wall" includes the
    # harness (building answers from form examples, finding the next open task).
    return {"projects": n_projects, "completions": completions, "wall_seconds": round(elapsed, 3),
            "service_seconds": round(driver.service_seconds, 3),
            "completions_per_s_service": round(completions / driver.service_seconds, 1),
            "completions_per_s_wall": round(completions / elapsed, 1),
            "annual_list_release_seconds": round(list_seconds, 3),
            # CPU of this process per completion, harness included: steadier than the rates when
            # the machine is shared (it leaves out PostgreSQL's own work).
            "process_cpu_ms_per_completion": round(cpu / completions * 1000, 2), "loadavg": loadavg()}


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def loop_cost(ctx: Govflow, marks: tuple[int, ...] = (0, 10, 50), sample: int = 5) -> dict[str, object]:
    """Time of one completion in the 方案评审 loop (mean over `sample` passes of 6 completions) after
    k passes, plus the size of the saved engine state."""
    driver = Driver(ctx)
    pid = driver.declare("市教育局", budget_year=2027).project_id
    driver.run(pid, until="review_consolidate")
    passes = 0
    out: dict[str, object] = {}
    for mark in marks:
        while passes < mark:
            driver.complete(pid, "review_consolidate", plan_review_result="修改后重审")
            driver.run(pid, until="review_consolidate")
            passes += 1
        times = []
        for _ in range(sample):
            t0 = time.perf_counter()
            driver.complete(pid, "review_consolidate", plan_review_result="修改后重审")
            n = 1 + driver.run(pid, until="review_consolidate")
            times.append((time.perf_counter() - t0) / n)
            passes += 1
        with ctx.db.session() as s:
            size = len(s.scalar(select(ProcessInstance.state).where(ProcessInstance.project_id == pid)))
        out[f"loop_{mark}"] = {"ms_per_completion": round(statistics.mean(times) * 1000, 2), "state_bytes": size}
    base = out[f"loop_{marks[0]}"]["ms_per_completion"]  # type: ignore[index]
    out["loadavg"] = loadavg()
    out["ratio_last_to_first"] = round(out[f"loop_{marks[-1]}"]["ms_per_completion"] / base, 2)  # type: ignore[index]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    ap.add_argument("--projects", type=int, default=20)
    ap.add_argument("--cache", type=int, default=2000, help="workflow cache size (0 = always deserialise)")
    ap.add_argument("--no-loops", action="store_true", help="the lifecycle only, not the loop cost")
    args = ap.parse_args()
    url, drop = scratch_db(args.db)
    try:
        ctx = setup(url, args.cache)
        result: dict[str, object] = {"db": args.db, "cache": args.cache, "loadavg_before": loadavg(),
                                     "lifecycle": lifecycle(ctx, args.projects)}
        if not args.no_loops:
            result["loops"] = loop_cost(ctx)
        ctx.close()
    finally:
        drop()
    write_result(f"engine_{args.db}_cache{args.cache}", result)


if __name__ == "__main__":
    main()
