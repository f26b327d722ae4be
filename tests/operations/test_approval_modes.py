"""Approval modes of multi-instance nodes (会签 / 比例会签 / 或签 / 依次) through the service layer, on
SQLite and PostgreSQL: what each mode decides, that instances the engine cancels are withdrawn
cleanly with an audit record and a message, and that an objection sends the declaration back."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service.domain.access import Actor
from service.domain.errors import BundleRejected, Conflict
from service.operations import processes, task_actions, tasks
from service.scenario import worker
from service.storage.models import AuditRecord, Notification, WorkItem
from tests.operations.test_concurrency import run_at_once
from tests.operations.test_processes import DESIGNER, bundle

UNITS = ["市民政局", "市卫生健康委员会", "市自然资源和规划局"]
CONDITION = ('<bpmn:completionCondition xsi:type="bpmn:tFormalExpression">approval_objected &gt; 0'
             "</bpmn:completionCondition>")
RATIO = "approval_agreed * 3 >= approval_total * 2 or (approval_total - approval_objected) * 3 &lt; approval_total * 2"
OBJECTION = {"confirmation": "有异议", "objection": "数据共享范围与本单位职责不符，请删去低保人员明细"}


def with_mode(mode: str, condition: str, *, sequential: bool = False) -> dict[str, bytes]:
    """The lifecycle with 参建单位确认申报 in another mode (the first of the two confirmation nodes)."""
    files = bundle()
    text = files["lifecycle.bpmn"].decode()
    head, sep, tail = text.partition('<bpmn:userTask id="confirm_declaration"')
    node, end, rest = tail.partition("</bpmn:userTask>")
    node = node.replace('name="approval_mode" value="all"', f'name="approval_mode" value="{mode}"')
    node = node.replace(CONDITION, f'<bpmn:completionCondition xsi:type="bpmn:tFormalExpression">{condition}'
                                   "</bpmn:completionCondition>")
    if sequential:
        node = node.replace("<bpmn:multiInstanceLoopCharacteristics>",
                            '<bpmn:multiInstanceLoopCharacteristics isSequential="true">')
    files["lifecycle.bpmn"] = (head + sep + node + end + rest).encode()
    return files


def confirmations(ctx, pid: int, state: str = "open") -> dict[str, WorkItem]:
    with ctx.db.session() as s:
        rows = s.scalars(select(WorkItem).where(WorkItem.project_id == pid, WorkItem.task_name == "confirm_declaration",
                                                WorkItem.state == state).order_by(WorkItem.id)).all()
        return {w.unit.name: w for w in rows}


def confirm(driver, item: WorkItem, **values) -> tasks.Completion:
    return tasks.complete(driver.ctx, item.id, driver.answer("participant_confirmation", values),
                          worker(item.unit.name))


def approval_of(ctx, item: WorkItem) -> dict:
    return task_actions.get_task(ctx, item.id, worker(item.unit.name))["approval"]


def records(ctx, pid: int, action: str) -> list[AuditRecord]:
    with ctx.db.session() as s:
        return list(s.scalars(select(AuditRecord).where(AuditRecord.project_id == pid, AuditRecord.action == action)
                              .order_by(AuditRecord.seq)))


def open_names(driver, pid: int) -> set[str]:
    return {w.task_name for w in driver.open_items(pid)}


def test_countersign_objection_sends_the_declaration_back_to_the_lead_unit(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=UNITS).project_id
    open_ = confirmations(ctx, pid)
    assert set(open_) == set(UNITS)
    assert approval_of(ctx, open_["市民政局"])["summary"] == "会签：3 家中已有 0 家同意"
    confirm(driver, open_["市民政局"])
    view = approval_of(ctx, open_["市卫生健康委员会"])
    assert (view["mode"], view["total"], view["decided"], view["agreed"]) == ("all", 3, 1, 1)
    assert view["summary"] == "会签：3 家中已有 1 家同意"

    confirm(driver, open_["市卫生健康委员会"], **OBJECTION)
    # The third unit's instance was cancelled by the engine: withdrawn, audited, told.
    assert set(confirmations(ctx, pid, "cancelled")) == {"市自然资源和规划局"}
    assert open_names(driver, pid) == {"submit_declaration"}
    decided = records(ctx, pid, "approval_decided")
    assert len(decided) == 1
    assert decided[0].detail["result"] == "有异议" and decided[0].detail["unit"] == "市卫生健康委员会"
    assert [c["unit"] for c in decided[0].detail["cancelled"]] == ["市自然资源和规划局"]
    with ctx.db.session() as s:
        notes = s.scalars(select(Notification).where(Notification.project_id == pid,
                                                     Notification.kind == "approval_closed")).all()
        assert [n.unit_id for n in notes] == [open_["市自然资源和规划局"].unit_id]
        assert "已撤销" in notes[0].subject
    with pytest.raises(Conflict, match="撤回"):
        confirm(driver, confirmations(ctx, pid, "cancelled")["市自然资源和规划局"])

    # The lead unit's 申报 reopens, round 2, with the previous data and the objection as the reason.
    lead = driver.item(pid, "submit_declaration")
    assert lead.round == 2 and lead.unit.name == "市教育局"
    with ctx.db.session() as s:  # and the lead unit is told, with the objection
        (told,) = s.scalars(select(Notification).where(Notification.project_id == pid,
                                                       Notification.kind == "approval_objected")).all()
        assert (told.work_item_id, told.unit_id) == (lead.id, lead.unit_id)
        assert told.payload["recipient_unit"] == told.payload["unit"] == "市教育局"
        assert "市卫生健康委员会" in told.payload["lead"] and OBJECTION["objection"] in told.payload["lead"]
    task = task_actions.get_task(ctx, lead.id, worker("市教育局"))
    assert task["returned"]["kind"] == "objection"
    assert task["returned"]["reason"] == OBJECTION["objection"]
    assert task["returned"]["unit"] == "市卫生健康委员会"
    assert task["previous_round"]["data"]["participants"] == UNITS

    # Revised and resubmitted: a fresh 会签 round in which everyone agrees moves on.
    driver.complete(pid, "submit_declaration", participants=UNITS[:2])
    second = confirmations(ctx, pid)
    assert set(second) == set(UNITS[:2]) and all(w.round == 2 for w in second.values())
    for w in second.values():
        confirm(driver, w)
    assert open_names(driver, pid) == {"preliminary_review_finance"}
    assert records(ctx, pid, "approval_decided")[-1].detail["result"] == "通过"


def test_the_last_unit_objecting_tells_the_lead_unit_too(ctx, driver):
    """The objection comes last: no other instance is left to withdraw, so nothing is flushed before
    the step's one write. The lead unit is told all the same (its reopened task was looked for by
    time in the database before, and was not there yet)."""
    pid = driver.declare("市教育局", budget_year=2027, participants=UNITS).project_id
    open_ = confirmations(ctx, pid)
    confirm(driver, open_["市民政局"])
    confirm(driver, open_["市卫生健康委员会"])
    confirm(driver, open_["市自然资源和规划局"], **OBJECTION)
    lead = driver.item(pid, "submit_declaration")
    assert lead.round == 2
    assert records(ctx, pid, "approval_decided")[-1].detail["cancelled"] == []
    with ctx.db.session() as s:
        (told,) = s.scalars(select(Notification).where(Notification.project_id == pid,
                                                       Notification.kind == "approval_objected")).all()
        assert (told.work_item_id, told.unit_id) == (lead.id, lead.unit_id)
        assert told.payload["recipient_unit"] == "市教育局"
        assert "市自然资源和规划局" in told.payload["lead"]


def test_ratio_two_of_three_passes_and_cancels_the_third_cleanly(ctx, driver):
    processes.deploy(ctx, with_mode("ratio:2/3", RATIO), DESIGNER)
    pid = driver.declare("市教育局", budget_year=2027, participants=UNITS).project_id
    open_ = confirmations(ctx, pid)
    summary = approval_of(ctx, open_["市民政局"])["summary"]
    assert summary == "会签（2/3 同意即通过）：3 家中已有 0 家同意（需 2 家同意）"
    confirm(driver, open_["市民政局"])
    assert approval_of(ctx, open_["市卫生健康委员会"])["agreed"] == 1
    confirm(driver, open_["市卫生健康委员会"])
    assert set(confirmations(ctx, pid, "cancelled")) == {"市自然资源和规划局"}
    assert open_names(driver, pid) == {"preliminary_review_finance"}
    withdrawn = records(ctx, pid, "task_withdrawn")
    assert [r.work_item_id for r in withdrawn] == [open_["市自然资源和规划局"].id]
    decided = records(ctx, pid, "approval_decided")
    assert (decided[0].detail["result"], decided[0].detail["agreed"], decided[0].detail["total"]) == ("通过", 2, 3)


def test_ratio_fails_once_two_thirds_can_no_longer_agree(ctx, driver):
    processes.deploy(ctx, with_mode("ratio:2/3", RATIO), DESIGNER)
    pid = driver.declare("市教育局", budget_year=2027, participants=UNITS).project_id
    open_ = confirmations(ctx, pid)
    confirm(driver, open_["市民政局"], **OBJECTION)
    assert open_names(driver, pid) == {"confirm_declaration"}  # one objection: 2 of 3 can still agree
    confirm(driver, open_["市卫生健康委员会"], **OBJECTION)
    assert open_names(driver, pid) == {"submit_declaration"}


@pytest.mark.parametrize("first", [{}, OBJECTION])
def test_any_first_decision_decides(ctx, driver, first):
    processes.deploy(ctx, with_mode("any", "approval_decided &gt;= 1"), DESIGNER)
    pid = driver.declare("市教育局", budget_year=2027, participants=UNITS).project_id
    open_ = confirmations(ctx, pid)
    assert approval_of(ctx, open_["市民政局"])["summary"] == "或签：任一家决定即可"
    confirm(driver, open_["市自然资源和规划局"], **first)
    assert set(confirmations(ctx, pid, "cancelled")) == {"市民政局", "市卫生健康委员会"}
    assert open_names(driver, pid) == ({"submit_declaration"} if first else {"preliminary_review_finance"})
    with ctx.db.session() as s:
        assert len(s.scalars(select(Notification).where(Notification.kind == "approval_closed")).all()) == 2


def test_sequential_opens_one_unit_after_another(ctx, driver):
    processes.deploy(ctx, with_mode("sequential", "approval_objected &gt; 0", sequential=True), DESIGNER)
    pid = driver.declare("市教育局", budget_year=2027, participants=UNITS).project_id
    for n, unit in enumerate(UNITS, start=1):
        open_ = confirmations(ctx, pid)
        assert list(open_) == [unit]
        assert approval_of(ctx, open_[unit])["summary"] == f"依次：第 {n} 家，共 3 家，已有 {n - 1} 家同意"
        confirm(driver, open_[unit])
    assert open_names(driver, pid) == {"preliminary_review_finance"}
    assert len(confirmations(ctx, pid, "completed")) == 3 and not confirmations(ctx, pid, "cancelled")


def test_sequential_objection_stops_the_chain(ctx, driver):
    processes.deploy(ctx, with_mode("sequential", "approval_objected &gt; 0", sequential=True), DESIGNER)
    pid = driver.declare("市教育局", budget_year=2027, participants=UNITS).project_id
    confirm(driver, confirmations(ctx, pid)["市民政局"])
    confirm(driver, confirmations(ctx, pid)["市卫生健康委员会"], **OBJECTION)
    assert open_names(driver, pid) == {"submit_declaration"}
    assert "市自然资源和规划局" not in confirmations(ctx, pid, "cancelled")  # never opened


@pytest.mark.parametrize(("mode", "condition", "message"), [
    ("most", "approval_objected &gt; 0", "approval_mode：审批方式 'most' 无效"),
    ("ratio:3/2", "approval_objected &gt; 0", "比例 3/2 无效"),
    ("any", "approval_objected &gt; 0", "多实例完成条件应为 approval_decided >= 1"),
    ("sequential", "approval_objected &gt; 0", "多实例应为依次执行"),
])
def test_a_bad_approval_mode_is_refused_at_deploy(ctx, mode, condition, message):
    with pytest.raises(BundleRejected) as err:
        processes.deploy(ctx, with_mode(mode, condition), DESIGNER)
    issues = [i for i in err.value.issues if i["element_id"] == "confirm_declaration"]
    assert issues and any(message in i["message"] for i in issues), err.value.issues
    assert all(i["line"] for i in issues)


def test_three_units_confirming_at_once_under_ratio(ctx, driver):
    """Two of three suffice: whichever two the project lock lets through first decide, the third
    finds its instance withdrawn (a 409), and the node is decided exactly once."""
    processes.deploy(ctx, with_mode("ratio:2/3", RATIO), DESIGNER)
    pid = driver.declare("市教育局", budget_year=2027, participants=UNITS).project_id
    open_ = confirmations(ctx, pid)
    out = run_at_once([lambda w=w: confirm(driver, w) for w in open_.values()])
    assert sorted(kind for kind, _ in out) == ["conflict", "ok", "ok"], out
    assert len(records(ctx, pid, "approval_decided")) == 1
    assert len(confirmations(ctx, pid, "completed")) == 2 and len(confirmations(ctx, pid, "cancelled")) == 1
    assert open_names(driver, pid) == {"preliminary_review_finance"}


def test_the_supervisor_sees_the_approval_line_too(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=UNITS[:1]).project_id
    item = confirmations(ctx, pid)["市民政局"]
    supervisor = Actor("督办员", "市大数据局", frozenset({"supervisor"}))
    assert task_actions.get_task(ctx, item.id, supervisor)["approval"]["summary"] == "会签：1 家中已有 0 家同意"
