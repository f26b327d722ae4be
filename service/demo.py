"""`govflow demo`: the embedded default end to end, no servers. Initialises SQLite under var/,
deploys processes/, and walks one project through the whole lifecycle, printing each step."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from service.config import REPO_ROOT, load_settings
from service.domain.access import Actor
from service.operations import annual_list, organisation, processes
from service.operations.context import Govflow
from service.scenario import Driver
from service.storage.migrate import upgrade
from service.storage.models import Project, WorkItem

OPERATOR = Actor("operator", None, frozenset({"admin", "system"}))


def _line(item: WorkItem, note: str = "") -> str:
    due = item.due_date.isoformat() if item.due_date else "—"
    flag = "（预估：该年放假安排未发布）" if item.due_provisional else ""
    return f"  [{item.stage}] {item.title:<14} {item.unit.name:<8} 期限 {due}{flag} {note}"


def run_demo() -> None:
    # The demo owns its own database and starts it afresh, so it can run any number of times and
    # never touches the data of `govflow init` (var/govflow.db or GOVFLOW_DATABASE_URL).
    demo_db = REPO_ROOT / "var" / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{demo_db}{suffix}").unlink(missing_ok=True)
    settings = replace(load_settings(), database_url=f"sqlite:///{demo_db}")
    upgrade(settings.database_url)
    ctx = Govflow(settings)
    organisation.ensure_units(ctx)
    deployed = processes.deploy(ctx, processes.bundle_from_directory(settings.processes_dir), OPERATOR)
    today = dt.date.today()
    year = today.year + 1
    organisation.set_window(ctx, year, dt.date(today.year, 1, 1), dt.date(today.year, 12, 31), OPERATOR)
    print(f"数据库：{settings.database_url}")
    print(f"流程 {deployed.process_key} v{deployed.version}；{year} 年度申报期已开放\n")
    driver = Driver(ctx)
    declared = driver.declare("市教育局", budget_year=year, participants=["市民政局"])
    print(f"市教育局申报项目 {declared.code}（{year} 年度），参建单位：市民政局")

    def show(item: WorkItem, result) -> None:  # type: ignore[no-untyped-def]
        print(_line(item, "→ 已办结"))

    driver.run(declared.project_id, until="budget_review", on_step=show,
               answers={"review_consolidate": [{"plan_review_result": "修改后重审"}]})
    driver.run(declared.project_id, on_step=show)
    # 第七条(五): 市大数据局 compiles, 市财政局 co-signs, 市政府 approves with its 文号.
    approved = annual_list.compile_cosign_approve(ctx, year, {declared.project_id: 450.0},
                                                  Actor("市政府", "市政府", frozenset({"leader"})),
                                                  document_no=f"东政字〔{today.year}〕1号")
    print(f"  [项目批准] 市政府批准 {year} 年度项目清单：列入 {approved.released}")
    contract_day = dt.date(today.year, 12, 28).isoformat()
    driver.run(declared.project_id, on_step=show,
               answers={"procurement": [{"contract_date": contract_day}],
                        "construction": [{"construction_action": "提交变更"}],
                        "change_request": [{"change_amount": 15.0, "new_total": 460.0, "goal_unchanged": True,
                                            "change_reason": "业务发展需要"}]})
    with ctx.db.session() as s:
        p = s.get(Project, declared.project_id)
        assert p is not None
        print(f"\n项目 {p.code}：状态 {p.status}，结果 {p.outcome}，审计记录 {p.audit_seq} 条")
    print("提示：演示数据库 var/demo.db 每次运行时重建；HTTP 接口请运行 govflow serve --demo。")
