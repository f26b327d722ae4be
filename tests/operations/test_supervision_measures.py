"""Supervision measures through the service layer, on SQLite and PostgreSQL: 暂停建设 as a state with
stopped clocks and resumption (第十四条), 责令整改 opening a 整改 (第十四条, 第二十七条), a termination
filed after 30 September flagged (第十五条), and the 第二十二条 / 第二十六条 actions."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from service.domain.access import Actor
from service.domain.errors import Conflict, Forbidden, RuleViolation, ValidationFailed
from service.operations import (
    annual_list,
    clocks,
    dossier,
    organisation,
    reminders,
    supervision_actions,
    suspension,
    warnings,
)
from service.operations.audit import verify
from service.operations.supervision_effects import _late_after_date_of_year
from service.storage.models import (
    AuditRecord,
    LateFiling,
    Notification,
    Project,
    ProjectSuspension,
    Rectification,
    SupervisionAction,
    WorkItem,
    WorkItemClock,
)

GOV = Actor("市政府审批人", "市政府", frozenset({"leader"}))
SUPERVISOR = Actor("督办员", "市大数据局", frozenset({"supervisor"}))
BIGDATA_REVIEWER = Actor("大数据局审核员", "市大数据局", frozenset({"reviewer"}))
FINANCE = Actor("财政局审核员", "市财政局", frozenset({"reviewer"}))
AUDITOR = Actor("审计员", "市审计局", frozenset({"auditor"}))
EDU = Actor("教育局经办人", "市教育局", frozenset({"department"}))


def to_construction(driver, ctx, unit: str = "市教育局") -> int:  # type: ignore[no-untyped-def]
    pid = driver.declare(unit, budget_year=2027).project_id
    driver.run(pid, answers={"review_consolidate": [{"approved_estimate": 1000.0}]})
    annual_list.compile_cosign_approve(ctx, 2027, {pid: 450.0}, GOV)
    driver.run(pid, until="construction")
    return pid


def suspended(driver, ctx) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A project whose 严重逾期/重大损失处置 decided 暂停建设; returns it and its paused construction task."""
    pid = to_construction(driver, ctx)
    driver.complete(pid, "construction", construction_action="报告严重逾期或重大损失", issues="接口联调严重滞后")
    driver.complete(pid, "delay_handling", delay_decision="暂停建设", situation="严重逾期",
                    opinion="严重逾期，暂停建设，待整改方案确认后恢复。")
    return pid, driver.item(pid, "construction").id


def row(ctx, model, key):  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        return s.get(model, key)


def actions(ctx, pid: int) -> list[str]:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        return list(s.scalars(select(AuditRecord.action).where(AuditRecord.project_id == pid)
                              .order_by(AuditRecord.seq)))


def test_suspension_stops_tasks_and_clocks_until_bigdata_resumes(ctx, driver):
    pid, item_id = suspended(driver, ctx)
    assert row(ctx, Project, pid).suspension == "construction"
    clock = row(ctx, WorkItemClock, item_id)
    assert clock.paused_at is not None and clock.fire_at is None
    with pytest.raises(RuleViolation) as exc:
        driver.complete(pid, "construction", construction_action="申请竣工验收")
    assert exc.value.article == "第十四条" and "暂停建设" in str(exc.value)
    # 补正's own resume cannot restart a clock the suspension holds.
    with pytest.raises(RuleViolation):
        clocks.resume(ctx, item_id, SUPERVISOR)
    item = row(ctx, WorkItem, item_id)
    # Long past the due date: the tick sends nothing for a suspended task.
    late = dt.datetime.combine(item.due_date + dt.timedelta(days=30), dt.time(2, 0))
    reminders.tick(ctx, now=late)
    with ctx.db.session() as s:
        assert s.scalars(select(Notification).where(Notification.work_item_id == item_id)).all() == []
    # Not 红牌 even long past its due date: the grade is 暂停计时, under the suspension's name.
    (graded,) = [w for w in warnings.warnings(ctx, project_id=pid, now=late) if w.work_item_id == item_id]
    assert graded.grade == warnings.PAUSED and graded.label.startswith("已暂停计时（暂停建设（第十四条）")
    detail = dossier.project_detail(ctx, pid, SUPERVISOR)
    assert detail["suspension"] == "construction" and detail["suspension_label"] == "暂停建设"
    assert detail["suspensions"][0]["open"] and detail["suspensions"][0]["paused_tasks"] == [item_id]

    for who in (AUDITOR, EDU, FINANCE):
        with pytest.raises(Forbidden):
            suspension.resume(ctx, pid, who)
    suspended_at = row(ctx, ProjectSuspension, detail["suspensions"][0]["id"]).suspended_at
    later = suspended_at + dt.timedelta(days=14)
    result = suspension.resume(ctx, pid, BIGDATA_REVIEWER, note="整改方案已确认", now=later)
    assert result["paused_working_days"] >= 8
    item2 = row(ctx, WorkItem, item_id)
    assert item2.due_date > item.due_date
    clock = row(ctx, WorkItemClock, item_id)
    assert clock.paused_at is None and clock.fire_at is not None
    # The pause is counted once (the clock row is what later recomputations start from).
    assert clock.paused_days == result["paused_working_days"]
    assert row(ctx, Project, pid).suspension is None
    with pytest.raises(Conflict):
        suspension.resume(ctx, pid, SUPERVISOR)
    driver.complete(pid, "construction", construction_action="申请竣工验收")
    assert driver.item(pid, "acceptance_application")
    trail = actions(ctx, pid)
    assert "project_suspended" in trail and "project_resumed" in trail
    assert trail.index("project_resumed") < len(trail) - 1
    with ctx.db.session() as s:
        assert verify(s, pid) is None


def test_rectification_order_opens_a_rectification_that_blocks_declaring(ctx, driver):
    pid = to_construction(driver, ctx)
    driver.complete(pid, "construction", construction_action="报告严重逾期或重大损失")
    with pytest.raises(ValidationFailed):  # 责令整改 needs its requirements and time limit
        driver.complete(pid, "delay_handling", delay_decision="责令整改", rectification_requirements=None)
    driver.complete(pid, "delay_handling", delay_decision="责令整改", situation="投资重大损失",
                    rectification_requirements="重新核定合同支付节点", rectification_deadline="2027-06-30")
    assert row(ctx, Project, pid).suspension is None
    assert driver.item(pid, "construction")  # construction goes on under the 整改
    with ctx.db.session() as s:
        (rect,) = s.scalars(select(Rectification).where(Rectification.closed_at.is_(None))).all()
        assert (rect.unit.name, rect.article, rect.due_date) == ("市教育局", "第十四条", dt.date(2027, 6, 30))
        (act,) = s.scalars(select(SupervisionAction).where(SupervisionAction.project_id == pid)).all()
        assert (act.kind, act.rectification_id) == ("rectification_ordered", rect.id)
    with pytest.raises(RuleViolation) as exc:
        driver.declare("市教育局", budget_year=2027)
    assert "整改" in str(exc.value)
    detail = dossier.project_detail(ctx, pid, SUPERVISOR)
    assert detail["supervision_actions"][0]["label"] == "责令整改"
    assert detail["supervision_actions"][0]["rectification"]["closed"] is False


def test_termination_filed_after_30_september_is_flagged(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027).project_id
    driver.run(pid)
    annual_list.compile_cosign_approve(ctx, 2027, {pid: 100.0}, GOV)
    driver.complete(pid, "consistency_request", procurement_action="终止项目", termination_reason="需求变化，不再实施")
    item = driver.item(pid, "termination_filing")
    filing = item.created_at + dt.timedelta(minutes=1)
    q3_end = dt.date(dt.datetime.now().year, 9, 30)
    driver.complete(pid, "termination_filing", budget_adjustment_amount=450.0)
    with ctx.db.session() as s:
        flagged = s.scalars(select(SupervisionAction).where(SupervisionAction.kind == "termination_after_q3")).all()
        late = s.scalars(select(LateFiling).where(LateFiling.work_item_id == item.id)).all()
    if filing.date() > q3_end:  # the machine's date: after Q3 here
        (act,) = flagged
        assert act.article == "第十五条" and act.detail["budget_adjustment_amount"] == 450.0
        assert "市财政局" in act.reason and act.authority == "市财政局"
        (lf,) = late
        assert (lf.article, lf.due_date, lf.unit.name) == ("第十五条", q3_end, "市教育局")
    else:
        assert flagged == [] and late == []


def test_termination_filed_by_30_september_is_not_flagged(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027).project_id
    driver.run(pid)
    annual_list.compile_cosign_approve(ctx, 2027, {pid: 100.0}, GOV)
    driver.complete(pid, "consistency_request", procurement_action="终止项目", termination_reason="需求变化，不再实施")
    item = driver.item(pid, "termination_filing")
    with ctx.db.session() as s:
        project = s.get(Project, pid)
        w = s.get(WorkItem, item.id)
        w.created_at = dt.datetime(2027, 8, 1, 2, 0)
        _late_after_date_of_year(ctx, s, project, w, "date_of_year:today:09-30", {}, dt.datetime(2027, 9, 30, 8, 0))
        assert s.scalars(select(SupervisionAction)).all() == []
        _late_after_date_of_year(ctx, s, project, w, "date_of_year:today:09-30", {}, dt.datetime(2027, 10, 8, 2, 0))
        (lf,) = s.scalars(select(LateFiling)).all()
        assert lf.due_date == dt.date(2027, 9, 30)


def test_article_22_and_26_actions_by_the_right_body(ctx, driver):
    pid = driver.declare("市卫生健康委员会", budget_year=2027).project_id
    base = {"reason": "系统近一年日均访问不足 5 次", "usage": "使用率较低", "proposal": "建设单位提出注销"}
    with pytest.raises(Forbidden) as exc:
        supervision_actions.record(ctx, pid, "deregister", base, FINANCE)
    assert exc.value.article == "第二十二条"
    with pytest.raises(ValidationFailed) as bad:
        supervision_actions.record(ctx, pid, "merge", base, SUPERVISOR)
    assert [e.path for e in bad.value.errors] == ["merged_into"]
    merged = supervision_actions.record(ctx, pid, "merge", {**base, "merged_into": "市卫健综合平台"}, SUPERVISOR)
    assert (merged["label"], merged["article"], merged["authority"]) == ("归并整合", "第二十二条", "市大数据局")
    funds = {"reason": "密评未通过", "grounds": ["不符合密码应用要求"], "from_year": 2028, "amount": 35.5}
    for who in (SUPERVISOR, AUDITOR, EDU):
        with pytest.raises(Forbidden):
            supervision_actions.record(ctx, pid, "om_funding_withheld", funds, who)
    with pytest.raises(ValidationFailed):
        supervision_actions.record(ctx, pid, "om_funding_withheld", {**funds, "grounds": ["别的"]}, FINANCE)
    withheld = supervision_actions.record(ctx, pid, "om_funding_withheld", funds, FINANCE)
    assert withheld["authority"] == "市财政局" and withheld["detail"]["amount"] == 35.5
    detail = dossier.project_detail(ctx, pid, SUPERVISOR)
    assert [a["kind"] for a in detail["supervision_actions"]] == ["om_funding_withheld", "merge"]
    assert actions(ctx, pid).count("supervision_action") == 2
    overview = supervision_actions.overview(ctx)
    assert {a["kind"] for a in overview["actions"]} == {"om_funding_withheld", "merge"}


def test_serious_hazard_suspends_operation_until_rectified(ctx, driver):
    pid = driver.declare("市卫生健康委员会", budget_year=2027).project_id
    item = driver.open_items(pid)[0]
    tomorrow = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    with pytest.raises(ValidationFailed):
        supervision_actions.record(ctx, pid, "operation_suspended", {"reason": "x", "hazard": "y",
                                                                      "due_date": "2020-01-01"}, SUPERVISOR)
    rec = supervision_actions.record(ctx, pid, "operation_suspended",
                                     {"reason": "等保测评发现高危漏洞", "hazard": "存在未修复的高危漏洞",
                                      "due_date": tomorrow}, SUPERVISOR)
    assert row(ctx, Project, pid).suspension == "operation"
    with pytest.raises(RuleViolation) as exc:
        driver.complete(pid, item.task_name)
    assert exc.value.article == "第二十六条"
    with pytest.raises(RuleViolation) as exc:
        suspension.resume(ctx, pid, SUPERVISOR)
    assert "整改" in str(exc.value)
    with pytest.raises(Conflict):  # one open suspension per project
        supervision_actions.record(ctx, pid, "operation_suspended",
                                   {"reason": "再次", "hazard": "同上", "due_date": tomorrow}, SUPERVISOR)
    organisation.close_rectification(ctx, rec["rectification"]["id"], SUPERVISOR)
    suspension.resume(ctx, pid, SUPERVISOR, note="漏洞已修复")
    driver.complete(pid, item.task_name)
    overview = supervision_actions.overview(ctx)
    assert overview["suspended"] == []
    with ctx.db.session() as s:
        assert verify(s, pid) is None
