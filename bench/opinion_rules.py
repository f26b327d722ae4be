"""Benchmark (not a test): what the opinion rule (docs/opinions.md) adds to a completion.

Measures, on one scratch database: (1) the bare evaluation of plan_review_outcome (five columns,
six rules, cells proved cheap so they run in-process), (2) `opinion_rules.weigh` for 出具评审意见
(one query for the four branches' latest completions plus the table), (3) `weigh` for a task with no
rule (a property lookup: the cost every other completion pays). Medians over N runs, with the load
average (shared machine: compare runs made side by side only).

    python bench/opinion_rules.py --db sqlite
    python bench/opinion_rules.py --db postgresql"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine_throughput import setup  # noqa: E402
from scratch import scratch_db, write_result  # noqa: E402
from sqlalchemy import select  # noqa: E402

from service.operations import opinion_rules  # noqa: E402
from service.scenario import Driver  # noqa: E402
from service.storage.models import ProcessInstance, WorkItem  # noqa: E402


def _median_ms(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    url, drop = scratch_db(args.db)
    try:
        ctx = setup(url, 64)
        driver = Driver(ctx)
        pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
        driver.run(pid, until="review_consolidate", answers={"review_police": [{"conclusion": "不同意"}]})
        item_id = driver.item(pid, "review_consolidate").id
        data = {**driver.answer("plan_review_conclusion"), "dissent_justification": "已整改"}
        with ctx.db.session() as s:
            item = s.get(WorkItem, item_id)
            instance = s.get(ProcessInstance, item.instance_id)
            tables = opinion_rules._decisions(ctx, s, instance.version_id)
            variables = {"plan_review_result": "通过", "review_bigdata": "同意", "review_cac": "同意",
                         "review_police": "不同意", "review_crypto": "同意"}
            bare = _median_ms(lambda: tables.evaluate("plan_review_outcome", variables), args.runs)
            weigh = _median_ms(lambda: opinion_rules.weigh(ctx, s, instance, item, data), args.runs)
            other = s.scalars(select(WorkItem).where(WorkItem.project_id == pid,
                                                     WorkItem.task_name == "review_cac")).first()  # no rule
            none = _median_ms(lambda: opinion_rules.weigh(ctx, s, instance, other, {}), args.runs)
        write_result(f"opinion_rules_{args.db}", {
            "db": args.db, "runs": args.runs, "load_average": os.getloadavg()[0],
            "table_evaluation_ms": bare, "weigh_consolidation_ms": weigh, "weigh_task_without_rule_ms": none})
    finally:
        drop()


if __name__ == "__main__":
    main()
