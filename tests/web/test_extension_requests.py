"""延期申请 → approval in the browser: the holding unit asks for 3 working days on the task page, the
declaring unit urges it, a supervisor approves on the 督办看板, and the task page shows the new due
date (statutory working days) and the decision; both pages fit 390 px."""
from __future__ import annotations

from playwright.sync_api import expect

from service.domain.deadlines import Due, local_date
from service.scenario import Driver
from service.storage.models import WorkItem, utcnow
from tests.web.conftest import no_js_errors, shot


def _task(ctx) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    """The first task of a fresh project, due 8 working days from today; (id, due, due + 3)."""
    driver = Driver(ctx)
    pid = driver.declare("市教育局").project_id
    item = driver.open_items(pid)[0]
    with ctx.db.session() as s:
        cal = ctx.calendar(s)
        due = cal.add_working_days(local_date(utcnow()), 8).date
        row = s.get(WorkItem, item.id)
        row.due_date, row.due_at, row.due_provisional = due, Due(due, False, "test").at_utc, False
        assert row.unit.name == "市民政局"
        return item.id, due.isoformat(), cal.add_working_days(due, 3).date.isoformat()


def test_department_requests_extension_supervisor_approves(sessions, web_ctx):
    task_id, due, new_due = _task(web_ctx)

    civil = sessions.as_("civil")
    civil.goto(f"/tasks/{task_id}")
    card = civil.locator("#deadline-card")
    expect(card.get_by_role("button", name="申请延期")).to_be_visible()
    expect(card.get_by_role("button", name="催办")).to_have_count(0)  # the holder does not urge itself
    card.get_by_role("button", name="申请延期").click()
    dialog = civil.locator("dialog.gf-dialog[open]")
    dialog.locator("#ext-days").fill("3")
    dialog.get_by_role("button", name="提交申请").click()
    expect(dialog.locator(".form-error")).to_have_text("请填写延期理由")
    dialog.locator("#ext-reason").fill("需等待市财政局出具资金意见")
    dialog.get_by_role("button", name="提交申请").click()
    expect(card.locator(".ext-request[data-state=pending]")).to_contain_text("申请延期 3 个工作日")
    expect(card.get_by_role("button", name="申请延期")).to_have_count(0)  # one pending request per task
    civil.set_viewport_size({"width": 390, "height": 844})
    assert civil.evaluate("document.documentElement.scrollWidth") <= 390
    no_js_errors(civil)

    edu = sessions.as_("edu")
    edu.goto(f"/tasks/{task_id}")
    edu.locator("#deadline-card").get_by_role("button", name="催办").click()
    edu.locator("dialog.gf-dialog[open] #urge-note").fill("请尽快办理")
    edu.locator("dialog.gf-dialog[open]").get_by_role("button", name="发送催办").click()
    expect(edu.locator("#urge-summary")).to_contain_text("已催办 1 次")
    edu.locator("#deadline-card").get_by_role("button", name="催办").click()
    edu.locator("dialog.gf-dialog[open]").get_by_role("button", name="发送催办").click()
    expect(edu.locator("dialog.gf-dialog[open] .form-error")).to_contain_text("今日已催办过")
    no_js_errors(edu)

    sup = sessions.as_("supervisor")
    sup.goto("/dashboard")
    expect(sup.locator("#dashboard-root")).to_have_attribute("data-ready", "1")
    expect(sup.locator("#urge-unit-table tr[data-unit='市民政局'] td.urges")).to_have_text("1")
    row = sup.locator(f"#ext-table tr[data-task-id='{task_id}']")
    expect(row).to_contain_text("需等待市财政局出具资金意见")
    row.get_by_role("button", name="同意", exact=True).click()
    sup.locator("dialog.gf-dialog[open] #ext-decision-note").fill("同意延期")
    sup.locator("dialog.gf-dialog[open]").get_by_role("button", name="同意延期").click()
    expect(sup.locator("#ext-table")).to_contain_text("没有待审批的延期申请")
    shot(sup, "extension-dashboard")
    sup.set_viewport_size({"width": 390, "height": 844})
    assert sup.evaluate("document.documentElement.scrollWidth") <= 390
    no_js_errors(sup)

    civil.set_viewport_size({"width": 1280, "height": 900})
    civil.reload()
    expect(civil.locator("#task-due")).to_contain_text(new_due)
    approved = civil.locator("#deadline-card .ext-request[data-state=approved]")
    expect(approved).to_contain_text(f"新期限 {new_due}")
    expect(approved).to_contain_text(f"申请时期限 {due}")
    expect(approved).to_contain_text("同意延期")
    expect(civil.locator(".timeline")).to_contain_text("同意延期申请，延长 3 个工作日")
    shot(civil, "extension-task")
    assert civil.evaluate("document.documentElement.scrollWidth") <= 1280
    no_js_errors(civil)


def test_supervisor_extends_a_task_that_is_not_overdue_from_its_page(sessions, web_ctx):
    task_id, _, new_due = _task(web_ctx)
    sup = sessions.as_("supervisor")
    sup.goto(f"/tasks/{task_id}")
    sup.locator("#deadline-card").get_by_role("button", name="延期").click()
    dialog = sup.locator("dialog.gf-dialog[open]")
    dialog.locator("#ext-days").fill("3")
    dialog.locator("#ext-reason").fill("跨部门协调")
    dialog.get_by_role("button", name="确认延期").click()
    expect(sup.locator("#task-due")).to_contain_text(new_due)
    no_js_errors(sup)
