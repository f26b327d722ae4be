"""The inbox tabs, search and pages, the unread badge on 消息 and the "next step" after a submit, in a
real browser (docs/lists.md)."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect
from sqlalchemy import select

from service.operations import reminders
from service.scenario import Driver
from service.storage.models import Notification, Project, Unit
from tests.operations.test_reminders import CFG, bj, set_due
from tests.web.conftest import no_js_errors, shot
from tests.web.test_department import fill_plan


def test_done_tab_search_and_the_next_step_after_submit(sessions, web_ctx):
    driver = Driver(web_ctx)
    first = driver.declare("市教育局", project_name="智慧校园一期")
    second = driver.declare("市教育局", project_name="教育资源平台")
    for p in (first, second):
        driver.run(p.project_id, until="write_plan")

    edu = sessions.as_("edu")
    edu.goto("/inbox")
    rows = edu.locator("#inbox tbody tr[data-task=write_plan]")
    expect(rows).to_have_count(2)
    expect(edu.locator(".pager-info")).to_have_text("第 1 / 1 页，共 2 条")
    # Search by code, lower-case: the one project.
    edu.fill("#f-q", second.code.lower())
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(second.code)
    edu.fill("#f-q", "智慧校园")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(first.code)

    rows.locator("a.task-link").click()
    edu.wait_for_url("**/tasks/*")
    fill_plan(edu, estimate_total="480")
    edu.locator('[data-path="plan_document"] input[type=file]').set_input_files(
        {"name": "建设方案.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 plan"})
    expect(edu.locator('[data-path="plan_document"] .sf-file-current a')).to_have_text("建设方案.pdf")
    edu.click("#submit-task")
    edu.wait_for_url("**/inbox*")
    toast = edu.locator("#toasts")
    expect(toast).to_contain_text(f"已提交：编制建设方案（{first.code}）。下一步：市民政局")
    expect(toast).to_contain_text("期限 20")  # a Beijing date, 20xx-mm-dd

    edu.locator("#inbox-tabs [data-view=done]").click()
    edu.fill("#f-q", "")
    done = edu.locator("#inbox tbody tr[data-task=write_plan]")
    expect(done).to_have_count(1)
    expect(done).to_contain_text(first.code)
    expect(edu.locator("#inbox thead")).to_contain_text("办结时间")
    shot(edu, "inbox-done")

    edu.locator("#inbox-tabs [data-view=mine]").click()
    mine = edu.locator("#inbox tbody tr")
    expect(mine).to_have_count(2)
    expect(edu.locator(f"#inbox tbody tr[data-project-id='{first.project_id}'] td.acting")).to_contain_text("市民政局")
    edu.fill("#f-q", second.code)
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("市教育局")  # second's open step is edu's own write_plan
    # The view and the search survive a reload (they live in the address).
    edu.reload()
    expect(edu.locator("#inbox-tabs [data-view=mine]")).to_have_attribute("aria-selected", "true")
    expect(mine).to_have_count(1)
    shot(edu, "inbox-mine")
    edu.set_viewport_size({"width": 390, "height": 800})
    assert edu.evaluate("document.documentElement.scrollWidth") <= 390
    no_js_errors(edu)


def test_unread_badge_counts_and_drops_after_reading(sessions, web_ctx):
    driver = Driver(web_ctx)
    declared = driver.declare("市教育局")
    driver.run(declared.project_id, until="write_plan")
    item = driver.item(declared.project_id, "write_plan")
    set_due(web_ctx, item.id, dt.date(2026, 4, 29))
    reminders.tick(web_ctx, bj("2026-04-29", 9), cfg=CFG)
    with web_ctx.db.session() as s:
        unread = len(s.scalars(select(Notification.id).join(Unit, Unit.id == Notification.unit_id)
                               .where(Unit.name == "市教育局", Notification.read_at.is_(None))).all())
    assert unread >= 1

    edu = sessions.as_("edu")
    edu.goto("/projects")
    badge = edu.locator(".mainnav [data-unread-badge]")
    expect(badge).to_have_text(str(unread))
    expect(badge).to_be_visible()
    edu.goto("/notifications")
    expect(edu.locator(".pager-info")).to_have_text(f"第 1 / 1 页，共 {unread} 条")
    edu.locator("#messages .mark-read").first.click()
    if unread == 1:
        expect(badge).to_be_hidden()
    else:
        expect(badge).to_have_text(str(unread - 1))
    # Search narrows the messages by the project's code.
    edu.fill("#f-q", "没有这个项目")
    expect(edu.locator("#messages")).to_contain_text("没有符合条件的消息")
    edu.fill("#f-q", declared.code)
    expect(edu.locator("#messages article.msg")).to_have_count(unread)
    no_js_errors(edu)


def test_register_search_and_pages(sessions, web_ctx):
    driver = Driver(web_ctx)
    declared = [driver.declare("市教育局", project_name=f"教育项目{i:02d}") for i in range(23)]
    edu = sessions.as_("edu")
    edu.goto("/projects")
    rows = edu.locator("#projects tbody tr")
    expect(rows).to_have_count(20)
    expect(edu.locator(".pager-info")).to_have_text("第 1 / 2 页，共 23 条")
    expect(edu.locator("#projects-count")).to_have_text("共 23 个项目")
    edu.locator(".pager-next").click()
    expect(rows).to_have_count(3)
    expect(edu.locator(".pager-next")).to_be_disabled()
    expect(rows.first).to_contain_text(declared[2].code)  # newest first: 22 … 3, then 2, 1, 0
    edu.fill("#f-q", declared[5].code)
    expect(rows).to_have_count(1)
    expect(edu.locator(".pager-info")).to_have_text("第 1 / 1 页，共 1 条")
    edu.set_viewport_size({"width": 390, "height": 800})
    assert edu.evaluate("document.documentElement.scrollWidth") <= 390
    no_js_errors(edu)


def test_tabs_search_and_filters_work_before_the_choices_arrive(sessions, web_ctx):
    """The inbox and the register are usable from the first paint: a slow /api/projects/choices
    (held here until the end) must neither leave the tabs and the search box dead nor, when it
    arrives, undo what the user picked meanwhile."""
    driver = Driver(web_ctx)
    first = driver.declare("市教育局", project_name="智慧校园一期")
    second = driver.declare("市教育局", project_name="教育资源平台")
    driver.run(first.project_id, until="write_plan")
    driver.run(second.project_id, until="write_plan")
    driver.run(first.project_id, until="review_bigdata")
    with web_ctx.db.session() as session:
        stages = {p.id: p.stage for p in session.scalars(select(Project))}
    assert stages[first.project_id] != stages[second.project_id]

    edu = sessions.as_("edu")
    held = []
    edu.route("**/api/projects/choices", lambda route: held.append(route))
    edu.goto("/inbox")
    rows = edu.locator("#inbox tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(second.code)
    edu.locator("#inbox-tabs [data-view=done]").click()
    expect(edu.locator("#inbox thead")).to_contain_text("办结时间")
    expect(rows).to_have_text("暂无已办任务")  # the driver's worker, not edu, did the steps
    edu.locator("#inbox-tabs [data-view=mine]").click()
    expect(rows).to_have_count(2)
    edu.fill("#f-q", "智慧校园")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(first.code)
    assert held, "the choices request was made (and is still held)"

    edu.goto(f"/projects?stage={stages[second.project_id]}")
    register = edu.locator("#projects tbody tr")
    expect(register).to_have_count(1)
    expect(register).to_contain_text(second.code)
    # The address's stage shows selected before the register's stages arrive.
    assert edu.locator("#f-stage").input_value() == stages[second.project_id]
    edu.select_option("#f-stage", "")
    expect(register).to_have_count(2)
    assert len(held) == 2, "the register asked for its choices too (held as well)"
    for route in held:
        route.continue_()
    expect(edu.locator("#f-stage option")).not_to_have_count(1)
    # The answer added the register's stages but kept the user's "all stages".
    assert edu.locator("#f-stage").input_value() == ""
    expect(register).to_have_count(2)
    no_js_errors(edu)
