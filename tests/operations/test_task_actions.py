"""转办, 委派, 退回 and opinions, through the service layer and the API."""
from __future__ import annotations

import pytest

from service.domain.access import Actor
from service.domain.errors import Conflict, RuleViolation, ValidationFailed
from service.operations import identity, task_actions, tasks
from service.scenario import worker
from service.storage.models import WorkItem

ADMIN = Actor("operator", None, frozenset({"admin"}))
ALICE = Actor("alice", "市财政局", frozenset({"reviewer"}))
BOB = Actor("bob", "市财政局", frozenset({"reviewer"}))


@pytest.fixture
def colleagues(ctx):  # type: ignore[no-untyped-def]
    for name in ("alice", "bob"):
        identity.create_user(ctx, name, unit="市财政局", roles=["reviewer"], password=None)
    identity.create_user(ctx, "carol", unit="市教育局", roles=["department"], password=None)


def _first(driver) -> WorkItem:  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    (item,) = driver.open_items(pid)
    return item


def test_reassign_within_the_unit_only(ctx, driver, colleagues):
    item = _first(driver)
    with pytest.raises(ValidationFailed):
        task_actions.reassign(ctx, item.id, ALICE, "carol")  # another unit
    view = task_actions.reassign(ctx, item.id, ALICE, "bob")
    assert view["assignee"] == "bob" and view["delegated_by"] is None
    with pytest.raises(Conflict):
        tasks.complete(ctx, item.id, driver.answer(item.form), ALICE)
    tasks.complete(ctx, item.id, driver.answer(item.form), BOB)


def test_delegate_works_then_hands_back(ctx, driver, colleagues):
    item = _first(driver)
    task_actions.delegate(ctx, item.id, ALICE, "bob")
    with pytest.raises(Conflict):
        tasks.complete(ctx, item.id, driver.answer(item.form), BOB)
    task_actions.add_opinion(ctx, item.id, BOB, "经核实，资金来源明确。")
    view = task_actions.return_delegation(ctx, item.id, BOB)
    assert view["assignee"] == "alice" and view["delegated_by"] is None
    tasks.complete(ctx, item.id, driver.answer(item.form), ALICE)
    detail = task_actions.get_task(ctx, item.id, ALICE)
    assert [o["text"] for o in detail["opinions"]] == ["经核实，资金来源明确。"]


def test_send_back_only_where_the_process_allows(ctx, driver):
    item = _first(driver)
    with pytest.raises(RuleViolation) as exc:
        task_actions.send_back(ctx, item.id, worker("市财政局"), "write_plan", "材料不全")
    assert "可退回到：submit_declaration" in exc.value.message


def test_send_back_across_the_participants_confirmation(ctx, driver):
    # 初审（财政意见） → 填报入库申请, past the multi-instance 参建单位确认: it runs again afterwards.
    pid = driver.declare("市教育局", budget_year=2027, participants=["市民政局"]).project_id
    driver.complete(pid, "confirm_declaration")
    item = driver.item(pid, "preliminary_review_finance")
    task_actions.send_back(ctx, item.id, worker("市财政局"), "submit_declaration", "投资估算明细缺失")
    (again,) = driver.open_items(pid)
    assert (again.task_name, again.round, again.unit.name) == ("submit_declaration", 2, "市教育局")
    driver.complete(pid, "submit_declaration")
    (confirm,) = driver.open_items(pid)
    assert (confirm.task_name, confirm.unit.name, confirm.round) == ("confirm_declaration", "市民政局", 2)
    driver.run(pid)
    assert driver.open_items(pid) == []


def test_send_back_resets_to_the_earlier_step(ctx, driver):
    # lifecycle.bpmn lets 预算评审 send the budget back to 报送预算资料 (send_back_to).
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="budget_review")
    review = driver.item(pid, "budget_review")
    detail = task_actions.get_task(ctx, review.id, worker("市财政局"))
    assert detail["send_back_to"] == ["submit_budget"]
    with pytest.raises(ValidationFailed):
        task_actions.send_back(ctx, review.id, worker("市财政局"), "submit_budget", " ")
    opened = task_actions.send_back(ctx, review.id, worker("市财政局"), "submit_budget", "预算明细不完整")
    again = driver.item(pid, "submit_budget")
    assert opened == [again.id] and again.round == 2 and again.unit.name == "市教育局"
    assert again.due_date is not None
    assert [w.task_name for w in driver.open_items(pid)] == ["submit_budget"]
    driver.run(pid, until="budget_review")
    assert driver.item(pid, "budget_review").round == 2
    driver.run(pid)
    with ctx.db.session() as s:
        from service.operations.audit import verify

        assert verify(s, pid) is None

