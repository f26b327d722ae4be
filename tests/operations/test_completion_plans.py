"""A completion's cost follows its project, not the size of the database (docs/performance.md,
ninth pass; bench/completion_at_size.py measures the same):

- on PostgreSQL, with thousands of projects in the tables (planner statistics taken, as autovacuum
  keeps them), the completion's locked read and its one-statement write reach the project's rows by
  key and scan no whole table;
- on SQLite, which govflow leaves without planner statistics, no statement of a completion or of a
  task page walks the work items of every project by their state alone."""
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import event, text

from service.operations import project_file, task_actions
from service.scenario import worker
from service.storage.models import Base
from tests.conftest import BACKENDS, POSTGRESQL_ONLY

SQLITE_ONLY = pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "sqlite"])

# Enough rows that a sequential scan is a real cost, few enough to copy in about a second.
CLONES = 3000
HOT_TABLES = {"projects", "process_instances", "work_items"}


def _clone(s: Any, table: str, overrides: dict[str, str], source: str) -> None:
    cols = [c.name for c in Base.metadata.tables[table].columns if c.name != "id"]
    exprs = [overrides.get(c, f't."{c}"') for c in cols]
    s.execute(text(f'INSERT INTO {table} ({", ".join(chr(34) + c + chr(34) for c in cols)}) '
                   f'SELECT {", ".join(exprs)} {source}'))


def _grow(ctx: Any, template: int) -> None:
    """CLONES copies of the template project, each with its instance and its work items (completed,
    so no open-task index is touched), then ANALYZE."""
    with ctx.db.session() as s:
        _clone(s, "projects", {"code": "t.code || '-' || g"},
               f"FROM projects t CROSS JOIN generate_series(1, {CLONES}) g WHERE t.id = {template}")
        _clone(s, "process_instances", {"project_id": "np.id", "state": "'{}'"},
               "FROM projects np JOIN projects tp ON np.code LIKE tp.code || '-%' "
               f"JOIN process_instances t ON t.project_id = tp.id WHERE tp.id = {template}")
        _clone(s, "work_items", {"instance_id": "ni.id", "project_id": "ni.project_id", "state": "'completed'"},
               "FROM process_instances ni JOIN projects np ON np.id = ni.project_id "
               "JOIN projects tp ON np.code LIKE tp.code || '-%' "
               f"JOIN work_items t ON t.project_id = tp.id WHERE tp.id = {template}")
    with ctx.db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def _scans(plan: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    if "Relation Name" in plan:
        found.append((plan["Node Type"], plan["Relation Name"]))
    for child in plan.get("Plans", []):
        found.extend(_scans(child))
    return found


@POSTGRESQL_ONLY
def test_a_completion_reaches_its_rows_by_key_in_a_large_database(ctx, driver):
    template = driver.declare("市教育局", budget_year=2027).project_id
    driver.run(template, until="review_consolidate")
    pid = driver.declare("市教育局", budget_year=2027).project_id
    driver.run(pid, until="write_plan")
    _grow(ctx, template)
    with ctx.db.session() as s:
        assert s.scalar(text("SELECT count(*) FROM projects")) > CLONES
        assert s.scalar(text("SELECT count(*) FROM work_items")) > CLONES * 5

    plans: dict[str, list[tuple[str, str]]] = {}

    def explain(conn: Any, cur: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        head = statement.lstrip()
        kind = "write" if head.startswith("WITH u0") else "read" if "FOR UPDATE" in head else None
        if kind is None or many:
            return
        # Explained inside the transaction, in a savepoint: the same rows, locks and parameters.
        cur.execute("SAVEPOINT explain_probe")
        cur.execute("EXPLAIN (FORMAT JSON) " + statement, params)
        plan = cur.fetchone()[0]
        cur.execute("ROLLBACK TO SAVEPOINT explain_probe")
        plan = json.loads(plan) if isinstance(plan, str) else plan
        plans.setdefault(kind, []).extend(_scans(plan[0]["Plan"]))

    event.listen(ctx.db.engine, "before_cursor_execute", explain)
    try:
        driver.run(pid, until="review_cac")  # 编写方案 and on to the four parallel reviews
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", explain)

    assert set(plans) == {"read", "write"}, plans
    for kind, scans in plans.items():
        touched = {relation for _, relation in scans} & HOT_TABLES
        assert touched, (kind, scans)  # the plans were read: the hot tables are in them
        whole = [(node, relation) for node, relation in scans if node == "Seq Scan" and relation in HOT_TABLES]
        assert not whole, f"{kind} scans whole tables: {whole}"


# SQLite's plans for the work items of one project: by project (ix_work_items_project,
# ix_work_items_project_state), by id, or by the partial index of open tasks; never by a state or
# a date alone, which reads the rows of every project.
WALKS_EVERY_PROJECT = ("SCAN work_items", "ix_work_items_state_completed (state=?", "ix_work_items_due (state=?)",
                       "ix_work_items_created_at")


@SQLITE_ONLY
def test_completions_and_task_pages_read_one_projects_work_items_on_sqlite(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027).project_id
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cur: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "work_items" in statement and statement.lstrip().upper().startswith("SELECT") and not many:
            statements.append((statement, params))

    event.listen(ctx.db.engine, "before_cursor_execute", record)
    steps = 0
    try:
        while (items := driver.open_items(pid)) and steps < 40:
            for item in items:  # what each department opens before it decides
                actor = worker(item.unit.name)
                task_actions.get_task(ctx, item.id, actor)
                project_file.task_file(ctx, item.id, actor)
            driver.complete(pid, items[0].task_name)
            steps += 1
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", record)
    assert steps >= 10  # up to the annual list: 预审, 编写方案, the four reviews, 预算 …

    walks = []
    with ctx.db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        for statement, params in statements:
            plan = " | ".join(row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + statement, params or ()))
            if "work_items" in plan and any(bad in plan for bad in WALKS_EVERY_PROJECT):
                walks.append((" ".join(statement.split())[:160], plan))
    assert statements
    assert not walks, "\n".join(f"{sql}\n    {plan}" for sql, plan in walks)
