"""Benchmark (not a test): the reads behind the web pages, at two database sizes, to show that their
cost follows the work shown (one inbox, one project, one 90-day period), not the size of the database.

    python bench/page_reads.py                          # SQLite and PostgreSQL, 40 and 2,000 projects
    python bench/page_reads.py --db postgresql --runs 60 --large 5000
    python bench/page_reads.py --db sqlite --sqlite-analyze --explain

Per backend one scratch database (PostgreSQL: created on 127.0.0.1:5432 and dropped afterwards) is
built, measured at the small size, grown to the large size, and measured again:

- the current work, the same at both sizes: ~25 projects walked through the engine by
  service.scenario.Driver (20 of them left on a 市教育局 step, so its inbox holds ~20 open tasks; two
  at reviewer steps; two completed; one ended early), their dates moved back 0–84 days (some open
  tasks overdue), one deadline tick (reminders, escalations, late filings), and the measured project
  (left at 竣工验收, with an opinion and two attachments);
- history: clones of three walked templates (completed 70 %, far along in construction 20 %, ended
  10 %) copied in bulk with INSERT … SELECT (projects, process_instances, work_items, their clocks,
  audit_records), spread over the five departments, with dates 100–730 days back (every fifth late),
  so none falls in the measured 90-day period and the open tasks of the far-along ones (other
  departments, due months ahead) are neither in 市教育局's inbox nor overdue. The clones' audit chains
  are copied as they are (their `at` moved), so they would not verify; nothing here verifies them.

The small database is built first and copied (SQLite backup; PostgreSQL CREATE DATABASE … TEMPLATE);
the copy is grown to the large size, so both hold the same current work with the same ids. PostgreSQL
is ANALYZEd after each bulk load (what autovacuum would do shortly after); SQLite is left as govflow
leaves it, without planner statistics (no ANALYZE anywhere in the service), unless --sqlite-analyze.

Measured through the service layer, the runs on the small and the large database interleaved (so a
change of machine load hits both alike; median and p95 of --runs after 3 warm-up runs, and the
median time spent in SQL): readers.inbox for 市教育局 ("edu"), dossier.project_detail and
dossier.diagram of the measured project, statistics.overview for the last 90 days (supervisor),
export.export_zip of the measured project (whole ZIP read), and through the Flask test client
GET /inbox (page HTML, session cookie) and GET /api/tasks (bearer). Each operation also runs once
with its SQL recorded: the query count at both sizes is reported, and when the large/small ratio of
the median exceeds --threshold (or with --explain) the slowest statements of the large run are
explained (PostgreSQL: EXPLAIN ANALYZE; SQLite: EXPLAIN QUERY PLAN).
Results: bench/results/page_reads.json."""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import PG_ADMIN, scratch_db, write_result  # noqa: E402

from service.config import Settings  # noqa: E402
from service.domain.access import Actor  # noqa: E402
from service.domain.deadlines import local_date  # noqa: E402
from service.http.app import create_app  # noqa: E402
from service.operations import (  # noqa: E402
    annual_list,
    attachments,
    dossier,
    export,
    identity,
    organisation,
    readers,
    reminders,
    task_actions,
)
from service.operations import statistics as stats  # noqa: E402
from service.operations.context import Govflow  # noqa: E402
from service.scenario import Driver, worker  # noqa: E402
from service.storage.migrate import upgrade  # noqa: E402
from service.storage.models import Base, utcnow  # noqa: E402
from tests.conftest import YEAR, make_ctx  # noqa: E402

GOV = Actor("市政府", "市政府", frozenset({"leader"}))
EDU = "市教育局"
DEPARTMENTS = [name for _, name in organisation.DEMO_DEPARTMENTS]
# The 市教育局 (建设单位) steps the current projects are left on; the first two come before the annual list.
EDU_STOPS = ["write_plan", "submit_budget", "consistency_request", "procurement", "contract_filing",
             "construction", "acceptance_application", "acceptance", "acceptance_report_filing", "self_evaluation"]
PRE_LIST = {"write_plan", "submit_budget", "review_bigdata", "budget_review", "ended"}
MEASURED_STOP = "acceptance"
PERIOD_DAYS = 90


# -- building the database ------------------------------------------------------------------------------


def setup(url: str) -> Govflow:
    upgrade(url)
    ctx = make_ctx(url)  # the tests' fixture: units, processes/, YEAR's declaration window
    identity.seed_demo_users(ctx)
    return ctx


def shift_ts(dialect: str, col: str, days: str) -> str:
    """`col` (naive-UTC timestamp) moved back by `days` (an SQL integer expression; negative: ahead)."""
    if dialect == "postgresql":
        return f"({col} - ({days}) * interval '1 day')"
    return f"datetime({col}, (-({days})) || ' days')"


def shift_date(dialect: str, col: str, days: str) -> str:
    if dialect == "postgresql":
        return f"({col} - ({days}))"
    return f"date({col}, (-({days})) || ' days')"


def build_current(ctx: Govflow) -> dict[str, Any]:
    """Walk the current projects through the engine; returns the templates and the measured project."""
    driver = Driver(ctx)
    specs: list[tuple[str, str, list[str]]] = [(EDU, stop, ["市民政局"] if i % 3 == 0 else [])
                                               for i, stop in enumerate(EDU_STOPS * 2)]
    specs += [("市卫生健康委员会", "review_bigdata", []), ("市民政局", "budget_review", []),
              (EDU, "done", ["市民政局"]), ("市自然资源和规划局", "done", []), ("市人力资源和社会保障局", "ended", [])]
    t0 = time.perf_counter()
    walked: list[tuple[int, str]] = []
    for unit, stop, participants in specs:
        pid = driver.declare(unit, budget_year=YEAR, participants=participants).project_id
        if stop == "ended":
            driver.run(pid, answers={"preliminary_review": [{"preliminary_decision": "不予入库"}]})
        else:
            driver.run(pid, until=stop if stop in PRE_LIST else None)
        walked.append((pid, stop))
    annual_list.compile_cosign_approve(ctx, YEAR, {pid: 100.0 for pid, stop in walked if stop not in PRE_LIST},
                                       GOV, document_no="东政字〔2026〕1号")
    for pid, stop in walked:
        if stop not in PRE_LIST:
            driver.run(pid, until=None if stop == "done" else stop)
    templates = {"completed": next(pid for pid, stop in walked if stop == "done"),
                 "far_along": next(pid for pid, stop in walked if stop == "construction"),
                 "ended": next(pid for pid, stop in walked if stop == "ended")}
    measured = next(pid for pid, stop in walked if stop == MEASURED_STOP)

    # The measured project's dossier: an opinion on the open step and two attachments.
    edu = worker(EDU)
    (item,) = [w for w in driver.open_items(measured) if w.task_name == MEASURED_STOP]
    task_actions.add_opinion(ctx, item.id, edu, "验收材料齐全，同意组织专家验收。")
    attachments.upload(ctx, measured, "验收申请.pdf", io.BytesIO(os.urandom(256 * 1024)), "application/pdf", edu,
                       work_item_id=item.id)
    attachments.upload(ctx, measured, "说明.txt", io.BytesIO("项目建设情况说明。\n".encode() * 500), "text/plain", edu)

    # Spread the current work over the last 84 days (open tasks past due become overdue), then let
    # one deadline tick write the reminders, escalations and late filings they have earned.
    dialect = ctx.db.engine.dialect.name
    now = utcnow()
    with ctx.db.session() as s:
        for i, (pid, _) in enumerate(walked):
            k = str((i * 7) % 85)
            s.execute(text(f"UPDATE work_items SET created_at = {shift_ts(dialect, 'created_at', k)}, "
                           f"completed_at = {shift_ts(dialect, 'completed_at', k)}, "
                           f"due_at = {shift_ts(dialect, 'due_at', k)}, "
                           f"due_date = {shift_date(dialect, 'due_date', k)} WHERE project_id = {pid}"))
            s.execute(text(f"UPDATE projects SET declared_at = {shift_ts(dialect, 'declared_at', k)} "
                           f"WHERE id = {pid}"))
            s.execute(text(f"UPDATE process_instances SET created_at = {shift_ts(dialect, 'created_at', k)}, "
                           f"completed_at = {shift_ts(dialect, 'completed_at', k)} WHERE project_id = {pid}"))
        s.execute(text("UPDATE work_item_clocks SET fire_at = :at WHERE work_item_id IN "
                       "(SELECT id FROM work_items WHERE state = 'open')"), {"at": now - dt.timedelta(minutes=1)})
    tick = reminders.tick(ctx, now)
    return {"walked": len(walked), "walk_seconds": round(time.perf_counter() - t0, 1), "templates": templates,
            "measured": measured, "tick_notifications": tick.notifications,
            "tick_late_filings": tick.late_filings}


CLONE_TABLE = ("CREATE TABLE bench_clones (n INTEGER PRIMARY KEY, batch INTEGER NOT NULL, tpl INTEGER NOT NULL, "
               "unit_id INTEGER NOT NULL, days INTEGER NOT NULL, late INTEGER NOT NULL, ahead INTEGER NOT NULL, "
               "code VARCHAR(40) NOT NULL)")


def _insert_select(table: str, overrides: dict[str, str], source: str) -> str:
    cols = [c.name for c in Base.metadata.tables[table].columns if c.name != "id"]
    exprs = [overrides.get(c, f't."{c}"') for c in cols]
    return f'INSERT INTO {table} ({", ".join(chr(34) + c + chr(34) for c in cols)}) SELECT {", ".join(exprs)} {source}'


def add_history(ctx: Govflow, templates: dict[str, int], first: int, count: int, batch: int,
                analyze: bool) -> float:
    """Clone `count` historical projects (numbered from `first`) in bulk; returns seconds taken."""
    t0 = time.perf_counter()
    dialect = ctx.db.engine.dialect.name
    with ctx.db.session() as s:
        units = dict(s.execute(text("SELECT name, id FROM units")).all())
        if batch == 1:
            s.execute(text(CLONE_TABLE))
        rows = []
        for n in range(first, first + count):
            kind = "ended" if n % 10 == 0 else "far_along" if n % 10 in (1, 2) else "completed"
            # Far-along projects keep an open task in their own unit: not 市教育局, whose inbox stays as it is.
            names = [d for d in DEPARTMENTS if d != EDU] if kind == "far_along" else DEPARTMENTS
            rows.append({"n": n, "batch": batch, "tpl": templates[kind], "unit_id": units[names[n % len(names)]],
                         "days": 100 + (n * 37) % 631, "late": 30 if n % 5 == 0 else 0,
                         "ahead": 30 + (n * 13) % 150, "code": f"HIST-{n:06d}"})
        s.execute(text("INSERT INTO bench_clones (n, batch, tpl, unit_id, days, late, ahead, code) "
                       "VALUES (:n, :batch, :tpl, :unit_id, :days, :late, :ahead, :code)"), rows)
        where = f"WHERE b.batch = {batch}"
        s.execute(text(_insert_select("projects", {
            "code": "b.code", "name": "t.name || '（历史 ' || b.code || '）'", "unit_id": "b.unit_id",
            "declared_at": shift_ts(dialect, "t.declared_at", "b.days")},
            f"FROM bench_clones b JOIN projects t ON t.id = b.tpl {where}")))
        s.execute(text(_insert_select("process_instances", {
            "project_id": "np.id", "next_timer_at": "NULL",
            "created_at": shift_ts(dialect, "t.created_at", "b.days"),
            "updated_at": shift_ts(dialect, "t.updated_at", "b.days"),
            "completed_at": shift_ts(dialect, "t.completed_at", "b.days")},
            "FROM bench_clones b JOIN projects np ON np.code = b.code "
            f"JOIN process_instances t ON t.project_id = b.tpl {where}")))
        due_shift = "CASE WHEN t.state = 'open' THEN -b.ahead ELSE b.days + b.late END"
        s.execute(text(_insert_select("work_items", {
            "instance_id": "ni.id", "project_id": "np.id",
            "unit_id": "CASE WHEN t.unit_id = tp.unit_id THEN b.unit_id ELSE t.unit_id END",
            "created_at": shift_ts(dialect, "t.created_at", "b.days"),
            "completed_at": shift_ts(dialect, "t.completed_at", "b.days"),
            "due_at": shift_ts(dialect, "t.due_at", due_shift),
            "due_date": shift_date(dialect, "t.due_date", due_shift)},
            "FROM bench_clones b JOIN projects np ON np.code = b.code "
            "JOIN process_instances ni ON ni.project_id = np.id JOIN projects tp ON tp.id = b.tpl "
            f"JOIN work_items t ON t.project_id = b.tpl {where}")))
        # The template's work items are matched to the clone's by their engine task id (unique per
        # happy-path walk), for the clocks and for the audit records that name a work item.
        mapping = ("FROM bench_clones b JOIN projects np ON np.code = b.code "
                   "JOIN work_items tw ON tw.project_id = b.tpl "
                   "JOIN work_items cw ON cw.project_id = np.id AND cw.spiff_task_id = tw.spiff_task_id")
        s.execute(text(_insert_select("work_item_clocks", {
            "work_item_id": "cw.id", "fire_at": "NULL", "paused_at": "NULL", "original_due_date": "cw.due_date"},
            f"{mapping} JOIN work_item_clocks t ON t.work_item_id = tw.id {where}")))
        s.execute(text(_insert_select("audit_records", {
            "project_id": "np.id", "work_item_id": "cw.id", "at": shift_ts(dialect, 't."at"', "b.days")},
            "FROM bench_clones b JOIN projects np ON np.code = b.code "
            "JOIN audit_records t ON t.project_id = b.tpl "
            "LEFT JOIN work_items tw ON tw.id = t.work_item_id "
            f"LEFT JOIN work_items cw ON cw.project_id = np.id AND cw.spiff_task_id = tw.spiff_task_id {where}")))
    if analyze:  # planner statistics, as autovacuum keeps them on PostgreSQL
        with ctx.db.session() as s:
            s.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def check_templates(ctx: Govflow, templates: dict[str, int]) -> None:
    with ctx.db.session() as s:
        for pid in templates.values():
            dup = s.execute(text(f"SELECT spiff_task_id FROM work_items WHERE project_id = {pid} "
                                 "GROUP BY spiff_task_id HAVING count(*) > 1")).first()
            if dup is not None:
                raise RuntimeError(f"template {pid} repeats engine task id {dup[0]}; clones cannot be mapped")


def sizes(ctx: Govflow) -> dict[str, int]:
    with ctx.db.session() as s:
        return {t: int(s.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0)
                for t in ("projects", "process_instances", "work_items", "audit_records", "notifications")}


# -- measuring ------------------------------------------------------------------------------------------


class SqlRecorder:
    """Sums the time spent in cursor executions (`seconds`); keeps the statements while `keep`."""

    def __init__(self, engine: Any) -> None:
        self.keep = False
        self.seconds = 0.0
        self.rows: list[tuple[str, Any, float]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        took = time.perf_counter() - conn.info.get("bench_t0", time.perf_counter())
        self.seconds += took
        if self.keep:
            self.rows.append((statement, parameters, took))

    def record(self, fn: Callable[[], Any]) -> list[tuple[str, Any, float]]:
        self.rows, self.keep = [], True
        try:
            fn()
        finally:
            self.keep = False
        return self.rows


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def operations(ctx: Govflow, measured: int) -> tuple[dict[str, Callable[[], Any]], dict[str, int]]:
    edu = identity.authenticate(ctx, "edu", identity.DEMO_PASSWORD).actor()
    supervisor = identity.authenticate(ctx, "supervisor", identity.DEMO_PASSWORD).actor()
    app = create_app(ctx, secret_key="bench")
    browser = app.test_client()
    login = browser.post("/api/auth/login", json={"username": "edu", "password": identity.DEMO_PASSWORD})
    assert login.status_code == 200, login.get_data(as_text=True)
    bearer = {"Authorization": f"Bearer {login.get_json()['token']}"}
    api = app.test_client()
    today = local_date(utcnow())
    start = today - dt.timedelta(days=PERIOD_DAYS)

    def export_zip() -> int:
        archive, _ = export.export_zip(ctx, measured, edu)
        with archive:
            return len(archive.read())

    def get(client: Any, url: str, headers: dict[str, str] | None = None) -> int:
        resp = client.get(url, headers=headers or {})
        assert resp.status_code == 200, (url, resp.status_code)
        return len(resp.get_data())

    def overview() -> dict[str, Any]:
        return stats.overview(ctx, supervisor, date_from=start, date_to=today)

    ops: dict[str, Callable[[], Any]] = {
        "readers.inbox (edu)": lambda: readers.inbox(ctx, edu),
        "dossier.project_detail": lambda: dossier.project_detail(ctx, measured, edu),
        "dossier.diagram": lambda: dossier.diagram(ctx, measured, edu),
        "statistics.overview (90 d)": overview,
        "export.export_zip": export_zip,
        "GET /inbox (HTML, cookie)": lambda: get(browser, "/inbox"),
        "GET /api/tasks (bearer)": lambda: get(api, "/api/tasks", bearer),
    }
    detail = dossier.project_detail(ctx, measured, edu)
    board = overview()
    work = {"inbox_rows": len(readers.inbox(ctx, edu)), "api_tasks_bytes": ops["GET /api/tasks (bearer)"](),
            "detail_steps": len(detail["completed_steps"]), "history_records": len(detail["history"]),
            "zip_bytes": export_zip(), "overdue": sum(g["overdue"] for g in board["overdue_by_unit"]),
            "completed_in_period": sum(r["completed"] for r in board["on_time"]),
            "late_filings": board["late_filings"]}
    return ops, work


def measure(sides: dict[str, tuple[dict[str, Callable[[], Any]], SqlRecorder]],
            runs: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Runs of the small and the large database interleaved (alternating which goes first), so a
    change of machine load hits both sizes alike."""
    out: dict[str, dict[str, dict[str, Any]]] = {label: {} for label in sides}
    labels = list(sides)
    for name in sides[labels[0]][0]:
        times: dict[str, list[float]] = {label: [] for label in labels}
        sql: dict[str, list[float]] = {label: [] for label in labels}
        for label in labels:
            for _ in range(3):
                sides[label][0][name]()
        for r in range(runs):
            for label in labels if r % 2 == 0 else labels[::-1]:
                fn, recorder = sides[label][0][name], sides[label][1]
                recorder.seconds = 0.0
                t0 = time.perf_counter()
                fn()
                times[label].append(time.perf_counter() - t0)
                sql[label].append(recorder.seconds)
        for label in labels:
            statements = sides[label][1].record(sides[label][0][name])
            out[label][name] = {"median_ms": round(statistics.median(times[label]) * 1000, 2),
                                "p95_ms": round(pct(times[label], 95), 2), "queries": len(statements),
                                "sql_median_ms": round(statistics.median(sql[label]) * 1000, 2),
                                "_sql": statements}
    return out


def explain(ctx: Govflow, sql: list[tuple[str, Any, float]], top: int = 3) -> list[dict[str, Any]]:
    """The slowest statements of a run with their plans."""
    dialect = ctx.db.engine.dialect.name
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    out = []
    raw = ctx.db.engine.raw_connection()
    try:
        for statement, params, seconds in sorted(sql, key=lambda r: -r[2])[:top]:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            cur = raw.cursor()
            cur.execute(prefix + statement, params)
            plan = ["  ".join(str(c) for c in row) for row in cur.fetchall()]
            cur.close()
            out.append({"ms": round(seconds * 1000, 2), "statement": " ".join(statement.split()), "plan": plan})
        raw.rollback()
    finally:
        raw.close()
    return out


def copy_db(kind: str, url: str) -> tuple[str, Callable[[], None]]:
    """A second database with the same content (no connection to `url` may be open)."""
    if kind == "sqlite":
        copy_url, drop = scratch_db("sqlite")
        src, dst = sqlite3.connect(url.removeprefix("sqlite:///")), sqlite3.connect(copy_url.removeprefix("sqlite:///"))
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
        return copy_url, drop
    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}_large" TEMPLATE "{name}"'))

    def drop_copy() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_large" WITH (FORCE)'))
        admin.dispose()

    return f"{url}_large", drop_copy


def open_ctx(url: str) -> Govflow:
    return Govflow(Settings(database_url=url, processes_dir=ROOT / "processes", forms_dir=ROOT / "forms"))


def run_backend(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Build the small database, copy it, grow the copy to the large size, measure both interleaved."""
    url, drop = scratch_db(kind)
    drops = [drop]
    ctxs: list[Govflow] = []
    files = tempfile.mkdtemp(prefix="govflow_bench_att_")
    os.environ["GOVFLOW_ATTACHMENTS_DIR"] = files
    try:
        t0 = time.perf_counter()
        ctx = setup(url)
        current = build_current(ctx)
        check_templates(ctx, current["templates"])
        print(f"[{kind}] walked {current['walked']} projects in {current['walk_seconds']} s", flush=True)
        have = sizes(ctx)["projects"]
        n_small = max(args.small - have, 0)
        # PostgreSQL's autovacuum analyzes the tables on its own; govflow never runs ANALYZE on SQLite,
        # so the embedded default plans without statistics unless --sqlite-analyze.
        analyze = kind == "postgresql" or args.sqlite_analyze
        clone_seconds = {"small": add_history(ctx, current["templates"], 1, n_small, 1, analyze)}
        ctx.close()
        large_url, drop_large = copy_db(kind, url)
        drops.append(drop_large)
        small, large = open_ctx(url), open_ctx(large_url)
        ctxs += [small, large]
        clone_seconds["large"] = add_history(large, current["templates"], 1 + n_small,
                                             max(args.large - args.small, 0), 2, analyze)
        result: dict[str, Any] = {"analyzed": analyze, "current": current, "sizes": {}}
        sides = {}
        for label, c in (("small", small), ("large", large)):
            ops, work = operations(c, current["measured"])
            sides[label] = (ops, SqlRecorder(c.db.engine))
            size = sizes(c)
            result["sizes"][label] = {"rows": size, "work_shown": work, "clone_seconds": round(clone_seconds[label], 2)}
            print(f"[{kind}] {label}: {size} (history cloned in {clone_seconds[label]:.1f} s); work shown {work}",
                  flush=True)
        measured = measure(sides, args.runs)
        rows, diagnosis = [], []
        for name in measured["small"]:
            s_, l_ = measured["small"][name], measured["large"][name]
            ratio = round(l_["median_ms"] / s_["median_ms"], 2) if s_["median_ms"] else None
            rows.append({"operation": name, "db": kind,
                         **{f"{label}_{k}": m[name][k] for label, m in measured.items()
                            for k in ("median_ms", "p95_ms", "sql_median_ms", "queries")},
                         "ratio_large_small": ratio})
            if args.explain or (ratio is not None and ratio > args.threshold) or s_["queries"] != l_["queries"]:
                diagnosis.append({"operation": name, "db": kind, "ratio": ratio,
                                  "queries_small": s_["queries"], "queries_large": l_["queries"],
                                  "slowest_large": explain(large, l_["_sql"])})
        result["rows"], result["diagnosis"] = rows, diagnosis
        result["seconds"] = round(time.perf_counter() - t0, 1)
        return result
    finally:
        for c in ctxs:
            c.close()
        for d in reversed(drops):
            d()
        shutil.rmtree(files, ignore_errors=True)


def table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'operation':<27} {'db':<10} {'small med':>9} {'p95':>7} {'large med':>9} {'p95':>7} {'ratio':>6}  "
            f"{'SQL med s/l':>13}  {'queries s/l':>11}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['operation']:<27} {r['db']:<10} {r['small_median_ms']:>9.2f} {r['small_p95_ms']:>7.2f} "
                     f"{r['large_median_ms']:>9.2f} {r['large_p95_ms']:>7.2f} {r['ratio_large_small']:>6.2f}  "
                     f"{r['small_sql_median_ms']:>6.2f}/{r['large_sql_median_ms']:<6.2f}  "
                     f"{str(r['small_queries']) + '/' + str(r['large_queries']):>11}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["both", "sqlite", "postgresql"], default="both")
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--small", type=int, default=40, help="projects in the small database")
    ap.add_argument("--large", type=int, default=2000, help="projects in the large database")
    ap.add_argument("--threshold", type=float, default=2.0, help="explain operations whose ratio exceeds this")
    ap.add_argument("--explain", action="store_true", help="explain the slowest statements of every operation")
    ap.add_argument("--sqlite-analyze", action="store_true",
                    help="run ANALYZE on SQLite too (govflow does not: by default SQLite plans without statistics)")
    args = ap.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    t0 = time.perf_counter()
    results = {kind: run_backend(kind, args) for kind in kinds}
    rows = [r for kind in kinds for r in results[kind]["rows"]]
    print()
    print(f"median / p95 in ms over {args.runs} runs; ratio = large median / small median "
          f"({args.small} vs {args.large} projects)")
    print(table(rows))
    for kind in kinds:
        for d in results[kind]["diagnosis"]:
            print(f"\n[{kind}] {d['operation']}: ratio {d['ratio']}, queries {d['queries_small']} → "
                  f"{d['queries_large']}")
            for q in d["slowest_large"]:
                print(f"  {q['ms']} ms  {q['statement'][:300]}")
                for line in q["plan"]:
                    print(f"      {line}")
    print()
    name = "page_reads_sqlite_analyzed" if args.sqlite_analyze else "page_reads"
    write_result(name, {"runs": args.runs, "projects": {"small": args.small, "large": args.large},
                                "cpus": os.cpu_count(), "total_seconds": round(time.perf_counter() - t0, 1),
                                "table": rows, "backends": {k: {kk: v for kk, v in r.items() if kk != "rows"}
                                                            for k, r in results.items()}})


if __name__ == "__main__":
    main()
