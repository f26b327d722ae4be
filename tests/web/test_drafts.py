"""暂存 in a real browser: a draft survives a reload and an expired session, a task sent back opens
with the previous round and the 退回 reason, and leaving with unsaved changes asks first."""
from __future__ import annotations

import io
import re

from playwright.sync_api import Page, expect
from sqlalchemy import delete

from service.domain.access import Actor
from service.operations import attachments, drafts, task_actions, tasks
from service.scenario import Driver, worker
from service.storage.models import WebSession
from tests.web.conftest import no_js_errors, shot
from tests.web.test_department import field, login


def _at_submit_budget(web_ctx) -> tuple[Driver, int, int]:  # type: ignore[no-untyped-def]
    driver = Driver(web_ctx)
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="submit_budget")
    return driver, pid, driver.item(pid, "submit_budget").id


EDU = Actor("edu", "市教育局", frozenset({"department"}))


def test_a_saved_draft_survives_a_reload(sessions, web_ctx):
    _, _, item_id = _at_submit_budget(web_ctx)
    page = sessions.new_page()
    login(page, "edu")
    page.goto(f"/tasks/{item_id}")
    field(page, "budget_amount").locator("input").fill("321.5")
    field(page, "notes").locator("textarea").fill("预算测算依据见附件，尚未写完")
    page.click("#save-draft")
    expect(page.locator("#draft-status")).to_contain_text("已暂存")
    page.reload()
    expect(page.locator("#draft-notice")).to_contain_text(re.compile(r"已恢复 \d{4}-\d\d-\d\d \d\d:\d\d 暂存的内容"))
    expect(field(page, "budget_amount").locator("input")).to_have_value("321.5")
    expect(field(page, "notes").locator("textarea")).to_have_value("预算测算依据见附件，尚未写完")
    shot(page, "task-draft-restored")
    # Another user of the same unit does not see it.
    other = sessions.new_page()
    login(other, "edu_leader")
    other.goto(f"/tasks/{item_id}")
    expect(field(other, "notes").locator("textarea")).to_have_value("")
    expect(other.locator("#draft-notice")).to_have_count(0)
    no_js_errors(page)
    no_js_errors(other)


def test_discarding_a_draft_returns_the_form_to_the_task(sessions, web_ctx):
    _, _, item_id = _at_submit_budget(web_ctx)
    page = sessions.new_page()
    login(page, "edu")
    page.goto(f"/tasks/{item_id}")
    expect(page.locator("#discard-draft")).to_be_hidden()
    field(page, "notes").locator("textarea").fill("写错了，不要了")
    page.click("#save-draft")
    expect(page.locator("#discard-draft")).to_be_visible()
    page.reload()
    expect(field(page, "notes").locator("textarea")).to_have_value("写错了，不要了")
    page.click("#discard-draft")
    page.locator("dialog.gf-dialog button.danger").click()
    expect(page.locator("#draft-notice")).to_have_count(0)
    expect(field(page, "notes").locator("textarea")).to_have_value("")
    expect(page.locator("#discard-draft")).to_be_hidden()
    assert drafts.load(web_ctx, item_id, EDU) is None
    no_js_errors(page)


def test_typed_values_survive_an_expired_session(sessions, web_ctx):
    _, _, item_id = _at_submit_budget(web_ctx)
    page = sessions.new_page()
    login(page, "edu")
    page.goto(f"/tasks/{item_id}")
    field(page, "budget_amount").locator("input").fill("88")
    field(page, "notes").locator("textarea").fill("会话过期前填写的说明")
    # The session ends on the server (idle timeout, sign-out elsewhere) before the user submits.
    with web_ctx.db.session() as s:
        s.execute(delete(WebSession))
    page.click("#submit-task")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("input[name=username]", "edu")
    page.fill("input[name=password]", "govflow-demo")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf"/tasks/{item_id}$"))
    expect(page.locator("#draft-notice")).to_contain_text("登录过期前填写的内容")
    expect(field(page, "budget_amount").locator("input")).to_have_value("88")
    expect(field(page, "notes").locator("textarea")).to_have_value("会话过期前填写的说明")
    # …and it is saved on the server as the user's draft right away.
    expect(page.locator("#draft-status")).to_contain_text("已暂存")
    assert drafts.load(web_ctx, item_id, EDU)["data"]["notes"] == "会话过期前填写的说明"
    no_js_errors(page)


def test_a_task_sent_back_opens_with_the_last_round_and_the_reason(sessions, web_ctx):
    driver, pid, item_id = _at_submit_budget(web_ctx)
    edu = worker("市教育局")
    ids = {name: str(attachments.upload(web_ctx, pid, f"{label}.pdf", io.BytesIO(b"%PDF-1.4 " + name.encode()),
                                        "application/pdf", edu, work_item_id=item_id)["id"])
           for name, label in (("plan_attachment", "建设方案"), ("budget_attachment", "预算申请表"),
                               ("review_opinion_attachment", "评审意见"))}
    tasks.complete(web_ctx, item_id, driver.answer("budget_submission", {**ids, "other_attachments": None,
                                                                          "budget_amount": 455.5}), edu)
    review = driver.item(pid, "budget_review")
    task_actions.send_back(web_ctx, review.id, worker("市财政局"), "submit_budget", "预算明细不完整，请补充测算依据")
    again = driver.item(pid, "submit_budget")

    page = sessions.new_page()
    login(page, "edu")
    page.goto(f"/tasks/{again.id}")
    expect(page.locator("#returned-reason")).to_contain_text("退回原因：预算明细不完整，请补充测算依据")
    expect(page.locator("#returned-reason")).to_contain_text("市财政局")
    expect(page.locator("#draft-notice")).to_contain_text("已带入第1轮提交的内容和附件")
    expect(field(page, "budget_amount").locator("input")).to_have_value("455.5")
    expect(field(page, "plan_attachment").locator(".sf-file-current a")).to_have_text("建设方案.pdf")
    expect(field(page, "budget_attachment").locator(".sf-file-current a")).to_have_text("预算申请表.pdf")
    shot(page, "task-round-two")
    # Submitted as prefilled: no file had to be uploaded again.
    page.click("#submit-task")
    page.wait_for_url("**/inbox*")
    assert driver.item(pid, "budget_review").round == 2
    no_js_errors(page)


def test_leaving_with_unsaved_changes_asks_first(sessions, web_ctx):
    _, _, item_id = _at_submit_budget(web_ctx)
    page = sessions.new_page()
    login(page, "edu")
    page.goto(f"/tasks/{item_id}")
    expect(page.locator("#save-draft")).to_be_visible()
    # Nothing typed: leaving asks nothing.
    seen: list[str] = []
    page.on("dialog", lambda d: (seen.append(d.type), d.accept()))
    page.click("a.button[href='/inbox']")
    page.wait_for_url("**/inbox*")
    assert seen == []
    page.goto(f"/tasks/{item_id}")
    field(page, "notes").locator("textarea").click()
    field(page, "notes").locator("textarea").fill("还没保存")
    page.click("a.button[href='/inbox']")
    page.wait_for_url("**/inbox*")
    assert seen == ["beforeunload"]
    no_js_errors(page)


def test_the_task_page_with_drafts_fits_a_phone(sessions, web_ctx):
    _, _, item_id = _at_submit_budget(web_ctx)
    page: Page = sessions.new_page()
    login(page, "edu")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/tasks/{item_id}")
    expect(page.locator("#save-draft")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
