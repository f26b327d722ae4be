"""Demo projects for `govflow serve --demo`: a few declarations left at different steps, so every
demo login finds work in its inbox and the register, project pages and diagrams have content.
Each step runs through the service layer exactly as a department would do it."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from service.domain.access import WORKER_ROLES, Actor
from service.operations.context import Govflow
from service.operations.identity import DEMO_USERS
from service.scenario import Driver, worker
from service.storage.models import Project

# (unit, project name, participants, task to stop at: the step left open for the demo logins)
DEMO_PROJECTS: list[tuple[str, str, list[str], str | None]] = [
    ("市教育局", "东营市智慧教育公共服务平台", ["市民政局"], "review_bigdata"),
    ("市卫生健康委员会", "全民健康信息平台升级改造", [], None),
    ("市自然资源和规划局", "国土空间基础信息平台运维", [], "write_plan"),
    ("市民政局", "养老服务综合监管系统", [], "submit_budget"),
    ("市人力资源和社会保障局", "就业创业一网通办平台", [], "review_consolidate"),
]
# Per-project answers (task → overrides, one per occurrence). 就业创业一网通办平台 waits at 出具评审意见
# with 市公安局's 不同意: 通过 needs the written reasons there (review_outcome.dmn, docs/opinions.md).
DEMO_ANSWERS: dict[str, dict[str, list[dict[str, Any]]]] = {
    "就业创业一网通办平台": {"review_police": [{"conclusion": "不同意",
                                           "mlps_opinion": "拟按第三级定级，但方案未落实等级测评：不同意按现方案实施。",
                                           "modification_requirements": "未明确等保第三级测评机构和上线前测评安排"}]},
}


def demo_actor(unit: str) -> Actor:
    """The unit's first demo login (edu for 市教育局, bigdata for 市大数据局 …), so the steps the demo
    has done show a person's name and appear under that login's 已办; a unit without a login (市人力资源
    和社会保障局) acts through the scenario's 经办人."""
    for username, login_unit, roles, _ in DEMO_USERS:
        if login_unit == unit and WORKER_ROLES & set(roles):
            return Actor(username, unit, frozenset(roles))
    return worker(unit)


def seed(ctx: Govflow, budget_year: int | None = None) -> int:
    """Declares the demo projects once (nothing happens when projects exist); returns how many."""
    with ctx.db.session() as s:
        if s.scalar(select(func.count()).select_from(Project)):
            return 0
    year = budget_year or dt.date.today().year + 1
    driver = Driver(ctx, actor_of=demo_actor)
    for unit, name, participants, until in DEMO_PROJECTS:
        declared = driver.declare(unit, project_name=name, budget_year=year, participants=participants)
        if until is not None:
            driver.run(declared.project_id, until=until, answers=DEMO_ANSWERS.get(name))
    return len(DEMO_PROJECTS)
