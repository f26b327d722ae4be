"""Benchmark (not a test): what signing adds to one audit append, and how long `verify` of every
chain takes.

    python bench/audit_append.py [--records 20000]

Append: the pure part of audit._append (canonical JSON, digest, record HMAC, head HMAC) against
the unkeyed part alone (canonical JSON, digest), per record, for SHA-256 and SM3. Verify: the
records of a few declared projects in an embedded SQLite database, checked by audit.check_all."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import write_result  # noqa: E402

from service.domain.audit_chain import RECORD_DOMAIN, Keyring, canonical, digest  # noqa: E402
from service.storage.models import AuditRecord  # noqa: E402


def append_cost(n: int) -> dict[str, float]:
    keyring = Keyring({"bench": b"k" * 64}, "bench")
    record = AuditRecord(project_id=1, unit_id=None, seq=5, at=dt.datetime(2027, 1, 4, 1), actor="市教育局经办人",
                         action="task_completed", work_item_id=3, prev_hash="ab" * 32,
                         detail={"task": "review_bigdata", "opinion": "同意" * 20, "outputs": {"approved": True}})
    out: dict[str, float] = {}
    for algorithm in ("sha256", "sm3"):
        record.algorithm = algorithm

        def signed(alg: str = algorithm) -> None:
            body = canonical(record)
            head = digest(alg, body)
            keyring.sign(alg, RECORD_DOMAIN + body)
            keyring.sign_head(alg, "project:1", 5, head)

        def unkeyed(alg: str = algorithm) -> None:
            digest(alg, canonical(record))

        out[f"{algorithm}_signed_us"] = round(timeit.timeit(signed, number=n) / n * 1e6, 1)
        out[f"{algorithm}_unkeyed_us"] = round(timeit.timeit(unkeyed, number=n) / n * 1e6, 1)
    return out


def verify_cost(projects: int) -> dict[str, float]:
    from service.operations import audit
    from service.scenario import Driver
    from service.storage.migrate import upgrade
    from tests.conftest import make_ctx

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        ctx = make_ctx(url)
        driver = Driver(ctx)
        for _ in range(projects):
            driver.run(driver.declare("市教育局", budget_year=2027, participants=[]).project_id, until="write_plan")
        with ctx.db.session() as s:
            start = time.perf_counter()
            reports = audit.check_all(s)
            seconds = time.perf_counter() - start
        ctx.close()
    records = sum(r.records for r in reports)
    return {"chains": len(reports), "records": records, "verify_all_seconds": round(seconds, 3),
            "records_per_second": round(records / seconds)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--projects", type=int, default=20)
    args = ap.parse_args()
    write_result("audit_append", {**append_cost(args.records), **verify_cost(args.projects)})


if __name__ == "__main__":
    main()
