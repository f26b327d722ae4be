"""项目详情 after many 退回: the timeline shows the latest records and 更多 reads older pages until
the declaration, oldest on top; the page keeps working at 390 px."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from service.scenario import Driver
from tests.http.test_api_project_history import add_send_backs
from tests.web.conftest import no_js_errors, shot


def test_project_timeline_pages_back_with_more(sessions, web_ctx):  # type: ignore[no-untyped-def]
    pid = Driver(web_ctx).declare("市教育局", participants=[]).project_id
    add_send_backs(web_ctx, pid, 40)  # 3 records a round: about 120 + the declaration's
    page = sessions.as_("edu")
    page.goto(f"/projects/{pid}")
    pager = page.locator("#history-pager")
    expect(pager).to_be_visible()
    expect(pager.locator(".pager-info")).to_have_text(re.compile(r"已显示最近 50 / \d+ 条记录"))
    expect(page.locator("#timeline li[data-action=project_declared]")).to_have_count(0)
    first_count = page.locator("#timeline li").count()
    pager.get_by_role("button", name="更多").click()
    expect(pager.locator(".pager-info")).to_have_text(re.compile(r"已显示最近 100 / \d+ 条记录"))
    assert page.locator("#timeline li").count() > first_count
    pager.get_by_role("button", name="更多").click()
    expect(pager).to_be_hidden()  # the first page is in: nothing older
    expect(page.locator("#timeline li").first).to_have_attribute("data-action", "project_declared")
    expect(page.locator("#timeline li[data-action=task_sent_back]")).to_have_count(40)
    shot(page, "project-history-more")
    no_js_errors(page)
