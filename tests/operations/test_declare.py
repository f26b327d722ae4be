"""Declaration rules (第六条 window and urgent work, 第二十七条 rectification, 第八条 participants)."""
from __future__ import annotations

import datetime as dt

import pytest

from service.domain.access import Actor
from service.domain.errors import Forbidden, RuleViolation, ValidationFailed
from service.operations import organisation
from service.scenario import worker
from tests.conftest import OPERATOR

SUPERVISOR = Actor("督办员", "市大数据局", frozenset({"supervisor"}))


def test_window_not_open_for_that_year(ctx, driver):
    with pytest.raises(RuleViolation) as exc:
        driver.declare("市教育局", budget_year=2031)
    assert exc.value.article == "第六条" and "2031" in exc.value.message and exc.value.field == "budget_year"


def test_closed_after_budget_arrangement_except_urgent_with_basis(ctx, driver):
    organisation.mark_budget_arranged(ctx, 2027, OPERATOR)
    with pytest.raises(RuleViolation) as exc:
        driver.declare("市教育局", budget_year=2027, is_urgent=False)
    assert exc.value.article == "第六条" and "预算安排已完成" in exc.value.message
    declared = driver.declare("市教育局", budget_year=2027, is_urgent=True,
                              urgent_basis="市委、市政府2026年第5次专题会议部署的防汛应急指挥调度系统建设")
    assert declared.project_id > 0
    # Urgent without its basis is refused: first by the form itself (if/then), never silently accepted.
    with pytest.raises((RuleViolation, ValidationFailed)):
        driver.declare("市教育局", budget_year=2027, is_urgent=True, urgent_basis=None)


def test_window_closing_date_passed(ctx, driver):
    organisation.set_window(ctx, 2027, dt.date(2020, 1, 1), dt.date(2021, 1, 1), OPERATOR)
    with pytest.raises(RuleViolation) as exc:
        driver.declare("市教育局", budget_year=2027)
    assert "截止" in exc.value.message


def test_unit_under_rectification_cannot_declare_until_closed(ctx, driver):
    rid = organisation.open_rectification(ctx, "市教育局", "合同备案逾期（第十二条）", SUPERVISOR)
    with pytest.raises(RuleViolation) as exc:
        driver.declare("市教育局", budget_year=2027)
    assert exc.value.article == "第二十七条" and "整改" in exc.value.message
    # Another unit is not affected.
    assert driver.declare("市卫生健康委员会", budget_year=2027).project_id
    organisation.close_rectification(ctx, rid, SUPERVISOR)
    assert driver.declare("市教育局", budget_year=2027).project_id


def test_only_supervisors_open_rectifications(ctx):
    with pytest.raises(Forbidden):
        organisation.open_rectification(ctx, "市教育局", "x", worker("市财政局"))


def test_unknown_or_own_participant_is_a_field_error(ctx, driver):
    with pytest.raises(ValidationFailed) as exc:
        driver.declare("市教育局", budget_year=2027, participants=["市教育局", "不存在的局"])
    paths = {e.path for e in exc.value.errors}
    assert paths == {"participants/0", "participants/1"}


def test_invalid_form_is_refused_field_by_field_and_nothing_is_saved(ctx, driver):
    from sqlalchemy import func, select

    from service.operations import projects
    from service.storage.models import Project

    data = driver.answer("declaration", {"investment_estimate": 12.345, "project_name": None})
    with pytest.raises(ValidationFailed) as exc:
        projects.declare(ctx, data, worker("市教育局"))
    by_path = {e.path: e.message for e in exc.value.errors}
    assert "project_name" in by_path and "必填" in by_path["project_name"]
    assert "investment_estimate" in by_path and "小数" in by_path["investment_estimate"]
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Project)) == 0


def test_supervisor_cannot_declare(ctx, driver):
    from service.operations import projects

    with pytest.raises(Forbidden):
        projects.declare(ctx, driver.answer("declaration", {"budget_year": 2027}), SUPERVISOR)


def test_rectifications_are_audited_on_the_unit_chain(ctx):
    from sqlalchemy import select, update

    from service.operations.audit import verify_unit
    from service.storage.models import AuditRecord, Unit

    rid = organisation.open_rectification(ctx, "市教育局", "未履行备案程序", SUPERVISOR, due_date=dt.date(2027, 3, 1))
    organisation.close_rectification(ctx, rid, SUPERVISOR)
    with ctx.db.session() as s:
        unit = s.scalar(select(Unit).where(Unit.name == "市教育局"))
        records = list(s.scalars(select(AuditRecord).where(AuditRecord.unit_id == unit.id).order_by(AuditRecord.seq)))
        assert [(r.action, r.actor, r.detail["rectification_id"]) for r in records] == [
            ("rectification_opened", "督办员", rid), ("rectification_closed", "督办员", rid)]
        assert verify_unit(s, unit.id) is None
        s.execute(update(AuditRecord).where(AuditRecord.id == records[0].id).values(actor="别人"))
    with ctx.db.session() as s:
        assert verify_unit(s, unit.id).seq == 1
