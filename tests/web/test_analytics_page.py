"""流程运行分析 in a real browser: the heatmap on the deployed diagram and the tables, for a
supervisor; a department is turned away."""
from __future__ import annotations

from playwright.sync_api import expect

from service.scenario import Driver
from tests.web.conftest import no_js_errors, shot


def test_supervisor_sees_the_heatmap_and_the_stage_table(sessions, web_ctx):
    driver = Driver(web_ctx)
    for _ in range(2):
        pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
        driver.run(pid, until="preliminary_review")
    page = sessions.as_("supervisor")
    page.goto("/designer/analytics")
    label = page.locator(".heat-label[data-element=submit_declaration]")
    expect(label).to_contain_text("2 项")
    expect(page.locator(".heat-waiting")).to_contain_text(["等待 2"])
    row = page.locator("#elements tr[data-element=preliminary_review]")
    expect(row).to_contain_text("初审结论")
    expect(page.locator("#stages tbody tr").first).to_contain_text("2027")
    page.select_option("#filter-unit", "市财政局")
    page.get_by_role("button", name="查询").click()
    expect(page.locator(".heat-label[data-element=submit_declaration]")).to_have_count(0)
    expect(page.locator(".heat-label[data-element=preliminary_review_finance]")).to_contain_text("2 项")
    shot(page, "process-analytics")
    no_js_errors(page)

    edu = sessions.as_("edu")
    response = edu.goto("/designer/analytics")
    assert response is not None and response.status == 403
