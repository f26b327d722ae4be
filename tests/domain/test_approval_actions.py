"""The pure rules of the approval actions (service.domain.approval_actions), without a database."""
from __future__ import annotations

import pytest

from service.domain import approval_actions as rules
from service.domain.access import Actor
from service.domain.errors import Conflict, Forbidden

EDU = Actor("edu", "市教育局", frozenset({"department"}))
EDU_REVIEWER = Actor("edu_r", "市教育局", frozenset({"reviewer"}))
FINANCE = Actor("finance", "市财政局", frozenset({"reviewer"}))
SUPERVISOR = Actor("supervisor", "市大数据局", frozenset({"supervisor"}))
AUDITOR = Actor("auditor", "市审计局", frozenset({"auditor"}))
DESIGNER = Actor("designer", None, frozenset({"designer"}))


@pytest.mark.parametrize(("actor", "task_unit", "allowed"), [
    (SUPERVISOR, "市财政局", True), (SUPERVISOR, "市大数据局", True),
    (EDU, "市财政局", True),  # the declaring unit urges another unit
    (EDU, "市教育局", False),  # …not itself
    (EDU_REVIEWER, "市财政局", False),  # a reviewer of the declaring unit is no declarer
    (FINANCE, "市公安局", False), (AUDITOR, "市财政局", False)])
def test_who_may_urge(actor, task_unit, allowed):  # type: ignore[no-untyped-def]
    assert rules.may_urge(actor, task_open=True, task_unit=task_unit, project_unit="市教育局") is allowed
    assert rules.may_urge(actor, task_open=False, task_unit=task_unit, project_unit="市教育局") is False
    if allowed:
        rules.require_urger(actor, task_unit=task_unit, project_unit="市教育局")
    else:
        with pytest.raises(Forbidden):
            rules.require_urger(actor, task_unit=task_unit, project_unit="市教育局")


def test_urging_ones_own_task_says_so():
    with pytest.raises(Forbidden, match="本单位办理，无需催办"):
        rules.require_urger(EDU, task_unit="市教育局", project_unit="市教育局")


def test_withdraw_rules():
    assert rules.withdraw_project_refusal("active", None) is None
    assert rules.withdraw_project_refusal("completed", None) == "项目已办结，不能撤回"
    assert rules.withdraw_project_refusal("terminated", "不予入库") == "项目已终止（不予入库），不能撤回"
    assert rules.withdraw_completer_refusal(EDU, "edu", "王晓燕") is None
    assert (rules.withdraw_completer_refusal(EDU, "edu_leader", "刘建国")
            == "该步骤不是您办理的（办理人：刘建国），不能撤回")


def test_countersign_rules():
    assert rules.countersign_signer_refusal(FINANCE, "市财政局", user="finance") == "加签人：不能加签给自己"
    assert "不能加签给本单位" in (rules.countersign_signer_refusal(FINANCE, "市财政局", unit="市财政局") or "")
    assert rules.countersign_signer_refusal(FINANCE, "市财政局", unit="市公安局") is None
    assert rules.countersign_signer_refusal(FINANCE, "市财政局", user="finance2") is None
    rules.require_countersign_holder(FINANCE, assignee="finance", delegated_by=None)
    with pytest.raises(Conflict, match="委派的任务不能加签"):
        rules.require_countersign_holder(FINANCE, assignee="finance", delegated_by="finance_boss")


def test_cc_and_substitute_rules():
    assert rules.require_cc_sender(EDU) == "edu"
    with pytest.raises(Forbidden):
        rules.require_cc_sender(Actor.system())
    assert rules.cc_own_units_refusal(EDU, ["市财政局", "市教育局"]) is not None
    assert rules.cc_own_units_refusal(EDU, ["市财政局"]) is None
    assert rules.cc_user_refusal(EDU, "edu") == "抄送人员：不能抄送给自己"
    assert rules.require_substitute_namer(EDU) == "市教育局"
    for nobody in (SUPERVISOR, DESIGNER):
        with pytest.raises(Forbidden):
            rules.require_substitute_namer(nobody)
    assert rules.substitute_refusal(EDU, "edu") == "代理人：不能指定自己"
    assert rules.substitute_refusal(EDU, "edu_leader") is None
