"""督办看板: a supervisor sees an overdue task escalated by the real deadline tick, its unit, level
and working days overdue, in the table and in the charts; opens and closes a 整改 from the page.
An auditor (市审计局) reads the same board without its write actions; a department may not open it."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from service.domain.deadlines import Due, local_date
from service.domain.errors import RuleViolation
from service.operations import clocks, reminders, warnings
from service.scenario import Driver
from service.storage.models import Project, WorkItem, WorkItemClock, utcnow
from tests.operations.test_calendar_ops import contract_filing_signed
from tests.web.conftest import no_js_errors, shot

UNIT = "市教育局"  # declares; the first task may belong to another unit (参建单位)
OVERDUE_DAYS = 6  # escalation levels fire at 1, 3 and 5 working days overdue → 三级督办


@dataclass(frozen=True)
class Overdue:
    id: int
    project_id: int
    unit: str
    title: str
    stage: str


def overdue_task(ctx) -> Overdue:  # type: ignore[no-untyped-def]
    """Declare a project, move its first task's due date OVERDUE_DAYS working days back and run
    the real deadline tick now: it sends the reminders and all three escalation levels."""
    driver = Driver(ctx)
    pid = driver.declare(UNIT).project_id
    item = driver.open_items(pid)[0]
    now = utcnow()
    today = local_date(now)
    with ctx.db.session() as s:
        cal = ctx.calendar(s)
        due = clocks.working_days_before(cal, today, OVERDUE_DAYS)
        row = s.get(WorkItem, item.id)
        row.due_date, row.due_at, row.due_provisional = due, Due(due, False, "test").at_utc, False
        row.created_at = clocks.local_at(clocks.working_days_before(cal, due, 10))
        clocks.rearm(ctx, s, row, now - dt.timedelta(days=60), moved=False)
        s.get(WorkItemClock, item.id).original_due_date = due
        for clock in s.scalars(select(WorkItemClock).where(WorkItemClock.work_item_id != item.id)):
            clock.fire_at = None  # the project's other tasks stay out of the way
    result = reminders.tick(ctx, now)
    assert result.notifications >= 3
    with ctx.db.session() as s:
        row = s.get(WorkItem, item.id)
        return Overdue(row.id, row.project_id, row.unit.name, row.title, row.stage)


def test_a_supervisor_sees_an_overdue_task_escalated_on_the_dashboard(web_ctx, sessions):
    item = overdue_task(web_ctx)
    [warning] = [w for w in warnings.warnings(web_ctx) if w.work_item_id == item.id]
    assert warning.grade == "red" and warning.overdue_working_days == OVERDUE_DAYS

    page = sessions.as_("supervisor")
    page.goto("/dashboard")
    row = page.locator(f"#overdue-table tr[data-task-id='{item.id}']")
    expect(row).to_be_visible()
    expect(page.locator("#overdue-card .pager-info")).to_have_text("第 1 / 1 页，共 1 条")  # paged by the server
    expect(row.locator("td.unit")).to_have_text(item.unit)
    expect(row.locator("td.level")).to_have_text("三级督办")
    expect(row.locator("td.overdue-days")).to_have_text(str(OVERDUE_DAYS))
    expect(row).to_contain_text(item.title)
    expect(row).to_contain_text("红牌")
    expect(row.get_by_role("link").first).to_have_attribute("href", f"/projects/{item.project_id}")
    with web_ctx.db.session() as s:
        expect(row.get_by_role("link").first).to_contain_text(s.get(Project, item.project_id).name)
    expect(row.get_by_role("button", name="延期")).to_be_visible()

    # Tiles: one overdue, escalated task; one 红牌.
    expect(page.locator("[data-stat=overdue] .value")).to_have_text("1")
    expect(page.locator("[data-stat=escalated] .value")).to_have_text("1")
    expect(page.locator("[data-stat=red] .value")).to_have_text("1")
    expect(page.locator("[data-stat=rectifications] .value")).to_have_text("0")

    # The charts are drawn, with the unit and the stage in their data.
    expect(page.locator("#dashboard-root")).to_have_attribute("data-ready", "1")
    unit_chart = page.evaluate("""() => {
        const c = Chart.getChart(document.getElementById('chart-unit'));
        return c && {labels: c.data.labels, escalated: c.data.datasets[0].data, type: c.config.type};
    }""")
    assert unit_chart == {"labels": [item.unit], "escalated": [1], "type": "bar"}
    stage_labels = page.evaluate("() => Chart.getChart(document.getElementById('chart-stage')).data.labels")
    assert stage_labels == [item.stage]
    for canvas in ("chart-weekly", "chart-ontime"):
        assert page.evaluate(f"() => Boolean(Chart.getChart(document.getElementById('{canvas}')))")
    weekly = page.evaluate("() => Chart.getChart(document.getElementById('chart-weekly')).data.datasets[2].data")
    assert weekly[-1] == 1  # overdue and still open at the end of this week

    # Filters: another unit hides it; minimum level 三级 keeps it.
    page.select_option("#filter-level", "3")
    expect(row).to_be_visible()
    other = "市卫生健康委员会" if item.unit != "市卫生健康委员会" else "市民政局"
    page.select_option("#filter-unit", other)
    expect(page.locator("#overdue-table tbody")).to_contain_text("没有符合筛选条件的任务")
    page.select_option("#filter-unit", item.unit)
    expect(row).to_be_visible()
    shot(page, "dashboard")

    # 延期: the reason is required (the server says so); then the due date moves on.
    row.get_by_role("button", name="延期").click()
    extend = page.locator("#extend-dialog")
    extend.locator("#extend-days").fill("20")
    extend.get_by_role("button", name="确认延期").click()
    expect(extend.locator("#extend-error")).to_contain_text("理由")
    extend.locator("#extend-reason").fill("需等待上级批复，经研究同意延期")
    extend.get_by_role("button", name="确认延期").click()
    expect(extend).to_be_hidden()
    expect(page.locator("#toasts")).to_contain_text("已延期，新的办理期限为")
    expect(page.locator("[data-stat=red] .value")).to_have_text("0")
    # The level is read from the clock on its new date, not from the escalations sent before it:
    # no longer overdue, no longer escalated, so the row leaves the board (docs/clocks.md).
    expect(row).to_have_count(0)
    no_js_errors(page)


def test_a_paused_task_shows_its_reason_on_the_board_the_inbox_and_the_task(web_ctx, sessions):
    from service.operations.identity import DEMO_USERS

    item = overdue_task(web_ctx)
    page = sessions.as_("supervisor")
    page.goto("/dashboard")
    row = page.locator(f"#overdue-table tr[data-task-id='{item.id}']")
    row.get_by_role("button", name="补正暂停").click()
    page.locator("#pause-reason").fill("缺少等保测评报告")
    page.locator("#pause-dialog button[type=submit]").click()
    label = "已暂停计时（补正：缺少等保测评报告）"
    expect(row).to_contain_text(label)
    expect(row).not_to_contain_text("红牌")
    expect(row.locator("td.level")).not_to_have_text("三级督办")
    expect(row.locator("td.overdue-days")).to_have_text("0")
    no_js_errors(page)

    login = next(u for u, unit, roles, _ in DEMO_USERS if unit == item.unit and "leader" not in roles)
    dept = sessions.as_(login)
    dept.goto("/inbox")
    inbox_row = dept.locator(f"tr[data-task-id='{item.id}']")
    expect(inbox_row).to_contain_text(label)
    expect(inbox_row).not_to_contain_text("逾期")
    dept.goto(f"/tasks/{item.id}")
    expect(dept.locator("#task-due")).to_contain_text(label)
    expect(dept.locator("#task-due")).not_to_contain_text("已逾期")
    no_js_errors(dept)


def test_a_supervisor_opens_and_closes_a_rectification_from_the_dashboard(web_ctx, sessions):
    overdue_task(web_ctx)
    page = sessions.as_("supervisor")
    page.goto("/dashboard")
    expect(page.locator("#dashboard-root")).to_have_attribute("data-ready", "1")
    expect(page.locator("#rect-table tbody")).to_contain_text("没有未完成的整改")

    page.get_by_role("button", name="发起整改", exact=True).click()
    dialog = page.locator("#rect-dialog")
    expect(dialog).to_be_visible()
    # The server's check comes back in Chinese: a unit is required.
    dialog.get_by_role("button", name="确认发起").click()
    expect(dialog.locator("#rect-error")).to_contain_text("整改单位")
    due = (local_date(utcnow()) + dt.timedelta(days=20)).isoformat()
    dialog.locator("#rect-unit").select_option(UNIT)
    dialog.locator("#rect-reason").fill("多个任务逾期未办，督促限期整改")
    dialog.locator("#rect-due").fill(due)
    shot(page, "rectification-dialog")
    dialog.get_by_role("button", name="确认发起").click()
    expect(dialog).to_be_hidden()

    row = page.locator("#rect-table tbody tr[data-rect-id]")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-unit", UNIT)
    expect(row).to_contain_text(due)
    expect(row).to_contain_text("第二十七条")
    expect(row.locator("td.status")).to_have_text("整改中")
    expect(page.locator("[data-stat=rectifications] .value")).to_have_text("1")

    # 第二十七条: the unit may not declare until the rectification is closed.
    with pytest.raises(RuleViolation) as blocked:
        Driver(web_ctx).declare(UNIT)
    assert blocked.value.article == "第二十七条"

    row.get_by_role("button", name="整改完成").click()
    page.locator("#close-note").fill("已按期整改")
    page.locator("#close-dialog").get_by_role("button", name="确认整改完成").click()
    expect(page.locator("#rect-table tbody")).to_contain_text("没有未完成的整改")
    expect(page.locator("[data-stat=rectifications] .value")).to_have_text("0")
    page.locator("#rect-open-only").uncheck()
    expect(page.locator("#rect-table tbody tr[data-rect-id] td.status")).to_have_text("已完成")
    no_js_errors(page)


def test_an_auditor_reads_the_dashboard_and_a_department_may_not(web_ctx, sessions):
    item = overdue_task(web_ctx)
    page = sessions.as_("auditor")
    page.goto("/dashboard")
    row = page.locator(f"#overdue-table tr[data-task-id='{item.id}']")
    expect(row.locator("td.level")).to_have_text("三级督办")
    expect(page.locator("[data-stat=overdue] .value")).to_have_text("1")
    # 市审计局 is read-only: no 延期 / 补正 / 整改 buttons (and the API refuses them).
    expect(row.get_by_role("button")).to_have_count(0)
    expect(page.locator("#open-rectification")).to_have_count(0)
    no_js_errors(page)

    edu = sessions.as_("edu")
    response = edu.goto("/dashboard")
    assert response is not None and response.status == 403
    expect(edu.get_by_role("heading", name="无权访问")).to_be_visible()
    api = edu.request.get("/api/statistics/overview")
    assert api.status == 403 and re.search("督办", api.text())


def test_a_late_statutory_filing_is_put_under_rectification_from_the_dashboard(web_ctx, sessions):
    # 第十二条: the contract filing is due 10 working days after signing; signed 30 days ago.
    signed = (local_date(utcnow()) - dt.timedelta(days=30)).isoformat()
    item = contract_filing_signed(Driver(web_ctx), web_ctx, signed)
    assert reminders.tick(web_ctx, utcnow()).late_filings == 1
    with web_ctx.db.session() as s:
        project = s.get(Project, item.project_id)
        name, code = project.name, project.code

    page = sessions.as_("supervisor")
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto("/dashboard")
    late = page.locator("#late-table tbody tr[data-late-id]")
    expect(late).to_have_count(1)
    # The row names its project from the paged API itself: the dashboard lists no projects.
    expect(late.get_by_role("link").first).to_contain_text(name)
    expect(late).to_contain_text(code)
    assert not [u for u in requested if "/api/projects" in u]
    expect(late).to_contain_text("合同备案")
    expect(late).to_contain_text("第十二条")
    expect(late).to_contain_text(UNIT)
    expect(late).to_contain_text(item.due_date.isoformat())
    expect(late).to_contain_text("未整改")
    expect(page.locator("[data-stat=late_filings] .value")).to_have_text("1")

    late.locator("input[type=checkbox]").check()
    page.get_by_role("button", name="对所选逾期备案发起整改").click()
    dialog = page.locator("#rect-dialog")
    expect(dialog.locator("#rect-basis")).to_contain_text("合同备案（第十二条")
    expect(dialog.locator("#rect-unit")).to_be_hidden()
    dialog.get_by_role("button", name="确认发起").click()
    expect(dialog).to_be_hidden()
    expect(late).to_contain_text("已发起整改")
    expect(late.locator("input[type=checkbox]")).to_have_count(0)
    rect = page.locator("#rect-table tbody tr[data-rect-id]")
    expect(rect).to_have_attribute("data-unit", UNIT)
    expect(rect.locator("td.status")).to_have_text("整改中")
    no_js_errors(page)
