"""撤回 / 拿回 through the service layer (both databases): the step reopens with its data, the next
tasks are cancelled, and every way the next unit can have started refuses it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service.domain.access import Actor
from service.domain.errors import Conflict, NotFound
from service.operations import audit, countersign, drafts, extension_requests, task_actions, tasks, withdraw
from service.scenario import worker
from service.storage.models import AuditRecord, Notification, WorkItem, WorkItemClock
from tests.operations.test_concurrency import run_at_once

EDU = worker("市教育局")
FINANCE = worker("市财政局")
REVIEWS = ("review_bigdata", "review_cac", "review_police", "review_crypto")


def _at_budget(driver) -> tuple[int, WorkItem, WorkItem]:  # type: ignore[no-untyped-def]
    """submit_budget (市教育局) completed, budget_review (市财政局) open and untouched."""
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="submit_budget")
    step = driver.item(pid, "submit_budget")
    driver.complete(pid, "submit_budget", notes="撤回前的说明")
    return pid, step, driver.item(pid, "budget_review")


def _get(ctx, work_item_id: int) -> WorkItem:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        item = s.get(WorkItem, work_item_id)
        assert item is not None
        s.expunge(item)
        return item


def _refused(ctx, work_item_id: int, actor: Actor) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(Conflict) as exc:
        withdraw.withdraw(ctx, work_item_id, actor)
    return exc.value.message


def test_withdraw_reopens_the_step_with_its_data_and_cancels_the_next(ctx, driver):
    pid, step, nxt = _at_budget(driver)
    submitted = _get(ctx, step.id)
    view = task_actions.get_task(ctx, step.id, EDU)
    assert view["can_withdraw"] is True and view["withdraw_refusal"] is None

    done = withdraw.withdraw(ctx, step.id, EDU)

    assert done.withdrawn_id == step.id and done.cancelled == [nxt.id]
    (reopened,) = driver.open_items(pid)
    assert reopened.id == done.work_item_id and reopened.task_name == "submit_budget"
    assert reopened.data == submitted.data and reopened.data["notes"] == "撤回前的说明"
    assert reopened.round == submitted.round and reopened.assignee == EDU.user
    # The clock continues from the original opening: same due date.
    assert (reopened.due_date, reopened.due_at) == (submitted.due_date, submitted.due_at)
    assert _get(ctx, nxt.id).state == "cancelled" and _get(ctx, step.id).state == "cancelled"
    page = task_actions.get_task(ctx, reopened.id, EDU)
    assert page["data"]["notes"] == "撤回前的说明" and page["state"] == "open"
    with ctx.db.session() as s:
        actions = [r.action for r in s.scalars(select(AuditRecord).where(AuditRecord.project_id == pid)
                                               .order_by(AuditRecord.seq))][-3:]
        assert actions == ["task_withdrawn", "task_opened", "task_taken_back"]
        (note,) = s.scalars(select(Notification).where(Notification.work_item_id == nxt.id)).all()
        assert note.kind == "withdrawn" and note.unit_id == nxt.unit_id and "撤回" in note.subject
        clock = s.get(WorkItemClock, reopened.id)
        assert clock is not None and clock.original_due_date == submitted.due_date
        assert audit.verify(s, pid) is None
    # Twice: the step is open again, not completed.
    assert "已撤回" in _refused(ctx, step.id, EDU)
    # Submitted again, the flow goes on as before, in the same round.
    tasks.complete(ctx, reopened.id, driver.answer("budget_submission"), EDU)
    assert driver.item(pid, "budget_review").round == nxt.round
    driver.run(pid)
    with ctx.db.session() as s:
        assert audit.verify(s, pid) is None


def test_refused_once_the_next_unit_claimed(ctx, driver):
    _, step, nxt = _at_budget(driver)
    tasks.claim(ctx, nxt.id, FINANCE)
    assert task_actions.get_task(ctx, step.id, EDU)["can_withdraw"] is False
    assert _refused(ctx, step.id, EDU) == "下一步“预算评审”已由 市财政局 认领，不能撤回"
    assert _get(ctx, nxt.id).state == "open" and _get(ctx, step.id).state == "completed"


def test_refused_after_an_opinion_a_draft_or_completion_of_the_next(ctx, driver):
    _, step, nxt = _at_budget(driver)
    task_actions.add_opinion(ctx, nxt.id, FINANCE, "材料已收到")
    assert "已有 市财政局 的办理意见" in _refused(ctx, step.id, EDU)

    _, step, nxt = _at_budget(driver)
    drafts.save(ctx, nxt.id, FINANCE, {"budget_decision": "建议安排"})
    assert "已暂存" in _refused(ctx, step.id, EDU)
    drafts.discard(ctx, nxt.id, FINANCE)
    withdraw.withdraw(ctx, step.id, EDU)  # the draft gone, nothing started any more

    pid, step, nxt = _at_budget(driver)
    driver.complete(pid, "budget_review")
    assert "已由 市财政局 办结" in _refused(ctx, step.id, EDU)


def test_refused_once_the_next_unit_asked_for_a_countersign_or_an_extension(ctx, driver):
    # Unclaimed, no opinion, no draft: but 市财政局 has acted on the task all the same.
    _, step, nxt = _at_budget(driver)
    countersign.add(ctx, nxt.id, FINANCE, "before", [{"unit": "市公安局"}])
    assert _refused(ctx, step.id, EDU) == "下一步“预算评审”已由 市财政局 发起加签，不能撤回"
    assert task_actions.get_task(ctx, step.id, EDU)["can_withdraw"] is False

    _, step, nxt = _at_budget(driver)
    extension_requests.request(ctx, nxt.id, 3, "需补充材料", FINANCE)
    assert _refused(ctx, step.id, EDU) == "下一步“预算评审”已由 市财政局 申请延期，不能撤回"
    assert _get(ctx, nxt.id).state == "open" and _get(ctx, step.id).state == "completed"


def test_only_the_person_who_completed_it(ctx, driver):
    _, step, _ = _at_budget(driver)
    colleague = Actor("市教育局同事", "市教育局", frozenset({"department"}))
    assert task_actions.get_task(ctx, step.id, colleague)["can_withdraw"] is False
    assert _refused(ctx, step.id, colleague).startswith("该步骤不是您办理的")
    with pytest.raises(NotFound):  # an uninvolved unit does not even see the task
        withdraw.withdraw(ctx, step.id, worker("市民政局"))


def test_refused_once_the_project_ended(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="preliminary_review")
    last = driver.item(pid, "preliminary_review")
    driver.complete(pid, "preliminary_review", preliminary_decision="不予入库")
    assert driver.open_items(pid) == []
    assert _refused(ctx, last.id, worker(last.unit.name)).startswith("项目已终止")


def test_parallel_review_only_what_that_completion_opened(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="review_bigdata")
    bigdata = driver.item(pid, "review_bigdata")
    driver.complete(pid, "review_bigdata")
    driver.complete(pid, "review_cac")
    # A partial join opened nothing: the review simply reopens, the others are untouched.
    done = withdraw.withdraw(ctx, bigdata.id, worker("市大数据局"))
    assert done.cancelled == []
    assert {w.task_name for w in driver.open_items(pid)} == {"review_bigdata", "review_police", "review_crypto"}
    bigdata = driver.item(pid, "review_bigdata")
    driver.complete(pid, "review_bigdata")
    driver.complete(pid, "review_police")
    crypto = driver.item(pid, "review_crypto")
    driver.complete(pid, "review_crypto")
    (consolidate,) = driver.open_items(pid)
    assert consolidate.task_name == "review_consolidate"
    # The earlier branches were merged into the last one's continuation: only the last may withdraw.
    assert "并行各方已汇合" in _refused(ctx, bigdata.id, worker("市大数据局"))
    done = withdraw.withdraw(ctx, crypto.id, worker("市密码管理局"))
    assert done.cancelled == [consolidate.id]
    assert [w.task_name for w in driver.open_items(pid)] == ["review_crypto"]
    driver.complete(pid, "review_crypto")
    assert [w.task_name for w in driver.open_items(pid)] == ["review_consolidate"]
    driver.run(pid)
    with ctx.db.session() as s:
        assert audit.verify(s, pid) is None


def test_multi_instance_confirmation(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=["市民政局", "市卫生健康委员会"]).project_id
    driver.run(pid, until="confirm_plan")
    first = [w for w in driver.open_items(pid) if w.unit.name == "市民政局"][0]
    tasks.complete(ctx, first.id, driver.answer(first.form), worker("市民政局"))
    withdraw.withdraw(ctx, first.id, worker("市民政局"))  # one of two confirmed: reopens alone
    assert sorted(w.unit.name for w in driver.open_items(pid)) == ["市卫生健康委员会", "市民政局"]
    first = [w for w in driver.open_items(pid) if w.unit.name == "市民政局"][0]
    tasks.complete(ctx, first.id, driver.answer(first.form), worker("市民政局"))
    last = driver.item(pid, "confirm_plan")
    tasks.complete(ctx, last.id, driver.answer(last.form), worker("市卫生健康委员会"))
    assert {w.task_name for w in driver.open_items(pid)} == set(REVIEWS)
    # The node's continuation is not the instance's own: refused, nothing changed.
    assert "流程已进入下一步" in _refused(ctx, last.id, worker("市卫生健康委员会"))
    assert {w.task_name for w in driver.open_items(pid)} == set(REVIEWS)


def test_withdraw_racing_the_next_units_claim_one_wins(ctx, driver):
    for _ in range(3):
        pid, step, nxt = _at_budget(driver)
        results = run_at_once([lambda s=step: withdraw.withdraw(ctx, s.id, EDU),
                               lambda n=nxt: tasks.claim(ctx, n.id, FINANCE)])
        kinds = sorted(kind for kind, _ in results)
        assert kinds == ["conflict", "ok"], results
        open_now = driver.open_items(pid)
        if results[0][0] == "ok":
            assert [w.task_name for w in open_now] == ["submit_budget"]
            assert "撤回" in results[1][1].message
        else:
            assert [(w.task_name, w.assignee) for w in open_now] == [("budget_review", FINANCE.user)]
            assert "认领" in results[0][1].message
        with ctx.db.session() as s:
            assert audit.verify(s, pid) is None
