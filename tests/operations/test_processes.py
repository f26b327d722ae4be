"""Deploying process versions; designer-supplied code cannot escape or run away."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.domain.access import Actor
from service.domain.errors import BundleRejected, Forbidden, ProcessError
from service.operations import processes, tasks
from service.scenario import worker
from service.storage.models import AuditRecord, ProcessInstance, ProcessVersion, WorkItem
from tests.conftest import OPERATOR
from tests.operations.test_lifecycle import to_construction

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
DESIGNER = Actor("设计员", None, frozenset({"designer"}))
SCRIPT = ("change_bp = ceil_div((round(change_amount * 100) + round(filed_change_amount * 100)) * 10000,"
          " round(approved_estimate * 100))\n"
          "within_estimate = new_total &lt;= approved_estimate")


def bundle(**replace: tuple[str, str]) -> dict[str, bytes]:
    files = processes.bundle_from_directory(PROCESSES)
    for name, (old, new) in replace.items():
        text = files[name].decode()
        assert old in text, old
        files[name] = text.replace(old, new).encode()
    return files


def test_redeploying_the_same_bundle_is_idempotent(ctx):
    again = processes.deploy(ctx, bundle(), DESIGNER)
    assert (again.version, again.created) == (1, False)


def test_department_users_cannot_deploy(ctx):
    with pytest.raises(Forbidden):
        processes.deploy(ctx, bundle(), worker("市教育局"))


def test_malformed_bpmn_is_rejected_with_element_and_line(ctx):
    bad = bundle(**{"lifecycle.bpmn": ('preliminary_decision == "入库"', 'preliminary_decision == = "入库"')})
    with pytest.raises(BundleRejected) as exc:
        processes.deploy(ctx, bad, DESIGNER)
    (issue,) = exc.value.issues
    assert issue["element_id"] == "f_gw_preliminary__merge_plan" and issue["line"] > 0
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ProcessVersion)) == 1


def test_an_importing_script_is_refused_at_deploy(ctx):
    bad = bundle(**{"lifecycle.bpmn": (SCRIPT, "import os\nos.system('id')")})
    with pytest.raises(BundleRejected) as exc:
        processes.deploy(ctx, bad, DESIGNER)
    assert any(i["element_id"] == "compute_change" and "os" in i["message"] for i in exc.value.issues)


def test_a_bad_deadline_rule_is_refused_at_deploy(ctx):
    bad = bundle(**{"lifecycle.bpmn": ("working_days_after:contract_date:10", "working_days_after:contract_date:ten")})
    with pytest.raises(BundleRejected) as exc:
        processes.deploy(ctx, bad, DESIGNER)
    assert [i["element_id"] for i in exc.value.issues] == ["contract_filing"]


def test_running_instances_keep_their_version(ctx, driver):
    old = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    v2 = processes.deploy(ctx, bundle(**{"lifecycle.bpmn": ('name="初审结论"', 'name="初审结论（第2版）"')}),
                          DESIGNER)
    assert (v2.version, v2.created) == (2, True)
    new = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    for pid in (old, new):
        driver.complete(pid, "preliminary_review_finance")
    assert driver.item(old, "preliminary_review").title == "初审结论"
    assert driver.item(new, "preliminary_review").title == "初审结论（第2版）"


@pytest.mark.parametrize(
    ("script", "needle"),
    [
        ("while True:\n    pass", ("超限", "超时")),
        # Memory, or CPU first when the allocator reuses heap freed by earlier work (scripting.py).
        ("rows = []\nwhile True:\n    rows.append('x' * 1000)", ("内存", "超时")),
        ("change_bp = ().__class__", ("_",)),
    ],
)
def test_a_runaway_or_escaping_script_is_stopped_and_nothing_is_saved(ctx, driver, script, needle):
    try:
        processes.deploy(ctx, bundle(**{"lifecycle.bpmn": (SCRIPT, script.replace("<", "&lt;"))}), DESIGNER)
    except BundleRejected as exc:
        # Refused at deploy already: the best outcome for an escape attempt.
        assert any(n in i["message"] for n in needle for i in exc.issues), exc.issues
        return
    pid = to_construction(driver, ctx)
    driver.complete(pid, "construction", construction_action="提交变更")
    item = driver.item(pid, "change_request")
    with ctx.db.session() as s:
        revision = s.scalar(select(ProcessInstance.revision).where(ProcessInstance.project_id == pid))
        audits = s.scalar(select(func.count()).select_from(AuditRecord))
    with pytest.raises(ProcessError) as exc:
        # to_construction approves 1000: a content change of 30 leaves the total there.
        tasks.complete(ctx, item.id, driver.answer("change_request", {"new_total": 1000.0}), worker("市教育局"))
    assert "脚本" in exc.value.message and any(n in exc.value.message for n in needle)
    with ctx.db.session() as s:
        assert s.scalar(select(ProcessInstance.revision).where(ProcessInstance.project_id == pid)) == revision
        assert s.scalar(select(func.count()).select_from(AuditRecord)) == audits
        assert s.get(WorkItem, item.id).state == "open"


def test_deploy_from_the_cli_reports_the_version(ctx, capsys, monkeypatch):
    from service.cli import main

    monkeypatch.setenv("GOVFLOW_DATABASE_URL", ctx.settings.database_url)
    main(["deploy", str(PROCESSES)])
    assert "版本 1" in capsys.readouterr().out
    assert OPERATOR.user == "operator"
