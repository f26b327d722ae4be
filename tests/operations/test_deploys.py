"""Deploy cannot break the lifecycle: a version that could not run is refused, the preview names what
is replaced and what changes, and any earlier version can be made current again (rollback), audited and
serialised on the deploy lock. Both databases."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.domain.access import Actor
from service.domain.errors import BundleRejected, Conflict, Forbidden
from service.operations import audit, process_deploys, processes
from service.scenario import worker
from service.storage.models import AuditRecord, ProcessDeploy, ProcessInstance, ProcessVersion, Unit

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
FOREIGN = Path(__file__).resolve().parents[1] / "engine" / "fixtures" / "dialects" / "foreign_lifecycle.bpmn"
DESIGNER = Actor("设计员", None, frozenset({"designer"}))
TITLE = 'name="填报入库申请"'


def original() -> dict[str, bytes]:
    return processes.bundle_from_directory(PROCESSES)


def renamed(suffix: str = "（第二版）") -> dict[str, bytes]:
    files = original()
    text = files["lifecycle.bpmn"].decode()
    assert TITLE in text
    files["lifecycle.bpmn"] = text.replace(TITLE, f'name="填报入库申请{suffix}"', 1).encode()
    return files


def version_of(ctx, project_id: int) -> int:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        return s.scalar(select(ProcessVersion.version)
                        .join(ProcessInstance, ProcessInstance.version_id == ProcessVersion.id)
                        .where(ProcessInstance.project_id == project_id))


def current(ctx) -> int:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        return processes.latest_version(s).version


def unit_actions(ctx) -> list[str]:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        unit_id = s.scalar(select(Unit.id).where(Unit.name == process_deploys.OWNER_UNIT))
        assert audit.verify_unit(s, unit_id) is None
        return list(s.scalars(select(AuditRecord.action).where(AuditRecord.unit_id == unit_id,
                                                               AuditRecord.action.like("process_%"))
                              .order_by(AuditRecord.seq)))


def test_a_foreign_lifecycle_is_refused_and_declarations_keep_working(ctx, driver):
    files = {"foreign.bpmn": FOREIGN.read_bytes()}
    with pytest.raises(BundleRejected) as exc:
        processes.deploy(ctx, files, DESIGNER, promote=True)
    issues = exc.value.issues
    lane = next(i for i in issues if i["element_id"] == "sign_paper" and "泳道" in i["message"])
    assert lane["line"] == 5 and lane["file"] == "foreign.bpmn" and "建设单位" in lane["message"]
    first = next(i for i in issues if i["element_id"] == "start")
    assert "submit_declaration" in first["message"] and first["line"] == 4
    # The one checker: validation, the preview and deploy answer the same problems.
    assert [i.to_dict() for i in processes.validate(ctx, files)] == issues
    assert processes.preview(ctx, files, DESIGNER)["issues"] == issues
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ProcessVersion)) == 1
    assert version_of(ctx, driver.declare("市教育局", budget_year=2027, participants=[]).project_id) == 1


def test_the_preview_names_the_version_replaced_and_what_changes(ctx):
    files = renamed()
    text = files["lifecycle.bpmn"].decode()
    # A lane renamed: every task of it moves; the preview says so before anything goes live.
    files["lifecycle.bpmn"] = text.replace('name="市财政局"', 'name="东营市财政局"', 1).encode()
    out = processes.preview(ctx, files, DESIGNER)
    assert out["replaces"]["version"] == 1 and out["effect"] == "new_version"
    assert [c["id"] for c in out["changes"]["elements"]["changed"]] == ["submit_declaration"]
    assert out["changes"]["lanes"]["removed"] == ["市财政局"] and out["changes"]["lanes"]["added"] == ["东营市财政局"]
    # 东营市财政局 is no unit: the same preview refuses it, with the tasks and lines concerned.
    assert not out["valid"] and all("东营市财政局" in i["message"] for i in out["issues"])
    assert {i["element_type"] for i in out["issues"]} == {"userTask"} and all(i["line"] for i in out["issues"])
    same = processes.preview(ctx, original(), DESIGNER)
    assert (same["effect"], same["valid"], same["changes"]["unchanged"]) == ("unchanged", True, True)


def test_rollback_makes_an_earlier_version_current_and_new_declarations_use_it(ctx, driver):
    v2 = processes.deploy(ctx, renamed(), DESIGNER, promote=True)
    assert (v2.version, v2.created, v2.replaced_version) == (2, True, 1)
    on_v2 = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    with ctx.db.session() as s:
        v1_id = s.scalar(select(ProcessVersion.id).where(ProcessVersion.version == 1))
    preview = processes.rollback_preview(ctx, v1_id, DESIGNER)
    assert preview["valid"] and preview["replaces"]["version"] == 2
    assert [c["id"] for c in preview["changes"]["elements"]["changed"]] == ["submit_declaration"]
    with pytest.raises(Conflict):  # previewed against another current version
        processes.rollback(ctx, v1_id, DESIGNER, replaces=v1_id)
    back = processes.rollback(ctx, v1_id, DESIGNER, replaces=v2.id, reason="第二版标题有误")
    assert (back.version, back.promoted, back.replaced_version) == (1, True, 2)
    assert current(ctx) == 1
    on_v1 = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    assert (version_of(ctx, on_v2), version_of(ctx, on_v1)) == (2, 1)
    again = processes.rollback(ctx, v1_id, DESIGNER)  # already current: nothing recorded
    assert not again.promoted
    assert unit_actions(ctx) == ["process_deployed", "process_deployed", "process_rolled_back"]
    history = process_deploys.history(ctx, processes.MAIN_PROCESS)
    assert [(h["action"], h["version"], h["replaced_version"]) for h in history[:2]] == [("rollback", 1, 2),
                                                                                         ("deploy", 2, 1)]
    assert history[0]["reason"] == "第二版标题有误" and history[0]["actor_name"]


def test_redeploying_the_original_makes_it_current_again_but_a_restart_does_not(ctx):
    processes.deploy(ctx, renamed(), DESIGNER, promote=True)
    startup = processes.deploy(ctx, original(), DESIGNER)  # govflow serve / init: never undoes a designer
    assert (startup.created, startup.promoted, current(ctx)) == (False, False, 2)
    again = processes.deploy(ctx, original(), DESIGNER, promote=True)
    assert (again.version, again.created, again.promoted, again.replaced_version) == (1, False, True, 2)
    assert current(ctx) == 1
    assert unit_actions(ctx)[-1] == "process_redeployed"


def test_a_stale_preview_and_other_roles_are_refused(ctx):
    with ctx.db.session() as s:
        v1 = processes.latest_version(s).id
    processes.deploy(ctx, renamed("A"), DESIGNER, promote=True, replaces=v1)
    with pytest.raises(Conflict) as exc:  # the second designer previewed against version 1
        processes.deploy(ctx, renamed("B"), DESIGNER, promote=True, replaces=v1)
    assert "重新预览" in exc.value.message and current(ctx) == 2
    with pytest.raises(Forbidden):
        processes.rollback(ctx, v1, worker("市教育局"))
    with pytest.raises(Forbidden):
        processes.preview(ctx, original(), worker("市教育局"))


def test_a_version_that_could_no_longer_run_cannot_be_made_current(ctx):
    # A version stored before these checks existed (the foreign file of issue 13).
    with ctx.db.session() as s:
        v1 = processes.latest_version(s)
        bad = ProcessVersion(process_key=v1.process_key, version=2, checksum="0" * 64,
                             sources={"foreign.bpmn": FOREIGN.read_text()}, spec_json=v1.spec_json, deployed_by="x")
        s.add(bad)
        s.flush()
        bad_id = bad.id
    assert not processes.rollback_preview(ctx, bad_id, DESIGNER)["valid"]
    with pytest.raises(BundleRejected) as exc:
        processes.rollback(ctx, bad_id, DESIGNER)
    assert any(i["element_id"] == "sign_paper" for i in exc.value.issues)
    assert current(ctx) == 1


def test_two_deploys_at_once_serialise_on_the_deploy_lock(ctx):
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = processes.deploy(ctx, renamed(f"（并发{i}）"), DESIGNER, promote=True)
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(r.version for r in results) == [2, 3], results  # type: ignore[union-attr]
    with ctx.db.session() as s:
        rows = s.scalars(select(ProcessDeploy).order_by(ProcessDeploy.id)).all()
        numbers = dict(s.execute(select(ProcessVersion.id, ProcessVersion.version)).all())
    # In turn: the later deploy replaced the earlier one, not version 1 as well.
    assert [(numbers[r.version_id], numbers.get(r.replaced_version_id)) for r in rows] == [(1, None), (2, 1), (3, 2)]
    assert current(ctx) == 3
    assert unit_actions(ctx) == ["process_deployed"] * 3
