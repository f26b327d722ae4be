"""The task actions in a real browser, each through the buttons and dialogs the pages offer, then
checked at the service layer: 认领/取消认领 from the inbox, 转办 and 委派/交回 from the task page
(service/operations/task_actions.py), 退回 along a `send_back_to` of processes/lifecycle.bpmn,
the 消息 page over notifications made by the real deadline tick, and 意见/附件 on a task."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from playwright.sync_api import Page, expect
from sqlalchemy import select

from service.domain.deadlines import Due, local_date
from service.operations import clocks, reminders
from service.scenario import Driver
from service.storage.models import Attachment, Notification, Opinion, Unit, WorkItem, WorkItemClock, utcnow
from tests.web.conftest import no_js_errors, shot

UNIT = "市教育局"  # users edu (department) and edu_leader (leader)


# --- scene and service-layer helpers ---------------------------------------------------------

def write_plan_task(ctx) -> tuple[int, int, str]:  # type: ignore[no-untyped-def]
    """A 市教育局 project standing at 编制建设方案 (市教育局's task): (project id, task id, code)."""
    driver = Driver(ctx)
    declared = driver.declare(UNIT, participants=[])
    driver.run(declared.project_id, until="write_plan")
    return declared.project_id, driver.item(declared.project_id, "write_plan").id, declared.code


def work_item(ctx, item_id: int) -> WorkItem:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        item = s.get(WorkItem, item_id)
        assert item is not None
        s.expunge(item)
        return item


def audit_records(page: Page, project_id: int, action: str) -> list[dict[str, Any]]:
    """The project's audit chain as the API gives it (verified), only the records of `action`."""
    r = page.request.get(f"/api/projects/{project_id}/audit")
    assert r.ok, r.text()
    body = r.json()
    assert body["verified"] is True
    return [rec for rec in body["records"] if rec["action"] == action]


def csrf(page: Page) -> str:
    return page.locator('meta[name="csrf-token"]').get_attribute("content") or ""


def inbox_row(page: Page, item_id: int):  # type: ignore[no-untyped-def]
    return page.locator(f"#inbox tbody tr[data-task-id='{item_id}']")


def assignee_cell(page: Page, item_id: int):  # type: ignore[no-untyped-def]
    return inbox_row(page, item_id).locator("td").nth(7)


def dialog(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("dialog.gf-dialog[open]")


# --- 1. 认领 / 取消认领 --------------------------------------------------------------------------

def test_claim_and_unclaim_from_the_inbox(sessions, web_ctx):
    project_id, item_id, code = write_plan_task(web_ctx)

    edu = sessions.as_("edu")
    edu.goto("/inbox")
    row = inbox_row(edu, item_id)
    expect(row).to_contain_text(code)
    expect(assignee_cell(edu, item_id)).to_have_text("未认领")
    row.get_by_role("button", name="认领").click()
    expect(edu.locator("#toasts")).to_contain_text("已认领：编制建设方案")
    expect(assignee_cell(edu, item_id)).to_have_text("王晓燕")
    expect(row.get_by_role("button", name="取消认领")).to_be_visible()
    assert work_item(web_ctx, item_id).assignee == "edu"
    [claimed] = audit_records(edu, project_id, "task_claimed")
    assert claimed["actor"] == "edu" and claimed["work_item_id"] == item_id

    # The unit's leader sees who holds it and is offered nothing to do with it.
    leader = sessions.as_("edu_leader")
    leader.goto("/inbox")
    expect(assignee_cell(leader, item_id)).to_have_text("王晓燕")
    expect(inbox_row(leader, item_id).get_by_role("button")).to_have_count(0)
    leader.goto(f"/tasks/{item_id}")
    expect(leader.locator(".notice")).to_contain_text("该任务已由 王晓燕 认领，其他人不能办理")
    expect(leader.locator("#submit-task")).to_have_count(0)

    edu.get_by_role("button", name="取消认领").click()
    expect(edu.locator("#toasts")).to_contain_text("已取消认领：编制建设方案")
    expect(assignee_cell(edu, item_id)).to_have_text("未认领")
    expect(row.get_by_role("button", name="认领")).to_be_visible()
    assert work_item(web_ctx, item_id).assignee is None
    [unclaimed] = audit_records(edu, project_id, "task_unclaimed")
    assert unclaimed["actor"] == "edu"

    leader.goto("/inbox")
    expect(assignee_cell(leader, item_id)).to_have_text("未认领")
    expect(inbox_row(leader, item_id).get_by_role("button", name="认领")).to_be_visible()
    no_js_errors(edu)
    no_js_errors(leader)


# --- 2. 转办 ---------------------------------------------------------------------------------

def test_reassign_from_the_task_page_to_a_colleague_of_the_unit(sessions, web_ctx):
    project_id, item_id, code = write_plan_task(web_ctx)

    edu = sessions.as_("edu")
    edu.goto(f"/tasks/{item_id}")
    expect(edu.locator("h1")).to_contain_text("编制建设方案")
    edu.locator("#task-actions").get_by_role("button", name="转办").click()
    box = dialog(edu)
    expect(box.locator("h2")).to_have_text("转办任务")
    # Only the other users of 市教育局: not edu itself, nobody of another unit.
    options = box.locator("#assign-user option")
    expect(options).to_have_count(2)
    assert options.evaluate_all("els => els.map(e => e.value)") == ["", "edu_leader"]
    box.get_by_role("button", name="转办").click()  # nobody chosen: refused in the dialog
    expect(box.locator(".form-error")).to_have_text("请选择用户")
    assert work_item(web_ctx, item_id).assignee is None
    box.locator("#assign-user").select_option("edu_leader")
    box.get_by_role("button", name="转办").click()
    edu.wait_for_url("**/inbox*")
    expect(edu.locator("#toasts")).to_contain_text("已转办给 刘建国：编制建设方案")
    expect(assignee_cell(edu, item_id)).to_have_text("刘建国")

    item = work_item(web_ctx, item_id)
    assert (item.assignee, item.delegated_by, item.state) == ("edu_leader", None, "open")
    [moved] = audit_records(edu, project_id, "task_reassigned")
    assert moved["actor"] == "edu" and moved["detail"]["to"] == "edu_leader"

    # 只看我认领的: edu_leader finds it there, edu no longer does.
    leader = sessions.as_("edu_leader")
    leader.goto("/inbox")
    leader.locator("#f-mine").check()
    expect(leader).to_have_url(re.compile(r"mine=true"))
    expect(leader.locator("#inbox tbody tr")).to_have_count(1)
    expect(inbox_row(leader, item_id)).to_contain_text(code)
    expect(leader.locator("#inbox-count")).to_have_text("共 1 项")
    edu.locator("#f-mine").check()
    expect(edu.locator("#inbox tbody")).to_contain_text("暂无符合条件的待办")
    # The new holder may submit it; edu now only reads it.
    leader.goto(f"/tasks/{item_id}")
    expect(leader.locator("#submit-task")).to_be_visible()
    edu.goto(f"/tasks/{item_id}")
    expect(edu.locator(".notice")).to_contain_text("该任务已由 刘建国 认领")
    expect(edu.locator("#task-actions")).to_have_count(0)
    no_js_errors(edu)
    no_js_errors(leader)


# --- 3. 委派 and 交回 ---------------------------------------------------------------------------

def test_delegate_then_the_delegate_hands_the_task_back(sessions, web_ctx):
    """The rule (task_actions._assign, tasks.complete): the delegate works on the task but may not
    submit it nor pass it on; it hands it back (交回) and the delegator submits."""
    project_id, item_id, _ = write_plan_task(web_ctx)

    edu = sessions.as_("edu")
    edu.goto(f"/tasks/{item_id}")
    edu.locator("#task-actions").get_by_role("button", name="委派").click()
    box = dialog(edu)
    expect(box.locator("h2")).to_have_text("委派任务")
    box.locator("#assign-user").select_option("edu_leader")
    box.get_by_role("button", name="委派").click()
    edu.wait_for_url("**/inbox*")
    expect(edu.locator("#toasts")).to_contain_text("已委派给 刘建国")
    expect(inbox_row(edu, item_id)).to_contain_text("王晓燕 委派")
    item = work_item(web_ctx, item_id)
    assert (item.assignee, item.delegated_by) == ("edu_leader", "edu")
    [delegated] = audit_records(edu, project_id, "task_delegated")
    assert delegated["actor"] == "edu" and delegated["detail"]["to"] == "edu_leader"

    # The delegator waits: the page says so and offers nothing.
    edu.goto(f"/tasks/{item_id}")
    expect(edu.locator(".notice")).to_contain_text("该任务已委派给 刘建国，办理后由其交回您提交")
    expect(edu.locator("#task-actions")).to_have_count(0)

    leader = sessions.as_("edu_leader")
    leader.goto(f"/tasks/{item_id}")
    expect(leader.locator(".notice")).to_contain_text("由 王晓燕 委派给您")
    actions = leader.locator("#task-actions")
    expect(actions.get_by_role("button", name="交回")).to_be_visible()
    for absent in ("提交", "转办", "委派", "取消认领"):
        expect(actions.get_by_role("button", name=absent, exact=True)).to_have_count(0)
    # The server holds the same rule: a delegate's submission is refused.
    refused = leader.request.post(f"/api/tasks/{item_id}/complete", headers={"X-CSRF-Token": csrf(leader)},
                                  data={"data": {}})
    assert refused.status == 409
    assert "须交回委派人 王晓燕" in refused.json()["error"]["message"]
    # The delegate's contribution: an opinion, then 交回.
    leader.locator("#opinion-text").fill("已核对建设内容，请委派人提交。")
    leader.locator("#save-opinion").click()
    expect(leader.locator("#opinion-list")).to_contain_text("已核对建设内容，请委派人提交。")
    actions.get_by_role("button", name="交回").click()
    leader.wait_for_url("**/inbox*")
    expect(leader.locator("#toasts")).to_contain_text("已交回委派人")
    expect(assignee_cell(leader, item_id)).to_have_text("王晓燕")

    item = work_item(web_ctx, item_id)
    assert (item.assignee, item.delegated_by, item.state) == ("edu", None, "open")
    [returned] = audit_records(leader, project_id, "task_delegation_returned")
    assert returned["actor"] == "edu_leader" and returned["detail"]["to"] == "edu"

    # Back with edu, who may submit again and sees the delegate's opinion.
    edu.goto(f"/tasks/{item_id}")
    expect(edu.locator("#submit-task")).to_be_visible()
    expect(edu.locator("#task-actions").get_by_role("button", name="交回")).to_have_count(0)
    expect(edu.locator("#opinion-list")).to_contain_text("刘建国")
    no_js_errors(edu)
    no_js_errors(leader)


# --- 4. 退回 ---------------------------------------------------------------------------------

def test_send_back_along_the_process_with_a_reason(sessions, web_ctx):
    """初审（财政意见）(市财政局) has send_back_to=submit_declaration in processes/lifecycle.bpmn."""
    driver = Driver(web_ctx)
    declared = driver.declare(UNIT, participants=[])
    project_id = declared.project_id
    review = driver.item(project_id, "preliminary_review_finance")
    reason = "投资估算缺少测算依据，请补充同类项目价格参考后重新申报。"

    finance = sessions.as_("finance")
    finance.goto("/inbox")
    inbox_row(finance, review.id).locator("a.task-link").click()
    finance.wait_for_url(f"**/tasks/{review.id}")
    finance.locator("#send-back").click()
    box = dialog(finance)
    expect(box.locator("h2")).to_have_text("退回")
    # The only target the process allows, by its Chinese title.
    targets = box.locator("#send-back-to option")
    expect(targets).to_have_count(1)
    expect(targets).to_have_text("填报入库申请")
    expect(targets).to_have_attribute("value", "submit_declaration")

    ok = box.get_by_role("button", name="确认退回")
    ok.click()  # no reason: refused in the dialog (the page checks before asking the server)
    expect(box.locator(".form-error")).to_have_text("请填写退回理由")
    box.locator("#send-back-reason").fill("   \n ")
    ok.click()
    expect(box.locator(".form-error")).to_have_text("请填写退回理由")
    expect(box).to_be_visible()
    assert work_item(web_ctx, review.id).state == "open"
    assert audit_records(finance, project_id, "task_sent_back") == []

    box.get_by_role("button", name="取消").click()  # cancelled: nothing sent
    expect(dialog(finance)).to_have_count(0)
    assert work_item(web_ctx, review.id).state == "open"

    finance.locator("#send-back").click()
    box = dialog(finance)
    expect(box.locator(".form-error")).to_be_hidden()  # a fresh dialog, no stale error
    box.locator("#send-back-reason").fill(reason)
    shot(finance, "task-send-back-dialog")
    box.get_by_role("button", name="确认退回").click()
    finance.wait_for_url("**/inbox*")
    expect(finance.locator("#toasts")).to_contain_text("已退回到“填报入库申请”")
    expect(inbox_row(finance, review.id)).to_have_count(0)

    # Service layer: the review is cancelled, 填报入库申请 opens again in round 2 for 市教育局.
    assert work_item(web_ctx, review.id).state == "cancelled"
    [again] = driver.open_items(project_id)
    assert (again.task_name, again.round, again.unit.name) == ("submit_declaration", 2, UNIT)
    [sent] = audit_records(finance, project_id, "task_sent_back")
    assert sent["actor"] == "finance"
    assert sent["detail"] == {"task": "preliminary_review_finance", "to": "submit_declaration", "reason": reason}

    edu = sessions.as_("edu")
    edu.goto("/inbox")
    row = inbox_row(edu, again.id)
    expect(row).to_contain_text(declared.code)
    expect(row).to_contain_text("填报入库申请")
    expect(row.locator(".badge.blue")).to_have_text("第2轮")

    edu.goto(f"/projects/{project_id}")
    back = edu.locator("#timeline li[data-action=task_sent_back]")
    expect(back).to_have_count(1)
    expect(back).to_contain_text("初审（财政意见）：退回到“填报入库申请”")
    expect(back).to_contain_text(f"退回理由：{reason}")
    expect(back).to_contain_text("周敏")
    expect(edu.locator("#current-tasks")).to_contain_text("第2轮")
    no_js_errors(finance)
    no_js_errors(edu)


def test_send_back_dialog_shows_the_servers_field_message(sessions, web_ctx):
    """When the server refuses a send-back with a 422 (ValidationFailed), the dialog shows the
    server's field message, not only the generic "表单数据不符合要求" (ApiError.display).

    Reached through the UI with a reason the page takes for text but the server finds blank:
    U+001F is whitespace to Python's str.strip (task_actions.send_back), not to JS String.trim."""
    driver = Driver(web_ctx)
    declared = driver.declare(UNIT, participants=[])
    review = driver.item(declared.project_id, "preliminary_review_finance")

    finance = sessions.as_("finance")
    finance.goto(f"/tasks/{review.id}")
    # The API itself names the field and says what is wrong.
    api = finance.request.post(f"/api/tasks/{review.id}/send-back", headers={"X-CSRF-Token": csrf(finance)},
                               data={"to_task": "submit_declaration", "reason": "\x1f"})
    assert api.status == 422
    error = api.json()["error"]
    assert error["message"] == "表单数据不符合要求"
    assert error["errors"] == [{"path": "reason", "message": "退回理由：不能为空"}]

    finance.locator("#send-back").click()
    box = dialog(finance)
    box.locator("#send-back-reason").fill("\x1f")
    box.get_by_role("button", name="确认退回").click()
    expect(box.locator(".form-error")).to_be_visible()  # the server answered (the page let it through)
    assert work_item(web_ctx, review.id).state == "open"
    expect(box.locator(".form-error")).to_contain_text("退回理由：不能为空")


# --- 5. 消息 ---------------------------------------------------------------------------------

def move_due(ctx, item_id: int, working_days: int) -> None:  # type: ignore[no-untyped-def]
    """Set an open task's due date `working_days` from today (negative: overdue), as in
    tests/web/test_supervisor.overdue_task, so that the next tick plans it afresh."""
    now = utcnow()
    with ctx.db.session() as s:
        cal = ctx.calendar(s)
        today = local_date(now)
        due = (cal.add_working_days(today, working_days).date if working_days > 0
               else clocks.working_days_before(cal, today, -working_days))
        row = s.get(WorkItem, item_id)
        row.due_date, row.due_at, row.due_provisional = due, Due(due, False, "test").at_utc, False
        row.created_at = clocks.local_at(clocks.working_days_before(cal, due, 10))
        clocks.rearm(ctx, s, row, now - dt.timedelta(days=60), moved=False)
        s.get(WorkItemClock, item_id).original_due_date = due


def test_notifications_page_lists_marks_read_and_filters(sessions, web_ctx):
    # Two 市教育局 tasks: one 6 working days overdue (一级督办 to the unit, higher levels elsewhere),
    # one due in a working day (办理提醒); the real tick sends them.
    _, overdue_id, overdue_code = write_plan_task(web_ctx)
    _, soon_id, soon_code = write_plan_task(web_ctx)
    move_due(web_ctx, overdue_id, -6)
    move_due(web_ctx, soon_id, 1)
    result = reminders.tick(web_ctx, utcnow())
    assert result.notifications == 4  # remind_before + escalation levels 1, 2, 3

    with web_ctx.db.session() as s:
        mine = {(n.work_item_id, n.kind, n.level): n.id for n in s.scalars(
            select(Notification).join(Unit, Unit.id == Notification.unit_id).where(Unit.name == UNIT))}
    assert set(mine) == {(overdue_id, "escalation", 1), (soon_id, "remind_before", 0)}
    escalation_id, remind_id = mine[(overdue_id, "escalation", 1)], mine[(soon_id, "remind_before", 0)]

    edu = sessions.as_("edu")
    edu.goto("/notifications")
    messages = edu.locator("#messages article.msg")
    expect(messages).to_have_count(2)  # levels 2 and 3 went to 市大数据局 and 市政府, not here
    expect(edu.locator("#msg-count")).to_have_text("共 2 条，未读 2 条")
    escalation = edu.locator(f"#messages article[data-id='{escalation_id}']")
    remind = edu.locator(f"#messages article[data-id='{remind_id}']")
    expect(escalation.locator(".badge")).to_have_text("一级督办")
    expect(escalation).to_contain_text(overdue_code)
    expect(escalation.get_by_role("link", name="办理任务")).to_have_attribute("href", f"/tasks/{overdue_id}")
    expect(remind.locator(".badge")).to_have_text("办理提醒")
    expect(remind).to_contain_text(soon_code)
    for raw in ("escalation", "remind_before"):
        expect(edu.locator("#messages")).not_to_contain_text(raw)
    expect(messages.and_(edu.locator(".unread"))).to_have_count(2)
    shot(edu, "notifications")

    remind.get_by_role("button", name="标为已读").click()
    expect(edu.locator("#msg-count")).to_have_text("共 2 条，未读 1 条")
    expect(remind).to_contain_text("已读 · edu")
    expect(remind).not_to_have_class(re.compile(r"\bunread\b"))
    with web_ctx.db.session() as s:
        read = s.get(Notification, remind_id)
        assert read.read_by == "edu" and read.read_at is not None
        assert s.get(Notification, escalation_id).read_at is None

    edu.locator("#f-unread").select_option("true")
    expect(messages).to_have_count(1)
    expect(edu.locator(f"#messages article[data-id='{remind_id}']")).to_have_count(0)
    expect(escalation).to_be_visible()
    edu.locator("#f-kind").select_option("remind_before")
    expect(edu.locator("#messages")).to_contain_text("没有未读消息")
    edu.locator("#f-kind").select_option("")

    edu.locator("#read-all").click()
    expect(edu.locator("#messages")).to_contain_text("没有未读消息")
    expect(edu.locator("#read-all")).to_be_hidden()
    edu.locator("#f-unread").select_option("")
    expect(messages).to_have_count(2)
    expect(edu.locator("#msg-count")).to_have_text("共 2 条，未读 0 条")
    with web_ctx.db.session() as s:
        for nid in (escalation_id, remind_id):
            assert s.get(Notification, nid).read_by == "edu"
    no_js_errors(edu)


# --- 6. 意见 and 附件 ----------------------------------------------------------------------------

def test_opinion_and_attachment_on_the_task_page(sessions, web_ctx):
    project_id, item_id, _ = write_plan_task(web_ctx)
    text = "建议与市教育局已建的教育资源平台整合，避免重复建设。"
    content = "第一次方案研讨会纪要\n参会：市教育局、市大数据局\n".encode()

    edu = sessions.as_("edu")
    edu.goto(f"/tasks/{item_id}")
    expect(edu.locator("#opinion-list")).to_contain_text("暂无意见")
    edu.locator("#save-opinion").click()  # empty: not sent
    expect(edu.locator("#toasts")).to_contain_text("请先填写意见")
    edu.locator("#opinion-text").fill(text)
    edu.locator("#save-opinion").click()
    expect(edu.locator("#toasts")).to_contain_text("意见已保存")
    expect(edu.locator("#opinion-list li")).to_have_count(1)
    expect(edu.locator("#opinion-list")).to_contain_text(text)
    expect(edu.locator("#opinion-list")).to_contain_text("王晓燕 ·")
    expect(edu.locator("#opinion-text")).to_have_value("")

    task = edu.request.get(f"/api/tasks/{item_id}").json()
    assert [(o["text"], o["author"]) for o in task["opinions"]] == [(text, "edu")]
    with web_ctx.db.session() as s:
        [row] = s.scalars(select(Opinion).where(Opinion.work_item_id == item_id))
        assert (row.text, row.author, row.project_id) == (text, "edu", project_id)
    [added] = audit_records(edu, project_id, "opinion_added")
    assert added["detail"]["text"] == text

    expect(edu.locator("#attachment-list")).to_contain_text("暂无附件")
    edu.locator("#attachment-upload").set_input_files(
        {"name": "方案研讨会纪要.txt", "mimeType": "text/plain", "buffer": content})
    expect(edu.locator("#toasts")).to_contain_text("已上传：方案研讨会纪要.txt")
    link = edu.locator("#attachment-list a", has_text="方案研讨会纪要.txt")
    expect(link).to_have_count(1)
    expect(edu.locator("#attachment-list")).to_contain_text("王晓燕")
    href = link.get_attribute("href") or ""
    assert re.fullmatch(r"/api/attachments/\d+", href), href
    download = edu.request.get(href)
    assert download.ok and download.body() == content

    with web_ctx.db.session() as s:
        [att] = s.scalars(select(Attachment).where(Attachment.project_id == project_id))
        assert (att.filename, att.size, att.work_item_id, att.uploaded_by) == (
            "方案研讨会纪要.txt", len(content), item_id, "edu")
        assert href == f"/api/attachments/{att.id}"

    # Both survive a reload (read back from the server, not just painted).
    edu.reload()
    expect(edu.locator("#opinion-list")).to_contain_text(text)
    expect(edu.locator("#attachment-list a", has_text="方案研讨会纪要.txt")).to_have_count(1)
    no_js_errors(edu)
