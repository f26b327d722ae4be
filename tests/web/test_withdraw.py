"""撤回 in a real browser: from 已办 and from the completed task's page, the form reopens with the data
that was submitted; once the next unit has claimed, the button is gone (docs/withdraw.md)."""
from __future__ import annotations

from playwright.sync_api import expect

from service.domain.access import Actor
from service.operations import tasks
from service.scenario import Driver
from service.storage.models import WorkItem
from tests.web.conftest import no_js_errors, shot
from tests.web.test_department import field

EDU = Actor("edu", "市教育局", frozenset({"department"}))


def _submitted(web_ctx, notes: str) -> tuple[Driver, int, int]:  # type: ignore[no-untyped-def]
    """A project whose 报送预算资料 王晓燕 (edu) has just submitted: (driver, project id, step id)."""
    driver = Driver(web_ctx)
    pid = driver.declare("市教育局", participants=[]).project_id
    driver.run(pid, until="submit_budget")
    step = driver.item(pid, "submit_budget")
    tasks.complete(web_ctx, step.id, driver.answer(step.form, {"notes": notes}), EDU)
    return driver, pid, step.id


def _state(web_ctx, item_id: int) -> str:  # type: ignore[no-untyped-def]
    with web_ctx.db.session() as s:
        item = s.get(WorkItem, item_id)
        assert item is not None
        return item.state


def test_withdraw_from_done_list_and_from_the_task_page(sessions, web_ctx):
    driver, pid, step_id = _submitted(web_ctx, "第一次提交的说明")
    edu = sessions.as_("edu")
    edu.goto("/inbox?view=done")
    row = edu.locator(f"#inbox tbody tr[data-task-id='{step_id}']")
    expect(row).to_contain_text("报送预算资料")
    shot(edu, "withdraw-done-list")
    row.get_by_role("button", name="撤回").click()
    box = edu.locator("dialog.gf-dialog[open]")
    expect(box).to_contain_text("下一步任务取消，本步骤重新打开")
    box.get_by_role("button", name="确认撤回").click()
    edu.wait_for_url("**/tasks/*")
    expect(edu.locator("#toasts")).to_contain_text("已撤回“报送预算资料”")
    reopened = int(edu.url.rsplit("/", 1)[1])
    assert reopened != step_id and _state(web_ctx, step_id) == "cancelled"
    expect(field(edu, "notes").locator("textarea")).to_have_value("第一次提交的说明")
    expect(edu.locator("#submit-task")).to_be_visible()
    assert [w.task_name for w in driver.open_items(pid)] == ["submit_budget"]
    shot(edu, "withdraw-reopened")
    no_js_errors(edu)

    # Submitted again; this time taken back from the completed task's read-only page.
    tasks.complete(web_ctx, reopened, driver.answer("budget_submission", {"notes": "第二次提交"}), EDU)
    edu.goto(f"/tasks/{reopened}")
    expect(edu.locator(".notice")).to_contain_text("办结")
    edu.locator("#task-actions").get_by_role("button", name="撤回").click()
    edu.locator("dialog.gf-dialog[open]").get_by_role("button", name="确认撤回").click()
    edu.wait_for_url(lambda url: url.rstrip("/").rsplit("/", 1)[1] not in (str(reopened), "inbox"))
    expect(field(edu, "notes").locator("textarea")).to_have_value("第二次提交")
    # The history shows the 撤回 with what it cancelled.
    expect(edu.locator(".timeline li[data-action='task_taken_back']").first).to_contain_text("撤回：报送预算资料")
    no_js_errors(edu)


def test_no_button_once_the_next_unit_claimed_and_the_refusal_is_shown(sessions, web_ctx):
    driver, pid, step_id = _submitted(web_ctx, "说明")
    edu = sessions.as_("edu")
    edu.goto(f"/tasks/{step_id}")
    button = edu.locator("#task-actions").get_by_role("button", name="撤回")
    expect(button).to_be_visible()
    # 市财政局 claims the next step while the page is open: the server refuses, the dialog says why.
    tasks.claim(web_ctx, driver.item(pid, "budget_review").id, Actor("finance", "市财政局", frozenset({"reviewer"})))
    button.click()
    box = edu.locator("dialog.gf-dialog[open]")
    box.get_by_role("button", name="确认撤回").click()
    expect(box.locator(".form-error")).to_have_text("下一步“预算评审”已由 市财政局 认领，不能撤回")
    assert _state(web_ctx, step_id) == "completed"
    edu.goto(f"/tasks/{step_id}")
    expect(edu.locator("h1")).to_contain_text("报送预算资料")
    expect(edu.get_by_role("button", name="撤回")).to_have_count(0)
    edu.goto("/inbox?view=done")
    done_row = edu.locator(f"#inbox tbody tr[data-task-id='{step_id}']")
    expect(done_row).to_be_visible()
    expect(done_row.get_by_role("button", name="撤回")).to_have_count(0)
    no_js_errors(edu)


def test_done_list_with_the_button_fits_a_phone(sessions, web_ctx):
    _submitted(web_ctx, "说明")
    edu = sessions.as_("edu")
    edu.set_viewport_size({"width": 390, "height": 844})
    edu.goto("/inbox?view=done")
    expect(edu.get_by_role("button", name="撤回")).to_be_visible()
    assert edu.evaluate("document.documentElement.scrollWidth") <= 390
    shot(edu, "phone-withdraw-done-list")
    no_js_errors(edu)
