"""方案评审 in the browser: the four reviewing departments (lanes 市大数据局, 市委网信办, 市公安局,
市密码管理局 of processes/lifecycle.bpmn) each sign in and complete their review through the
form; then the parallel join is drawn completed and 出具评审意见 active on the project page."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from service.scenario import Driver
from tests.web.conftest import no_js_errors, shot
from tests.web.test_department import field, login

# user → (review task, its required answers by field path: text for inputs/textareas, option for selects)
REVIEWS: dict[str, tuple[str, dict[str, str]]] = {
    "bigdata": ("review_bigdata", {"conclusion": "同意", "compliance_opinion": "符合集约建设要求",
                                   "technical_feasibility_opinion": "技术路线可行",
                                   "policy_conformity_opinion": "符合第四章要求", "estimate_opinion": "概算合理",
                                   "suggested_estimate": "450"}),
    "cac": ("review_cac", {"conclusion": "同意", "data_security_opinion": "数据分类分级措施完备",
                           "personal_information_opinion": "个人信息处理符合要求"}),
    "police": ("review_police", {"conclusion": "修改后同意", "confirmed_mlps_level": "第三级",
                                 "mlps_opinion": "按第三级开展等级保护测评"}),
    "crypto": ("review_crypto", {"conclusion": "同意", "crypto_level": "第三级",
                                 "crypto_compliance_opinion": "密码应用方案符合 GB/T 39786-2021"}),
}


def answer(page: Page, values: dict[str, str]) -> None:
    for path, value in values.items():
        box = field(page, path)
        control = box.locator("select, textarea, input").first
        tag = control.evaluate("el => el.tagName")
        if tag == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)


def test_four_reviewers_complete_their_reviews_and_the_join_is_passed(sessions, web_ctx):
    driver = Driver(web_ctx)
    declared = driver.declare("市教育局", participants=[])
    driver.run(declared.project_id, until="review_bigdata")

    for user, (task, values) in REVIEWS.items():
        if user == "bigdata":
            page = sessions.new_page()
            login(page, user)  # through the login page, as a reviewer would
        else:
            page = sessions.as_(user)
            page.goto("/inbox")
        row = page.locator(f"#inbox tbody tr[data-task={task}]")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(declared.code)
        row.locator("a.task-link").click()
        page.wait_for_url(re.compile(r"/tasks/\d+$"))
        expect(page.locator("h1")).to_contain_text("方案评审")
        if user == "bigdata":
            # Without its 评审结论 the server refuses the review and names the field, under it.
            answer(page, {k: v for k, v in values.items() if k != "conclusion"})
            page.click("#submit-task")
            expect(field(page, "conclusion").locator(".sf-error")).to_have_text("评审结论：必填")
        answer(page, values)
        page.click("#submit-task")
        page.wait_for_url("**/inbox*")
        expect(page.locator(f"#inbox tbody tr[data-task={task}]")).to_have_count(0)
        no_js_errors(page)
        page.context.close()

    page = sessions.as_("edu")
    page.goto(f"/projects/{declared.project_id}")
    expect(page.locator("#diagram[data-ready]")).to_have_count(1)
    for done in ("split_review", "review_bigdata", "review_cac", "review_police", "review_crypto", "join_review"):
        expect(page.locator(f'#diagram [data-element-id="{done}"]')).to_have_class(re.compile(r"\bgf-completed\b"))
    consolidate = page.locator('#diagram [data-element-id="review_consolidate"]')
    expect(consolidate).to_have_class(re.compile(r"\bgf-active\b"))
    expect(consolidate).not_to_have_class(re.compile(r"\bgf-completed\b"))
    expect(page.locator("#current-tasks tbody tr")).to_have_count(1)
    expect(page.locator("#current-tasks")).to_contain_text("出具评审意见")
    expect(page.locator("#timeline")).to_contain_text("方案评审（市密码管理局）")
    shot(page, "project-after-review")
    no_js_errors(page)
