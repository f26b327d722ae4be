"""A deployed process whose designer code runs away inside a C builtin: the user gets a 422 with the
sandbox's zh-CN message, nothing is saved, and the service goes on serving (both databases)."""
from __future__ import annotations

import os
import re
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from service.domain.access import Actor
from service.domain.errors import ProcessError
from service.http.app import create_app
from service.operations import identity, processes, tasks
from service.scenario import worker
from service.storage.models import AuditRecord, ProcessInstance, Project, WorkItem
from tests.conftest import YEAR
from tests.operations.test_lifecycle import to_construction
from tests.operations.test_processes import SCRIPT, bundle

DESIGNER = Actor("设计员", None, frozenset({"designer"}))
RUNAWAY = "x = len(str([[0]*10000]*10000))"  # 17 s per declaration before the evaluator pool
MEMORY_RUNAWAY = "x = len(str(['a'*50000000]*20))"  # 1.16 GB peak before
MiB = 1024 * 1024


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def with_script_on_flow(flow_id: str, script: str) -> dict[str, bytes]:
    """The lifecycle bundle with a designer's script task inserted on sequence flow `flow_id`."""
    files = bundle()
    text = files["lifecycle.bpmn"].decode()
    m = re.search(rf'<bpmn:sequenceFlow id="{flow_id}" sourceRef="([^"]+)" targetRef="([^"]+)" />', text)
    assert m is not None, flow_id
    source, target = m.groups()
    task = (f'<bpmn:scriptTask id="designer_script" name="设计员脚本">'
            f'<bpmn:incoming>{flow_id}</bpmn:incoming><bpmn:outgoing>f_designer_script</bpmn:outgoing>'
            f'<bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>'
            f'<bpmn:sequenceFlow id="f_designer_script" sourceRef="designer_script" targetRef="{target}" />')
    text = text.replace(m.group(0), m.group(0).replace(f'targetRef="{target}"', 'targetRef="designer_script"') + task)
    incoming = f"<bpmn:incoming>{flow_id}</bpmn:incoming>"
    assert text.count(incoming) == 2  # the target's, and the script's own
    text = text.replace(incoming, "<bpmn:incoming>f_designer_script</bpmn:incoming>", 1)
    lane_ref = f"<bpmn:flowNodeRef>{source}</bpmn:flowNodeRef>"
    assert lane_ref in text
    text = text.replace(lane_ref, lane_ref + "<bpmn:flowNodeRef>designer_script</bpmn:flowNodeRef>")
    files["lifecycle.bpmn"] = text.encode()
    return files


def _with_script_at_declaration(script: str) -> dict[str, bytes]:
    """A script task between the start event and 填报入库申请: it runs when the instance starts."""
    return with_script_on_flow("f_start__merge_declaration", script)


def _counts(ctx) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(m))  # type: ignore[return-value]
                     for m in (Project, ProcessInstance, WorkItem, AuditRecord))


def _api(ctx):  # type: ignore[no-untyped-def]
    from tests.http.conftest import Api

    identity.seed_demo_users(ctx)
    app = create_app(ctx, secret_key="test")
    app.testing = True
    from service.storage.models import User

    with ctx.db.session() as s:
        users = {u.username: u.id for u in s.scalars(select(User))}
    return Api(app.test_client(), {name: identity.issue_token(ctx, uid)[0] for name, uid in users.items()})


@pytest.mark.parametrize("script", [RUNAWAY, MEMORY_RUNAWAY], ids=["cpu", "memory"])
def test_declaring_with_a_runaway_script_is_a_422_and_nothing_is_saved(ctx, driver, script):
    version = processes.deploy(ctx, _with_script_at_declaration(script), DESIGNER)
    assert version.created
    before = _counts(ctx)
    api = _api(ctx)
    rss = _rss()
    data = driver.answer("declaration", {"budget_year": YEAR, "participants": []})
    answer = api.as_("edu").post("/api/projects", json={"data": data})
    assert answer.status_code == 422, answer.get_json()
    message = answer.get_json()["error"]["message"]
    assert "脚本" in message and ("超时" in message or "内存" in message), message
    assert _rss() - rss < 100 * MiB
    assert _counts(ctx) == before  # no project, instance, work item or audit record
    # The service keeps serving: the previous version's processes are untouched and a designer fixes it.
    processes.deploy(ctx, bundle(**{"lifecycle.bpmn": ('name="初审结论"', 'name="初审结论（修正）"')}), DESIGNER)
    declared = driver.declare("市教育局", budget_year=YEAR, participants=[])
    assert declared.project_id


def test_a_runaway_script_at_a_later_step_leaves_the_state_unchanged(ctx, driver):
    processes.deploy(ctx, bundle(**{"lifecycle.bpmn": (SCRIPT, RUNAWAY)}), DESIGNER)
    pid = to_construction(driver, ctx)
    driver.complete(pid, "construction", construction_action="提交变更")
    item = driver.item(pid, "change_request")
    with ctx.db.session() as s:
        revision = s.scalar(select(ProcessInstance.revision).where(ProcessInstance.project_id == pid))
    before = _counts(ctx)
    with pytest.raises(ProcessError) as exc:
        # to_construction approves 1000: a content change of 30 leaves the total there.
        tasks.complete(ctx, item.id, driver.answer("change_request", {"new_total": 1000.0}), worker("市教育局"))
    assert "脚本执行超时" in exc.value.message
    assert _counts(ctx) == before
    with ctx.db.session() as s:
        assert s.scalar(select(ProcessInstance.revision).where(ProcessInstance.project_id == pid)) == revision
        assert s.get(WorkItem, item.id).state == "open"
