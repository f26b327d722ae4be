"""实例迁移: a dry run that says per instance whether it can move to another version and why not,
then the move of the chosen ones — each in its own audited transaction — after which the project
continues on the new version's flows (docs/instance-migration.md)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.domain.access import Actor
from service.domain.errors import Forbidden, ValidationFailed
from service.operations import dossier, instance_migration, processes, tasks
from service.scenario import worker
from service.storage.models import AuditRecord, InstanceMigration, ProcessInstance
from tests.operations.migration_versions import CHECK_TASK, with_check_after_review, without_police_review
from tests.operations.test_concurrency import REVIEWS, at_review, chain_ok, run_at_once

DESIGNER = Actor("designer", None, frozenset({"designer"}))
EDU = Actor("edu", "市教育局", frozenset({"department"}))


def _instance(ctx, project_id: int) -> ProcessInstance:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        inst = s.scalars(select(ProcessInstance).where(ProcessInstance.project_id == project_id)).one()
        s.expunge(inst)
        return inst


def _steps(driver, pid: int, until: str = "submit_budget") -> list[str]:  # type: ignore[no-untyped-def]
    names: list[str] = []
    driver.run(pid, until=until, on_step=lambda item, _: names.append(item.task_name))
    return names


def test_dry_run_says_per_instance_what_can_move(ctx, driver):  # type: ignore[no-untyped-def]
    moving, waiting = at_review(driver), at_review(driver)
    v1 = _instance(ctx, moving).version_id
    v2 = processes.deploy(ctx, with_check_after_review(), DESIGNER).id
    v3 = processes.deploy(ctx, without_police_review(), DESIGNER).id
    report = instance_migration.dry_run(ctx, DESIGNER, v1, v2)
    assert (report["from_version"], report["to_version"]) == (1, 2)
    assert [(r["project_id"], r["safe"]) for r in report["instances"]] == [(moving, True), (waiting, True)]
    assert set(report["instances"][0]["active"]) == set(REVIEWS)
    refused = instance_migration.dry_run(ctx, DESIGNER, v1, v3, [_instance(ctx, moving).id, 999999])
    (row,) = refused["instances"]
    assert row["safe"] is False
    assert any("方案评审（市公安局）" in r and "review_police" in r and "v3" in r for r in row["reasons"]), row
    assert refused["not_running_on_source"] == [999999]
    # A dry run writes nothing.
    assert _instance(ctx, moving).version_id == v1


def test_the_chosen_instance_moves_and_continues_on_the_new_flows(ctx, driver):  # type: ignore[no-untyped-def]
    moving, staying = at_review(driver), at_review(driver)
    before = _instance(ctx, moving)
    v2 = processes.deploy(ctx, with_check_after_review(), DESIGNER).id
    result = instance_migration.migrate(ctx, DESIGNER, before.version_id, v2, [before.id])
    assert result["migrated"] == 1 and result["results"][0]["migrated"] is True
    after = _instance(ctx, moving)
    assert after.version_id == v2 and after.revision > before.revision
    # The open reviews are the same work items: nobody's inbox changed.
    assert {w.task_name for w in driver.open_items(moving)} == set(REVIEWS)
    assert CHECK_TASK in _steps(driver, moving)
    assert CHECK_TASK not in _steps(driver, staying)
    assert _instance(ctx, staying).version_id == before.version_id
    with ctx.db.session() as s:
        record = s.scalars(select(AuditRecord).where(AuditRecord.project_id == moving,
                                                     AuditRecord.action == "instance_migrated")).one()
        assert (record.detail["from_version"], record.detail["to_version"]) == (1, 2)
        assert s.scalar(select(func.count()).select_from(InstanceMigration)) == 1
    chain_ok(ctx, moving)
    shown = dossier.project_detail(ctx, moving, Actor("督办员", "市大数据局", frozenset({"supervisor"})))
    assert shown["version"]["version"] == 2
    assert [(c["from_version"], c["to_version"]) for c in shown["version_changes"]] == [(1, 2)]
    assert any(h["action"] == "instance_migrated" and h["detail"]["to_version"] == 2 for h in shown["history"])


def test_an_unsafe_instance_is_refused_and_left_untouched(ctx, driver):  # type: ignore[no-untyped-def]
    pid = at_review(driver)
    before = _instance(ctx, pid)
    v3 = processes.deploy(ctx, without_police_review(), DESIGNER).id
    result = instance_migration.migrate(ctx, DESIGNER, before.version_id, v3, [before.id])
    assert result["migrated"] == 0
    assert any("review_police" in r for r in result["results"][0]["reasons"])
    after = _instance(ctx, pid)
    assert (after.version_id, after.revision, after.state) == (before.version_id, before.revision, before.state)
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(InstanceMigration)) == 0


def test_only_designers_migrate_and_bad_versions_are_named(ctx, driver):  # type: ignore[no-untyped-def]
    pid = at_review(driver)
    v1 = _instance(ctx, pid).version_id
    with pytest.raises(Forbidden):
        instance_migration.dry_run(ctx, EDU, v1, v1)
    for call, field in ((lambda: instance_migration.dry_run(ctx, DESIGNER, v1, v1), "to_version_id"),
                        (lambda: instance_migration.dry_run(ctx, DESIGNER, 424242, v1), "from_version_id"),
                        (lambda: instance_migration.migrate(ctx, DESIGNER, v1, v1, []), "instance_ids")):
        with pytest.raises(ValidationFailed) as refused:
            call()
        assert [e.path for e in refused.value.errors] == [field]
        assert field in refused.value.errors[0].message


def test_a_migration_racing_a_review_completion_gives_one_consistent_instance(ctx, driver):  # type: ignore[no-untyped-def]
    """Both lock the project: whichever goes second sees the other's result (checked again under
    the lock), the review is stored once, and the project then runs on the new version."""
    pids = [at_review(driver) for _ in range(2)]
    v2 = processes.deploy(ctx, with_check_after_review(), DESIGNER).id
    for pid in pids:
        inst = _instance(ctx, pid)
        item = next(w for w in driver.open_items(pid) if w.task_name == "review_police")
        results = run_at_once([
            lambda item=item: tasks.complete(ctx, item.id, driver.answer(item.form), worker(item.unit.name)),
            lambda inst=inst: instance_migration.migrate(ctx, DESIGNER, inst.version_id, v2, [inst.id]),
        ])
        assert [kind for kind, _ in results] == ["ok", "ok"], results
        assert results[1][1]["migrated"] == 1
        assert _instance(ctx, pid).version_id == v2
        assert {w.task_name for w in driver.open_items(pid)} == set(REVIEWS) - {"review_police"}
        assert CHECK_TASK in _steps(driver, pid)
        chain_ok(ctx, pid)
