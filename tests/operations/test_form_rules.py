"""Cross-field rules and the declaration rules on the completion path, on SQLite and PostgreSQL:
refused with field and article and nothing saved, accepted when consistent; a resubmission after
退回 judged like a declaration, with the register kept in step with the engine."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from service.domain.access import Actor
from service.domain.cross_field_rules import CrossFieldRefused
from service.domain.deadlines import local_date
from service.domain.errors import RuleViolation, ValidationFailed
from service.operations import annual_list, organisation, task_actions
from service.scenario import worker
from service.storage.models import AuditRecord, ProcessInstance, Project, WorkItem, utcnow
from tests.conftest import OPERATOR

GOV = Actor("市政府审批人", "市政府", frozenset({"leader"}))
SUPERVISOR = Actor("督办员", "市大数据局", frozenset({"supervisor"}))


def _approve_list(ctx, year: int, approved: dict[int, float]) -> None:  # type: ignore[no-untyped-def]
    # The list is compiled and co-signed before 市政府 approves it where the service has those steps.
    three_steps = getattr(annual_list, "compile_cosign_approve", None)
    (three_steps or annual_list.approve)(ctx, year, approved, GOV)


def _refused(call, field: str, article: str) -> ValidationFailed:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as exc:
        call()
    assert (exc.value.field, exc.value.article) == (field, article)
    assert field in [e.path for e in exc.value.errors]
    return exc.value


def _open(driver, pid: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [w.task_name for w in driver.open_items(pid)]


def test_plan_stage_rules_refuse_and_then_accept(ctx, driver):
    breakdown = [{"category": "软件开发", "amount": 300.0}, {"category": "政务云资源", "amount": 60.0}]
    _refused(lambda: driver.declare("市教育局", budget_year=2027, participants=[], investment_estimate=480.0,
                                    investment_breakdown=breakdown), "investment_estimate", "第七条(一)")
    with ctx.db.session() as s:
        assert s.scalar(select(Project.id)) is None  # refused before anything was written
    pid = driver.declare("市教育局", budget_year=2027, participants=[], investment_estimate=360.0,
                         investment_breakdown=breakdown).project_id
    driver.run(pid, until="write_plan")
    items = [{"category": "软件开发", "item_name": "平台开发", "amount": 400.0}]
    _refused(lambda: driver.complete(pid, "write_plan", estimate_total=480.0, estimate_items=items),
             "estimate_total", "第七条(二)")
    err = _refused(lambda: driver.complete(pid, "write_plan", mobile_channel="自建移动端"),
                   "non_compliance_explanation", "第二十条")
    assert "自建移动端渠道（第二十条）" in err.message
    driver.complete(pid, "write_plan", mobile_channel="自建移动端",
                    non_compliance_explanation="既有“东营教育”App 用户 30 万，过渡期一年内迁入爱山东。")
    driver.run(pid, until="submit_budget", answers={"review_consolidate": [{"approved_estimate": 450.0}]})
    _refused(lambda: driver.complete(pid, "submit_budget", budget_amount=450.01), "budget_amount", "第七条(四)")
    driver.complete(pid, "submit_budget", budget_amount=450.0)
    assert _open(driver, pid) == ["budget_review"]


def _to_contract_filing(ctx, driver) -> int:  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid)
    _approve_list(ctx, 2027, {pid: 450.0})
    driver.run(pid, until="contract_filing")
    return pid


def test_construction_stage_rules_and_the_cumulative_15_percent(ctx, driver):
    pid = _to_contract_filing(ctx, driver)
    _refused(lambda: driver.complete(pid, "contract_filing", contract_start="2027-04-16",
                                     contract_end="2027-04-01"), "contract_end", "第十二条")
    none = dict.fromkeys(("source_code", "data_ownership", "software_copyright", "patent", "trademark",
                          "right_of_use"), False)
    _refused(lambda: driver.complete(pid, "contract_filing", ownership=none), "ownership", "第十条")
    driver.complete(pid, "contract_filing")
    # Approved estimate 460 (the example): moving the total by 40 cannot come from adjusting 30.
    driver.complete(pid, "construction", construction_action="提交变更")
    _refused(lambda: driver.complete(pid, "change_request", change_amount=30.0, new_total=500.0),
             "new_total", "第十三条")
    # 第十三条 counts the adjustments together: 60 (13.04 %) is filed, a second 60 (26.09 % in all) is not.
    driver.complete(pid, "change_request", change_amount=60.0, new_total=460.0)
    assert _open(driver, pid) == ["change_filing"]
    driver.complete(pid, "change_filing")
    driver.complete(pid, "construction", construction_action="提交变更")
    driver.complete(pid, "change_request", change_amount=60.0, new_total=460.0)
    assert _open(driver, pid) == ["change_review"]
    with ctx.db.session() as s:
        second = s.scalars(select(AuditRecord).where(AuditRecord.project_id == pid,
                                                     AuditRecord.action == "task_completed")
                           .order_by(AuditRecord.seq.desc())).first()
        assert second.detail["values"]["filed_change_amount"] == 60.0
    driver.complete(pid, "change_review")
    driver.complete(pid, "construction", construction_action="申请竣工验收")
    driver.complete(pid, "acceptance_application")
    driver.complete(pid, "acceptance_review")
    reviewed_on = local_date(utcnow())
    before = (reviewed_on - dt.timedelta(days=1)).isoformat()
    _refused(lambda: driver.complete(pid, "acceptance", acceptance_date=before, operation_date=before),
             "acceptance_date", "第二十三条")
    driver.complete(pid, "acceptance", acceptance_date=reviewed_on.isoformat(),
                    operation_date=reviewed_on.isoformat())
    assert _open(driver, pid) == ["acceptance_report_filing"]


def _sent_back(ctx, driver, **declare) -> int:  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, **{"participants": [], **declare}).project_id
    item = driver.item(pid, "preliminary_review_finance")
    task_actions.send_back(ctx, item.id, worker("市财政局"), "submit_declaration", "投资估算依据不足")
    assert _open(driver, pid) == ["submit_declaration"]
    return pid


def _engine_years(ctx, pid: int) -> set[int]:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        instance = s.scalar(select(ProcessInstance).where(ProcessInstance.project_id == pid))
        runtime = ctx.runtime(s, instance.version_id)
        wf = runtime.load(instance.state)
        return {t.data["budget_year"] for t in runtime.ready_user_tasks(wf)}


def test_resubmission_after_send_back_runs_the_declaration_rules(ctx, driver):
    pid = _sent_back(ctx, driver)
    # 第六条: 2028 has no declaration window.
    with pytest.raises(RuleViolation) as exc:
        driver.complete(pid, "submit_declaration", budget_year=2028)
    assert (exc.value.article, exc.value.field) == ("第六条", "budget_year")
    # 第八条: the lead unit cannot be its own participant.
    _refused(lambda: driver.complete(pid, "submit_declaration", participants=["市教育局"]),
             "participants/0", "第八条")
    # 第二十七条: an open 整改 blocks the resubmission as it blocks a declaration.
    rid = organisation.open_rectification(ctx, "市教育局", "合同备案逾期未整改", SUPERVISOR)
    with pytest.raises(RuleViolation) as exc:
        driver.complete(pid, "submit_declaration")
    assert exc.value.article == "第二十七条"
    organisation.close_rectification(ctx, rid, SUPERVISOR)
    # The cross-field rules of the form run here too.
    with pytest.raises(CrossFieldRefused):
        driver.complete(pid, "submit_declaration", investment_estimate=1.0,
                        investment_breakdown=[{"category": "其他", "amount": 2.0}])
    assert _open(driver, pid) == ["submit_declaration"]
    with ctx.db.session() as s:
        assert s.get(Project, pid).budget_year == 2027


def test_resubmission_keeps_register_and_engine_in_step(ctx, driver):
    pid = _sent_back(ctx, driver)
    organisation.set_window(ctx, 2028, dt.date(2000, 1, 1), dt.date(2100, 12, 31), OPERATOR)
    driver.complete(pid, "submit_declaration", budget_year=2028, project_name="东营市智慧教育平台（调整）",
                    investment_estimate=450.0)
    with ctx.db.session() as s:
        p = s.get(Project, pid)
        assert (p.budget_year, p.name, float(p.estimate)) == (2028, "东营市智慧教育平台（调整）", 450.0)
        record = s.scalar(select(AuditRecord).where(AuditRecord.project_id == pid,
                                                    AuditRecord.action == "project_register_updated"))
        assert record.detail["changed"]["budget_year"] == [2027, 2028]
    assert _engine_years(ctx, pid) == {2028}
    # The 2028 list releases it; the 2027 list does not know it.
    driver.run(pid)
    with ctx.db.session() as s:
        waiting = s.scalar(select(ProcessInstance).where(ProcessInstance.project_id == pid))
        assert waiting.correlation_key == "2028"


def test_same_year_resubmission_keeps_its_admission_after_the_budget_arrangement(ctx, driver):
    pid = _sent_back(ctx, driver)
    organisation.mark_budget_arranged(ctx, 2027, OPERATOR)
    with pytest.raises(RuleViolation):  # a new declaration for 2027 is a 追加 now
        driver.declare("市教育局", budget_year=2027, participants=[])
    driver.complete(pid, "submit_declaration", participants=[])  # declared before the arrangement: not a 追加
    assert _open(driver, pid) == ["preliminary_review_finance"]
    with ctx.db.session() as s:
        assert s.scalar(select(WorkItem.round).where(WorkItem.project_id == pid,
                                                     WorkItem.task_name == "submit_declaration",
                                                     WorkItem.state == "completed")
                        .order_by(WorkItem.round.desc()).limit(1)) == 2


def test_designers_may_add_rules_online_but_not_drop_or_invent_them(ctx):
    import copy

    from service.operations import form_admin

    schema = copy.deepcopy(ctx.forms.get("contract_filing").schema)
    assert form_admin.check_schema(ctx, "contract_filing", schema) == []
    dropped = {**schema, "x-rules": ["contract_period_order"]}
    (issue,) = form_admin.check_schema(ctx, "contract_filing", dropped)
    assert issue.path == "schema/x-rules" and "ownership_agreed" in issue.message
    invented = {**schema, "x-rules": [*schema["x-rules"], "no_such_rule"]}
    assert any("no_such_rule" in i.message for i in form_admin.check_schema(ctx, "contract_filing", invented))
    review = copy.deepcopy(ctx.forms.get("acceptance_review").schema)
    assert form_admin.check_schema(ctx, "acceptance_review", {**review, "x-rules": ["contract_period_order"]}) == []
