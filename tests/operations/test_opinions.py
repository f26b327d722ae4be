"""Opinions that count (issue 12, docs/opinions.md): the DMN tables review_outcome.dmn and
preliminary_outcome.dmn decide what 出具评审意见 and 初审结论 may conclude over the other units'
opinions; 参建单位 有异议 goes back to the lead unit; 第二十五条 selection by both units. Both databases."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from service.domain.access import Actor
from service.domain.errors import BundleRejected, Forbidden, NotFound, RuleViolation
from service.operations import annual_list, countersign, dossier, drafts, processes, project_file
from service.scenario import worker
from service.storage.models import AuditRecord, WorkItem

ROOT = Path(__file__).resolve().parents[2]
BIGDATA = worker("市大数据局")
DESIGNER = Actor("设计员", None, frozenset({"designer"}))
GOV = Actor("市政府审批人", "市政府", frozenset({"leader"}))
REASONS = "网信办、公安局所提问题已在方案附件中整改：数据出境评估和等保第三级测评计划已补充，经会审确认不影响通过。"


def _reviews(**conclusions: str) -> dict[str, list[dict[str, str]]]:
    return {f"review_{k}": [{"conclusion": v}] for k, v in conclusions.items()}


def _at_consolidation(driver, **conclusions: str) -> int:  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="review_consolidate", answers=_reviews(**conclusions))
    return pid


def _records(ctx, pid: int, action: str) -> list[AuditRecord]:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        return list(s.scalars(select(AuditRecord).where(AuditRecord.project_id == pid, AuditRecord.action == action)))


def _open(driver, pid: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [w.task_name for w in driver.open_items(pid)]


def test_two_dissents_and_pass_need_written_reasons_that_the_file_shows(ctx, driver):
    pid = _at_consolidation(driver, cac="不同意", police="不同意")
    # A 后加签 on the consolidation: the rule refuses at submission, before the hold.
    (cs,) = countersign.add(ctx, driver.item(pid, "review_consolidate").id, BIGDATA, "after", [{"unit": "市公安局"}])
    with pytest.raises(RuleViolation) as refused:
        driver.complete(pid, "review_consolidate")  # 通过, no reasons
    err = refused.value
    assert err.field == "dissent_justification" and err.article == "第七条(三)"
    assert "不采纳意见的理由" in err.message and "市委网信办不同意" in err.message and "市公安局不同意" in err.message
    assert _open(driver, pid) == ["review_consolidate"] and not _records(ctx, pid, "dissent_overridden")
    with pytest.raises(RuleViolation):  # blank reasons are no reasons
        driver.complete(pid, "review_consolidate", dissent_justification="   ")

    assert driver.complete(pid, "review_consolidate", dissent_justification=REASONS).held
    assert not _records(ctx, pid, "dissent_overridden")
    # The last signature releases the held submission through the same rule.
    assert countersign.sign(ctx, cs["id"], worker("市公安局"), "同意", "已补充测评计划")["host_completed"]
    assert _open(driver, pid) == ["submit_budget"]
    (record,) = _records(ctx, pid, "dissent_overridden")
    assert record.detail["verdict"] == "须说明理由" and record.detail["justification"] == REASONS
    said = {o["unit"]: o["value"] for o in record.detail["opinions"]}
    assert said == {"市大数据局": "同意", "市委网信办": "不同意", "市公安局": "不同意", "市密码管理局": "同意"}

    steps = {s["task"]: s for s in project_file.project_file(ctx, pid, worker("市教育局"))["steps"]}
    consolidated = steps["review_consolidate"]
    assert consolidated["data"]["dissent_justification"] == REASONS
    assert consolidated["schema"]["properties"]["dissent_justification"]["title"] == "不采纳意见的理由"
    assert consolidated["dissent"]["opinions"][1] == {**consolidated["dissent"]["opinions"][1], "value": "不同意"}
    detail = {s["task"]: s for s in dossier.project_detail(ctx, pid, worker("市教育局"))["completed_steps"]}
    assert detail["review_consolidate"]["data"]["dissent_justification"] == REASONS


def test_cryptography_veto_refuses_pass_even_with_reasons(ctx, driver):
    pid = _at_consolidation(driver, police="不同意", crypto="不同意")
    with pytest.raises(RuleViolation) as refused:
        driver.complete(pid, "review_consolidate", dissent_justification=REASONS)
    assert refused.value.field == "plan_review_result" and refused.value.article == "第五条"
    assert "“评审结论”不得为“通过”" in refused.value.message and "市密码管理局不同意" in refused.value.message
    # 修改后重审 is what the table allows: no reasons needed, the plan goes back.
    driver.complete(pid, "review_consolidate", plan_review_result="修改后重审")
    assert _open(driver, pid) == ["write_plan"]
    # Unanimous agreement on the next pass: 通过 without reasons, no override recorded.
    driver.run(pid, until="submit_budget")
    assert _open(driver, pid) == ["submit_budget"] and not _records(ctx, pid, "dissent_overridden")


def _bundle(replace: tuple[str, str] | None = None) -> dict[str, bytes]:
    files = processes.bundle_from_directory(ROOT / "processes")
    if replace:
        text = files["review_outcome.dmn"].decode()
        assert text.count(replace[0]) == 1
        files["review_outcome.dmn"] = text.replace(*replace).encode()
    return files


def test_an_edited_table_deployed_as_a_new_version_decides(ctx, driver):
    # The designer moves the veto from 市密码管理局 to 市公安局: the veto row's two cells swap.
    veto = ('<inputEntry id="review_rule_veto_crypto_i4"><text>-</text></inputEntry>\n'
            '        <inputEntry id="review_rule_veto_crypto_i5"><text>"不同意"</text></inputEntry>')
    moved = ('<inputEntry id="review_rule_veto_crypto_i4"><text>"不同意"</text></inputEntry>\n'
             '        <inputEntry id="review_rule_veto_crypto_i5"><text>-</text></inputEntry>')
    old = _at_consolidation(driver, crypto="不同意")
    deployed = processes.deploy(ctx, _bundle((veto, moved)), DESIGNER)
    assert deployed.created and deployed.version == 2

    new = _at_consolidation(driver, crypto="不同意")
    driver.complete(new, "review_consolidate", dissent_justification=REASONS)  # no veto any more
    assert _open(driver, new) == ["submit_budget"]
    police = _at_consolidation(driver, police="不同意")
    with pytest.raises(RuleViolation) as refused:
        driver.complete(police, "review_consolidate", dissent_justification=REASONS)
    assert refused.value.field == "plan_review_result"
    # The project started on version 1 keeps version 1's table.
    with pytest.raises(RuleViolation):
        driver.complete(old, "review_consolidate", dissent_justification=REASONS)

    # A rule naming a table or a task the bundle lacks is refused at deploy, with the line.
    files = _bundle()
    bpmn = files["lifecycle.bpmn"].decode()
    bpmn = bpmn.replace('value="plan_review_outcome"', 'value="no_such_table"')
    bpmn = bpmn.replace('value="preliminary_review_finance" />', 'value="no_such_task" />')
    files["lifecycle.bpmn"] = bpmn.encode()
    with pytest.raises(BundleRejected) as rejected:
        processes.deploy(ctx, files, DESIGNER)
    messages = [i["message"] for i in rejected.value.issues]
    assert any("no_such_table" in m for m in messages) and any("no_such_task" in m for m in messages)
    assert all(i["line"] for i in rejected.value.issues if "no_such" in i["message"])


def test_finance_against_entry_needs_reasons_at_preliminary_review_and_return_needs_none(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.complete(pid, "preliminary_review_finance", finance_opinion="不同意入库")
    with pytest.raises(RuleViolation) as refused:
        driver.complete(pid, "preliminary_review")  # 入库
    assert refused.value.field == "dissent_justification" and refused.value.article == "第七条(一)"
    assert "市财政局不同意入库" in refused.value.message
    driver.complete(pid, "preliminary_review", dissent_justification="资金来源问题已由建设单位承诺统筹部门预算解决。")
    assert _open(driver, pid) == ["write_plan"]
    assert _records(ctx, pid, "dissent_overridden")[0].detail["opinions"][0]["unit"] == "市财政局"

    # 退回修改 over 不同意入库 needs nothing; on round 2 finance agrees and 入库 needs nothing either
    # (the latest opinion counts, not round 1's).
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.complete(pid, "preliminary_review_finance", finance_opinion="不同意入库")
    driver.complete(pid, "preliminary_review", preliminary_decision="退回修改")
    assert _open(driver, pid) == ["submit_declaration"]
    driver.run(pid, until="write_plan")
    assert not _records(ctx, pid, "dissent_overridden")


def test_participant_objection_returns_to_the_lead_unit_with_its_reasons(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=["市民政局"]).project_id
    objection = {"confirmation": "有异议", "objection": "本单位数据共享范围须删去低保人员明细"}
    driver.complete(pid, "confirm_declaration", **objection)
    item = driver.item(pid, "submit_declaration")
    assert item.unit.name == "市教育局" and item.round == 2
    with ctx.db.session() as s:
        why = drafts.returned(s, s.get(WorkItem, item.id))
    assert why and why["kind"] == "objection" and why["unit"] == "市民政局" and "低保" in why["reason"]

    driver.run(pid, until="write_plan")
    driver.complete(pid, "write_plan")
    driver.complete(pid, "confirm_plan", **objection)
    back = driver.item(pid, "write_plan")
    assert back.unit.name == "市教育局" and back.round == 2


def test_article_25_bigdata_proposes_and_finance_decides(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid)  # to the annual list
    annual_list.compile_cosign_approve(ctx, 2027, {pid: 450.0}, GOV)
    driver.run(pid, until="evaluation_proposal")
    proposal = driver.item(pid, "evaluation_proposal")
    assert proposal.unit.name == "市大数据局" and proposal.stage == "绩效评价"
    with pytest.raises((Forbidden, NotFound)):
        from service.operations import tasks

        tasks.complete(ctx, proposal.id, driver.answer("evaluation_proposal"), worker("市财政局"))
    driver.complete(pid, "evaluation_proposal", evaluation_proposal="建议选取")
    selection = driver.item(pid, "evaluation_selection")
    assert selection.unit.name == "市财政局"
    seen = project_file.task_file(ctx, selection.id, worker("市财政局"))["steps"][0]
    assert seen["task"] == "evaluation_proposal" and seen["data"]["evaluation_proposal"] == "建议选取"
    driver.run(pid)
    with ctx.db.session() as s:
        done = {w.task_name: w.unit.name for w in s.scalars(
            select(WorkItem).where(WorkItem.project_id == pid, WorkItem.state == "completed"))}
    assert done["evaluation_proposal"] == "市大数据局" and done["evaluation_selection"] == "市财政局"
    assert "performance_evaluation" in done
