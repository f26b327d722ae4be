"""抄送 in a real browser: 市教育局 copies its task to 市民政局 from the task page; 市民政局's user
finds it under 抄送我的, opens it read-only with the project file, and it is read (390 px too)."""
from __future__ import annotations

from playwright.sync_api import expect

from service.scenario import Driver
from tests.web.conftest import no_js_errors, shot


def test_copy_a_task_to_a_unit_and_open_it_from_cc_inbox(sessions, web_ctx):  # type: ignore[no-untyped-def]
    driver = Driver(web_ctx)
    declared = driver.declare("市教育局", project_name="智慧校园抄送测试")
    driver.run(declared.project_id, until="write_plan")
    task = driver.item(declared.project_id, "write_plan").id

    edu = sessions.as_("edu")
    edu.goto(f"/tasks/{task}")
    edu.locator("#cc-open").click()
    dialog = edu.locator("dialog.gf-dialog")
    expect(dialog).to_contain_text("抄送任务")
    dialog.locator('input[name=units][value="市民政局"]').check()
    dialog.locator("#cc-note").fill("请贵局了解建设方案编制情况")
    shot(edu, "cc-dialog")
    dialog.locator("button[type=submit]").click()
    expect(edu.locator("#toasts")).to_contain_text("已抄送：市民政局")
    no_js_errors(edu)

    civil = sessions.as_("civil")
    civil.goto("/inbox?view=cc")
    expect(civil.locator("#inbox-tabs [data-view=cc]")).to_have_attribute("aria-selected", "true")
    expect(civil.locator("#cc-unread")).to_have_text("1")
    row = civil.locator("#inbox tbody tr[data-cc-id]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(declared.code)
    expect(row).to_contain_text("王晓燕")
    expect(row).to_contain_text("请贵局了解建设方案编制情况")
    expect(row).to_contain_text("未读")
    shot(civil, "inbox-cc")
    civil.set_viewport_size({"width": 390, "height": 800})
    assert civil.evaluate("document.documentElement.scrollWidth") <= 390
    civil.set_viewport_size({"width": 1280, "height": 900})

    row.locator("a.cc-link").click()
    civil.wait_for_url(f"**/tasks/{task}?cc=*")
    expect(civil.locator("#cc-banner")).to_contain_text("王晓燕")
    expect(civil.locator("#cc-banner")).to_contain_text("请贵局了解建设方案编制情况")
    # Read-only: no submit; the project file (the declaration before it) is there.
    expect(civil.locator("#submit-task")).to_have_count(0)
    expect(civil.locator("#project-file-card")).to_be_visible()
    expect(civil.locator("#task-file details.fv-step[data-task=submit_declaration]")).to_have_count(1)
    # A recipient does not copy on.
    expect(civil.locator("#cc-open")).to_have_count(0)
    civil.set_viewport_size({"width": 390, "height": 844})
    assert civil.evaluate("document.documentElement.scrollWidth") <= 390
    shot(civil, "phone-task-cc")

    civil.goto("/inbox?view=cc")
    expect(civil.locator("#inbox tbody tr[data-cc-id]")).to_contain_text("已读")
    no_js_errors(civil)
