"""The project file behind every task (docs/project-file.md): earlier steps read-only for the units
involved, the four 方案评审 branches side by side at 出具评审意见, completed tasks readable by
involved units, and `x-prefill` values; through the service layer and the API, on both databases."""
from __future__ import annotations

import pytest

from service.domain.access import Actor
from service.domain.errors import Forbidden, NotFound
from service.domain.forms import Form
from service.operations import dossier, project_file, task_actions
from service.scenario import worker

BIGDATA = worker("市大数据局")
CIVIL = worker("市民政局")  # a unit with no part in the project below
SUPERVISOR = Actor("督办员", "市大数据局", frozenset({"supervisor"}))
AUDITOR = Actor("审计员", "市审计局", frozenset({"auditor"}))
REVIEWS = {"review_bigdata": {"conclusion": "同意", "suggested_estimate": 455.0},
           "review_cac": {"conclusion": "同意"},
           "review_police": {"conclusion": "不同意", "confirmed_mlps_level": "第三级"},
           "review_crypto": {"conclusion": "修改后同意", "crypto_level": "第二级"}}
# 市公安局's 不同意 makes 通过 need written reasons (review_outcome.dmn, docs/opinions.md).
REASONS = {"dissent_justification": "公安局所提等保问题已补充第三级测评计划，经会审确认不影响通过。"}


def _at_consolidation(driver, *, estimate: float = 480.5) -> int:  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="review_consolidate",
               answers={"write_plan": [{"estimate_total": estimate}], **{k: [v] for k, v in REVIEWS.items()}})
    return pid


def test_reviewer_at_preliminary_review_reads_the_declaration_and_others_do_not(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[],
                         project_name="东营市智慧教育平台（一期）").project_id
    driver.run(pid, until="preliminary_review")
    item = driver.item(pid, "preliminary_review")

    f = project_file.task_file(ctx, item.id, BIGDATA)
    names = [s["task"] for s in f["steps"]]
    assert names == ["preliminary_review_finance", "submit_declaration"]  # newest first
    declaration = f["steps"][1]
    assert declaration["data"]["project_name"] == "东营市智慧教育平台（一期）"
    assert declaration["form_title"] == "政务数字化项目入库申请" and declaration["title"] == "填报入库申请"
    kinds = {s["field"]: s["kind"] for s in declaration["summary"]}
    assert kinds["budget_year"] == "number" and kinds["investment_estimate"] == "money"
    assert f["branches"] is None  # 初审结论 follows one step, no join

    with pytest.raises(NotFound):
        project_file.task_file(ctx, item.id, CIVIL)
    with pytest.raises(Forbidden):
        project_file.project_file(ctx, pid, CIVIL)
    for reader in (SUPERVISOR, AUDITOR, worker("市教育局")):
        assert [s["task"] for s in project_file.project_file(ctx, pid, reader)["steps"]] == names


def test_consolidator_sees_the_four_branches_and_opens_their_finished_tasks(ctx, driver):
    pid = _at_consolidation(driver)
    item = driver.item(pid, "review_consolidate")
    f = project_file.task_file(ctx, item.id, BIGDATA)
    rows = f["branches"]["rows"]
    assert [r["unit"] for r in rows] == ["市大数据局", "市委网信办", "市公安局", "市密码管理局"]
    assert [r["conclusion"]["value"] for r in rows] == ["同意", "同意", "不同意", "修改后同意"]
    figures = {r["unit"]: {x["field"]: x["value"] for x in r["figures"]} for r in rows}
    assert figures["市大数据局"]["suggested_estimate"] == 455.0
    assert figures["市公安局"]["confirmed_mlps_level"] == "第三级"
    assert all(r["completed_by"] and r["completed_at"] and r["opinion"]["text"] for r in rows)

    # The 市委网信办 review, finished: readable by the consolidator (involved), not by 市民政局.
    cac = next(r["id"] for r in rows if r["task"] == "review_cac")
    view = task_actions.get_task(ctx, cac, BIGDATA)
    assert view["state"] == "completed" and view["data"]["conclusion"] == "同意"
    assert "prefill" not in view
    with pytest.raises(NotFound):
        task_actions.get_task(ctx, cac, CIVIL)
    # An open task of another unit stays hidden from an involved unit.
    with pytest.raises(NotFound):
        task_actions.get_task(ctx, item.id, worker("市委网信办"))


def test_branches_are_the_latest_pass_after_a_re_review(ctx, driver):
    pid = _at_consolidation(driver)
    first = {r["id"] for r in project_file.task_file(ctx, driver.item(pid, "review_consolidate").id,
                                                     BIGDATA)["branches"]["rows"]}
    driver.complete(pid, "review_consolidate", plan_review_result="修改后重审")
    driver.run(pid, until="review_consolidate", answers={"write_plan": [{"estimate_total": 470.0}]})
    item = driver.item(pid, "review_consolidate")
    rows = project_file.task_file(ctx, item.id, BIGDATA)["branches"]["rows"]
    assert len(rows) == 4 and not first & {r["id"] for r in rows}
    assert {r["round"] for r in rows} == {2}
    # The revised plan's figure, not the first one.
    assert task_actions.get_task(ctx, item.id, BIGDATA)["data"]["declared_estimate"] == 470.0


def test_participant_confirmations_are_branches_of_the_next_step(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=["市民政局", "市卫生健康委员会"]).project_id
    driver.run(pid, until="preliminary_review_finance")
    item = driver.item(pid, "preliminary_review_finance")
    rows = project_file.task_file(ctx, item.id, worker("市财政局"))["branches"]["rows"]
    assert sorted(r["unit"] for r in rows) == ["市卫生健康委员会", "市民政局"]
    assert all(r["conclusion"]["field"] == "confirmation" for r in rows)
    # A participating unit is involved: it reads the file.
    assert project_file.project_file(ctx, pid, CIVIL)["steps"]


def test_prefill_of_the_declared_estimate_and_the_budget_amount(ctx, driver):
    pid = _at_consolidation(driver, estimate=480.5)
    item = driver.item(pid, "review_consolidate")
    view = task_actions.get_task(ctx, item.id, BIGDATA)
    assert view["data"]["declared_estimate"] == 480.5
    assert view["prefill"]["declared_estimate"]["from_task"] == "write_plan"
    # A reader who does not hold the task sees what was entered, with the suggestion apart.
    watched = task_actions.get_task(ctx, item.id, AUDITOR)
    assert "declared_estimate" not in watched["data"] and watched["prefill"]["declared_estimate"]["value"] == 480.5

    driver.complete(pid, "review_consolidate", approved_estimate=452.3, **REASONS)
    budget = driver.item(pid, "submit_budget")
    view = task_actions.get_task(ctx, budget.id, worker("市教育局"))
    assert view["data"]["budget_amount"] == 452.3
    assert view["prefill"]["budget_amount"]["from_title"] == "出具评审意见"


def test_schema_checks_accept_the_prefill_keyword(ctx):
    schema = ctx.forms.get("plan_review_conclusion").schema
    assert schema["properties"]["declared_estimate"]["x-prefill"][0] == "write_plan.estimate_total"
    Form("plan_review_conclusion", schema).check(schema["examples"][0])  # raises on a bad schema or data


def test_project_detail_carries_each_steps_decision_for_its_readers(ctx, driver):
    pid = _at_consolidation(driver)
    driver.complete(pid, "review_consolidate", approved_estimate=460.0, **REASONS)
    steps = {s["task"]: s for s in dossier.project_detail(ctx, pid, worker("市教育局"))["completed_steps"]}
    decided = {d["field"]: d["value"] for d in steps["review_consolidate"]["decision"]}
    assert decided["plan_review_result"] == "通过" and decided["approved_estimate"] == 460.0
    assert {d["field"]: d["value"] for d in steps["preliminary_review"]["decision"]} == {"preliminary_decision": "入库"}
    # A unit with no part in the project reads no data, hence no decision either.
    hidden = dossier.project_detail(ctx, pid, CIVIL)["completed_steps"]
    assert all(s["data"] is None and s["decision"] == [] for s in hidden)
