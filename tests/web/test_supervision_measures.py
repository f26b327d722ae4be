"""项目详情 of a suspended project (暂停建设, 第十四条): the banner and badge, 恢复建设 by 市大数据局 only, the
measures card, and at 390 px nothing sticks out; its task says it is paused; the dashboard lists it."""
from __future__ import annotations

from playwright.sync_api import expect

from service.scenario import Driver
from tests.operations.test_supervision_measures import suspended
from tests.web.conftest import no_js_errors, shot
from tests.web.test_narrow_screens import PHONE, scroll_width, widest


def test_suspend_and_resume_on_the_project_page(web_ctx, sessions):
    pid, item_id = suspended(Driver(web_ctx), web_ctx)

    dept = sessions.as_("edu")
    dept.set_viewport_size(PHONE)
    dept.goto(f"/projects/{pid}")
    banner = dept.locator("#suspension-banner")
    expect(banner).to_contain_text("项目已暂停建设（第十四条）")
    expect(dept.locator("#project-suspension")).to_have_text("暂停建设")
    expect(banner.locator("#resume-project")).to_have_count(0)  # departments watch, 市大数据局 resumes
    expect(dept.locator("#supervision-list")).to_contain_text("暂停建设")
    dept.wait_for_load_state("networkidle")
    assert scroll_width(dept) <= PHONE["width"], widest(dept, PHONE["width"])
    shot(dept, "phone-project-suspended")
    dept.goto(f"/tasks/{item_id}")
    expect(dept.locator("#task-suspended")).to_contain_text("暂停办理")
    no_js_errors(dept)

    board = sessions.as_("supervisor")
    board.goto("/dashboard")
    expect(board.locator(f"#suspended-table tr[data-project-id='{pid}']")).to_contain_text("暂停建设")

    page = sessions.as_("bigdata")
    page.goto(f"/projects/{pid}")
    page.locator("#resume-note").fill("整改方案已确认，恢复建设")
    page.locator("#resume-project").click()
    expect(page.locator("#toasts")).to_contain_text("已恢复")
    expect(page.locator("#suspension-banner")).to_have_count(0)
    expect(page.locator("#project-suspension")).to_have_count(0)
    expect(page.locator("#supervision-list")).to_contain_text("恢复")
    no_js_errors(page)
