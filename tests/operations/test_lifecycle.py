"""The lifecycle end to end through the service layer, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from service.domain.access import Actor
from service.domain.deadlines import local_date
from service.domain.errors import ValidationFailed
from service.operations import annual_list
from service.operations.audit import verify
from service.storage.models import AuditRecord, Project, WorkItem

GOV = Actor("市政府审批人", "市政府", frozenset({"leader"}))
REVIEWS = {"review_bigdata": "市大数据局", "review_cac": "市委网信办", "review_police": "市公安局",
           "review_crypto": "市密码管理局"}


def items(ctx, project_id: int, **where) -> list[WorkItem]:
    with ctx.db.session() as s:
        q = select(WorkItem).where(WorkItem.project_id == project_id).order_by(WorkItem.id)
        for k, v in where.items():
            q = q.where(getattr(WorkItem, k) == v)
        return list(s.scalars(q))


def project(ctx, project_id: int) -> Project:
    with ctx.db.session() as s:
        p = s.get(Project, project_id)
        assert p is not None
        return p


def to_construction(driver, ctx, unit: str = "市教育局", **declare) -> int:
    pid = driver.declare(unit, budget_year=2027, **declare).project_id
    driver.run(pid, answers={"review_consolidate": [{"approved_estimate": 1000.0}]})
    annual_list.compile_cosign_approve(ctx, 2027, {pid: 450.0}, GOV)
    driver.run(pid, until="construction")
    return pid


def test_happy_path_runs_to_the_end(ctx, driver):
    declared = driver.declare("市教育局", budget_year=2027, participants=["市民政局", "市卫生健康委员会"])
    assert declared.code.startswith("DY2027-")
    pid = declared.project_id
    # 参建单位确认: one task per participating unit, each in that unit's inbox.
    confirms = {w.unit.name for w in driver.open_items(pid)}
    assert confirms == {"市民政局", "市卫生健康委员会"}
    driver.run(pid)
    p = project(ctx, pid)
    assert (p.status, p.stage) == ("active", "项目批准")
    approved = annual_list.compile_cosign_approve(ctx, 2027, {pid: 450.0}, GOV, document_no="东政办字〔2026〕1号")
    assert approved.released == [pid]
    driver.run(pid)
    p = project(ctx, pid)
    assert (p.status, p.outcome) == ("completed", "项目完成")
    done = items(ctx, pid, state="completed")
    names = [w.task_name for w in done]
    for expected in ["submit_declaration", "preliminary_review_finance", "preliminary_review", "write_plan",
                     *REVIEWS, "review_consolidate", "submit_budget", "budget_review", "consistency_request",
                     "consistency_review", "procurement", "contract_filing", "construction",
                     "acceptance_application", "acceptance_review", "acceptance", "acceptance_report_filing",
                     "self_evaluation", "evaluation_selection", "performance_evaluation"]:
        assert expected in names, expected
    by_task = {w.task_name: w for w in done}
    for task, unit in REVIEWS.items():
        assert by_task[task].unit.name == unit
    assert by_task["budget_review"].unit.name == "市财政局"
    assert by_task["acceptance"].unit.name == "市教育局"
    assert all(w.due_date is not None for w in done)
    with ctx.db.session() as s:
        assert verify(s, pid) is None
        assert s.scalar(select(AuditRecord).where(AuditRecord.project_id == pid,
                                                  AuditRecord.action == "process_ended")) is not None


def test_one_reviewer_asks_for_changes_and_all_four_review_again(ctx, driver):
    pid = driver.declare("市卫生健康委员会", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="review_consolidate",
               answers={"review_cac": [{"conclusion": "修改后同意"}]})
    driver.complete(pid, "review_consolidate", plan_review_result="修改后重审")
    assert [w.task_name for w in driver.open_items(pid)] == ["write_plan"]
    driver.complete(pid, "write_plan")
    second = {w.task_name: w for w in driver.open_items(pid)}
    assert set(second) == set(REVIEWS)
    assert all(w.round == 2 for w in second.values())
    driver.run(pid)
    assert project(ctx, pid).stage == "项目批准"


def test_rejected_at_preliminary_review_ends(ctx, driver):
    pid = driver.declare("市自然资源和规划局", budget_year=2027).project_id
    driver.run(pid, until="preliminary_review")
    driver.complete(pid, "preliminary_review", preliminary_decision="不予入库")
    p = project(ctx, pid)
    assert (p.status, p.outcome) == ("ended", "不予入库")
    assert driver.open_items(pid) == []


def test_send_back_at_preliminary_review_returns_to_declarer(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027).project_id
    driver.run(pid, until="preliminary_review")
    driver.complete(pid, "preliminary_review", preliminary_decision="退回修改")
    (item,) = driver.open_items(pid)
    assert (item.task_name, item.unit.name, item.round) == ("submit_declaration", "市教育局", 2)


def test_plan_review_rejection_ends(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027).project_id
    driver.run(pid, until="review_consolidate")
    driver.complete(pid, "review_consolidate", plan_review_result="不通过")
    assert project(ctx, pid).outcome == "评审不通过"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"change_amount": 150.00, "new_total": 1000.00}, "change_filing"),  # exactly 15.00 %: 备案
        ({"change_amount": 150.10, "new_total": 1000.00}, "change_review"),  # 15.01 %: re-review
        ({"change_amount": 50.00, "new_total": 1000.00, "change_reason": "其他"}, "change_review"),
        ({"change_amount": 50.00, "new_total": 1000.01}, "change_review"),  # over the approved estimate
        ({"change_amount": 50.00, "new_total": 990.00, "goal_unchanged": False}, "change_review"),
    ],
)
def test_change_rule_of_article_13(ctx, driver, change, expected):
    pid = to_construction(driver, ctx)
    driver.complete(pid, "construction", construction_action="提交变更")
    answer = {"goal_unchanged": True, "change_reason": "业务发展需要", **change}
    driver.complete(pid, "change_request", **answer)
    (item,) = driver.open_items(pid)
    assert item.task_name == expected
    assert item.unit.name == "市大数据局"
    driver.complete(pid, expected)
    assert [w.task_name for w in driver.open_items(pid)] == ["construction"]


def test_acceptance_impossible_before_review_passed(ctx, driver):
    pid = to_construction(driver, ctx)
    driver.complete(pid, "construction", construction_action="申请竣工验收")
    driver.complete(pid, "acceptance_application")
    assert not items(ctx, pid, task_name="acceptance")
    driver.complete(pid, "acceptance_review", acceptance_review_result="不同意")
    assert [w.task_name for w in driver.open_items(pid)] == ["construction"]
    assert not items(ctx, pid, task_name="acceptance")
    with pytest.raises(LookupError):
        driver.complete(pid, "acceptance")
    driver.complete(pid, "construction", construction_action="申请竣工验收")
    driver.complete(pid, "acceptance_application")
    driver.complete(pid, "acceptance_review")
    assert [w.task_name for w in driver.open_items(pid)] == ["acceptance"]


def test_termination_before_procurement(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027).project_id
    driver.run(pid)
    annual_list.compile_cosign_approve(ctx, 2027, {pid: 100.0}, GOV)
    driver.complete(pid, "consistency_request", procurement_action="终止项目", termination_reason="需求变化，不再实施")
    (item,) = driver.open_items(pid)
    assert item.task_name == "termination_filing"
    # 第十五条: by 30 September of the year; decided after that, the task's service level applies.
    today = local_date(item.created_at)
    if today <= dt.date(today.year, 9, 30):
        assert (item.due_date, item.due_rule) == (dt.date(today.year, 9, 30), "date_of_year:today:09-30")
    else:
        assert item.due_rule == "sla_days:10" and item.due_date > today
    driver.complete(pid, "termination_filing")
    assert project(ctx, pid).outcome == "项目终止"


def test_project_left_off_the_annual_list_ends(ctx, driver):
    on = driver.declare("市教育局", budget_year=2027).project_id
    off = driver.declare("市卫生健康委员会", budget_year=2027).project_id
    for pid in (on, off):
        driver.run(pid)
    result = annual_list.compile_cosign_approve(ctx, 2027, {on: 300.0}, GOV, left_off=[off])
    assert (result.released, result.left_off) == ([on], [off])
    assert project(ctx, off).outcome == "未列入清单"
    assert [w.task_name for w in driver.open_items(on)] == ["consistency_request"]
    with pytest.raises(Exception) as exc:
        annual_list.approve(ctx, 2027, {}, GOV, "东政字〔2026〕2号")
    assert "已批准" in str(exc.value)


def test_annual_list_is_correlated_on_budget_year(ctx, driver):
    from service.operations import organisation
    from tests.conftest import OPERATOR

    organisation.set_window(ctx, 2028, dt.date(2000, 1, 1), dt.date(2100, 1, 1), OPERATOR)
    y27 = driver.declare("市教育局", budget_year=2027).project_id
    y28 = driver.declare("市教育局", budget_year=2028).project_id
    for pid in (y27, y28):
        driver.run(pid)
    with pytest.raises(ValidationFailed) as exc:  # a 2028 project cannot be put on the 2027 list
        annual_list.compile_cosign_approve(ctx, 2027, {y27: 1.0, y28: 1.0}, GOV)
    assert [e.path for e in exc.value.errors] == ["entries/1/project_id"]
    annual_list.compile_cosign_approve(ctx, 2027, {y27: 1.0}, GOV)
    assert project(ctx, y28).stage == "项目批准" and project(ctx, y28).status == "active"
    annual_list.compile_cosign_approve(ctx, 2028, {y28: 1.0}, GOV)
    assert [w.task_name for w in driver.open_items(y28)] == ["consistency_request"]


def test_releasing_the_list_costs_the_same_statements_for_two_projects_or_eight(ctx, driver):
    """approve reads every project's open tasks in one query, takes the new tasks' ids at once and
    writes once: the statements do not grow with the list (the rows do)."""
    from service.operations import organisation
    from tests.conftest import OPERATOR, recorded_statements

    counts = []
    for year, n in ((2027, 2), (2028, 8)):
        organisation.set_window(ctx, year, dt.date(2000, 1, 1), dt.date(2100, 1, 1), OPERATOR)
        ids = [driver.declare("市教育局", budget_year=year).project_id for _ in range(n)]
        for pid in ids:
            driver.run(pid)
        system = Actor.system()
        list_id = annual_list.compile_list(ctx, year, [{"project_id": p} for p in ids], system)
        annual_list.cosign(ctx, list_id, system)
        with recorded_statements(ctx.db.engine) as seen:
            result = annual_list.approve(ctx, year, {p: 10.0 for p in ids}, GOV, "东政字〔2026〕9号", list_id=list_id)
        assert result.released == ids
        assert all([w.task_name for w in driver.open_items(p)] == ["consistency_request"] for p in ids)
        with ctx.db.session() as s:
            assert all(verify(s, p) is None for p in ids)
        counts.append(len(seen))
    assert counts[0] == counts[1], counts


def test_only_government_approves_the_list(ctx, driver):
    from service.domain.errors import Forbidden

    with pytest.raises(Forbidden) as exc:
        annual_list.approve(ctx, 2027, {}, Actor("x", "市大数据局", frozenset({"leader"})), "东政字〔2026〕1号")
    assert exc.value.article == "第七条(五)"
