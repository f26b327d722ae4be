"""The project file on the task and project pages (docs/project-file.md): the consolidator of 方案评审
sees the four departments' conclusions side by side and the declared estimate prefilled; the
reviewer at 初审结论 reads the declaration it reviews; an involved unit opens a finished task
read-only, an uninvolved one does not; the project timeline shows decisions, not only opinions."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from service.scenario import Driver
from tests.web.conftest import no_js_errors, shot
from tests.web.test_department import field

REVIEWS = {"review_bigdata": {"conclusion": "同意", "suggested_estimate": 455.0},
           "review_cac": {"conclusion": "同意"},
           "review_police": {"conclusion": "不同意", "confirmed_mlps_level": "第三级"},
           "review_crypto": {"conclusion": "修改后同意", "crypto_level": "第二级"}}
# 市公安局's 不同意 makes 通过 need written reasons (review_outcome.dmn, docs/opinions.md).
REASONS = {"dissent_justification": "公安局所提等保问题已补充第三级测评计划，经会审确认不影响通过。"}


def _at_consolidation(web_ctx) -> tuple[Driver, int]:  # type: ignore[no-untyped-def]
    driver = Driver(web_ctx)
    pid = driver.declare("市教育局", participants=[]).project_id
    driver.run(pid, until="review_consolidate",
               answers={"write_plan": [{"estimate_total": 480.5}], **{k: [v] for k, v in REVIEWS.items()}})
    return driver, pid


def test_consolidator_sees_the_four_conclusions_side_by_side(sessions, web_ctx):
    driver, pid = _at_consolidation(web_ctx)
    item = driver.item(pid, "review_consolidate")
    page = sessions.as_("bigdata")
    page.goto(f"/tasks/{item.id}")
    table = page.locator("#branch-table")
    expect(table.locator("tbody tr")).to_have_count(4)
    for unit, conclusion in (("市大数据局", "同意"), ("市委网信办", "同意"), ("市公安局", "不同意"),
                             ("市密码管理局", "修改后同意")):
        row = table.locator(f'tbody tr[data-unit="{unit}"]')
        expect(row.locator(".fv-conclusion")).to_have_text(conclusion)
    expect(table.locator('tr[data-unit="市大数据局"] .fv-figures')).to_contain_text("455.00 万元")
    expect(table.locator('tr[data-unit="市公安局"] .fv-figures')).to_contain_text("第三级")
    # 申报投资概算 comes from 编制建设方案, the form the consolidator fills.
    expect(field(page, "declared_estimate").locator("input")).to_have_value("480.5")
    # Earlier steps, newest first: the four reviews lead, the declaration is last.
    steps = page.locator("#task-file details.fv-step")
    expect(steps.last).to_have_attribute("data-task", "submit_declaration")
    assert steps.first.get_attribute("data-task", timeout=5000) in REVIEWS
    shot(page, "task-consolidation-branches")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(table).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "task-consolidation-branches-390")
    no_js_errors(page)


def test_round_two_takes_the_revised_plans_figure(sessions, web_ctx):
    """After 修改后重审 the consolidation opens with round 1's answers, but 申报投资概算 follows the
    plan as revised since (x-prefill), not the figure round 1 was shown."""
    driver, pid = _at_consolidation(web_ctx)
    driver.complete(pid, "review_consolidate", plan_review_result="修改后重审")
    driver.run(pid, until="review_consolidate", answers={"write_plan": [{"estimate_total": 470.0}]})
    item = driver.item(pid, "review_consolidate")
    page = sessions.as_("bigdata")
    page.goto(f"/tasks/{item.id}")
    expect(page.locator("#draft-notice")).to_contain_text("已带入第1轮提交的内容")
    expect(field(page, "declared_estimate").locator("input")).to_have_value("470")
    no_js_errors(page)


def test_reviewer_at_preliminary_review_reads_the_declaration(sessions, web_ctx):
    driver = Driver(web_ctx)
    pid = driver.declare("市教育局", participants=[], project_name="东营市智慧教育平台（一期）",
                         investment_estimate=520.0).project_id
    driver.run(pid, until="preliminary_review")
    item = driver.item(pid, "preliminary_review")
    page = sessions.as_("bigdata")
    page.goto(f"/tasks/{item.id}")
    declaration = page.locator('#task-file details.fv-step[data-task="submit_declaration"]')
    expect(declaration).to_have_count(1)
    expect(declaration.locator("summary")).to_contain_text("520.00 万元")
    declaration.locator("summary").click()
    expect(declaration.locator(".sf-readonly")).to_contain_text("东营市智慧教育平台（一期）")
    expect(declaration.locator('[data-file-path="investment_estimate"]')).to_contain_text("520.00 万元")
    expect(declaration.locator("input, select, textarea")).to_have_count(0)
    # The page's own form still fills and submits (its fields are the only data-path ones).
    expect(field(page, "preliminary_decision").locator("select")).to_have_count(1)
    # Not a join: no comparison table.
    expect(page.locator("#branch-table")).to_have_count(0)
    shot(page, "task-preliminary-review-file")
    no_js_errors(page)


def test_involved_unit_opens_a_completed_task_read_only_and_others_cannot(sessions, web_ctx):
    driver, pid = _at_consolidation(web_ctx)
    page = sessions.as_("bigdata")
    page.goto(f"/tasks/{driver.item(pid, 'review_consolidate').id}")
    page.locator('#branch-table tr[data-unit="市委网信办"] a').click()
    page.wait_for_url(re.compile(r"/tasks/\d+$"))
    cac_url = page.url
    expect(page.locator("h1")).to_contain_text("方案评审（市委网信办）")
    expect(page.locator(".notice")).to_contain_text("办结")
    expect(page.locator("#task-form .sf-readonly")).to_contain_text("同意")
    expect(page.locator("#task-form input, #task-form select, #task-form textarea")).to_have_count(0)
    expect(page.locator("#submit-task")).to_have_count(0)
    expect(page.locator("#task-actions")).to_have_count(0)
    expect(page.locator("#opinion-text")).to_have_count(0)
    no_js_errors(page)

    other = sessions.as_("civil")  # 市民政局: no part in this project
    other.goto(cac_url)
    expect(other.locator("h1")).to_have_text("任务不存在或无权查看")


def test_project_timeline_shows_each_steps_decision(sessions, web_ctx):
    driver, pid = _at_consolidation(web_ctx)
    driver.complete(pid, "review_consolidate", approved_estimate=460.0, **REASONS)
    page = sessions.as_("edu")
    page.goto(f"/projects/{pid}")
    timeline = page.locator("#timeline")
    expect(timeline.locator(".decision").first).to_be_visible()
    expect(timeline).to_contain_text("审定投资概算：460.00 万元")
    expect(timeline).to_contain_text("评审结论：修改后同意")
    expect(timeline).to_contain_text("初审结论：入库")
    expect(page.locator("#project-file details.fv-step").first).to_have_attribute("data-task", "review_consolidate")
    shot(page, "project-timeline-decisions")
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#project-file details.fv-step").first.scroll_into_view_if_needed()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    no_js_errors(page)
