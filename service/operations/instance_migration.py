"""Instance migration (实例迁移): a designer moves chosen running instances of a process from
version N to version M, after a dry run that says per instance whether it is safe and why not.

Each instance moves in its own transaction, under its project's lock (docs/concurrency.md): the
instance is read fresh, checked again (a task may have been completed since the dry run), its
state rewritten for M, its open work items' titles and stages taken from M, a record written and
the move audited on the project's chain. The instance's revision changes, so no process ever serves
the old state from its workflow cache. The engine's rule is service/engine/instance_migration.py."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.access import Actor, require_designer
from service.domain.errors import FieldError, ValidationFailed
from service.engine import instance_migration as engine
from service.operations import audit
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import InstanceMigration, ProcessInstance, ProcessVersion, Project, WorkItem, utcnow

ACTION = "instance_migrated"
REFUSED = "迁移请求不符合要求"
MAX_INSTANCES = 200


def _versions(s: Session, from_id: int, to_id: int) -> tuple[ProcessVersion, ProcessVersion]:
    source, target = s.get(ProcessVersion, from_id), s.get(ProcessVersion, to_id)
    errors = []
    if source is None:
        errors.append(FieldError("from_version_id", f"from_version_id：没有 id 为 {from_id} 的流程版本"))
    if target is None:
        errors.append(FieldError("to_version_id", f"to_version_id：没有 id 为 {to_id} 的流程版本"))
    if errors:
        raise ValidationFailed(errors, REFUSED)
    assert source is not None and target is not None
    if source.id == target.id:
        raise ValidationFailed([FieldError("to_version_id", "to_version_id：目标版本与原版本相同")], REFUSED)
    if source.process_key != target.process_key:
        raise ValidationFailed([FieldError("to_version_id", f"to_version_id：v{target.version} 属于流程 "
                                           f"{target.process_key}，不是 {source.process_key} 的版本")], REFUSED)
    return source, target


def _chosen(s: Session, source: ProcessVersion, instance_ids: Sequence[int] | None) -> list[tuple[ProcessInstance,
                                                                                                   Project]]:
    query = (select(ProcessInstance, Project).join(Project, Project.id == ProcessInstance.project_id)
             .where(ProcessInstance.version_id == source.id, ProcessInstance.status == "running"))
    if instance_ids is not None:
        if len(instance_ids) > MAX_INSTANCES:
            raise ValidationFailed([FieldError("instance_ids", f"instance_ids：一次最多 {MAX_INSTANCES} 个实例")],
                                   REFUSED)
        query = query.where(ProcessInstance.id.in_(list(instance_ids)))
    return [(i, p) for i, p in s.execute(query.order_by(ProcessInstance.id).limit(MAX_INSTANCES))]


def _row(instance: ProcessInstance, project: Project, verdict: engine.Verdict) -> dict[str, Any]:
    return {"instance_id": instance.id, "project_id": project.id, "code": project.code, "name": project.name,
            "stage": project.stage, "safe": verdict.safe, "reasons": verdict.reasons, "active": verdict.active}


def dry_run(ctx: Govflow, actor: Actor, from_version_id: int, to_version_id: int,
            instance_ids: Sequence[int] | None = None) -> dict[str, Any]:
    """Per running instance of N (or of the chosen ones): safe to move to M, or why not. Writes nothing."""
    require_designer(actor)
    with ctx.db.session() as s:
        source, target = _versions(s, from_version_id, to_version_id)
        old, new = ctx.runtime(s, source.id), ctx.runtime(s, target.id)
        rows = [_row(i, p, engine.check(i.state, old, new, target.version)) for i, p in _chosen(s, source,
                                                                                               instance_ids)]
        found = {r["instance_id"] for r in rows}
        missing = sorted(set(instance_ids or ()) - found)
    return {"from_version": source.version, "to_version": target.version, "instances": rows,
            "not_running_on_source": missing}


def migrate(ctx: Govflow, actor: Actor, from_version_id: int, to_version_id: int,
            instance_ids: Sequence[int]) -> dict[str, Any]:
    """Move each chosen instance that is still safe; one transaction and one audit record each."""
    require_designer(actor)
    if not instance_ids:
        raise ValidationFailed([FieldError("instance_ids", "instance_ids：请选择要迁移的实例")], REFUSED)
    if len(instance_ids) > MAX_INSTANCES:
        raise ValidationFailed([FieldError("instance_ids", f"instance_ids：一次最多 {MAX_INSTANCES} 个实例")], REFUSED)
    with ctx.db.session() as s:
        source, target = _versions(s, from_version_id, to_version_id)
        pairs = {i.id: p.id for i, p in _chosen(s, source, instance_ids)}
        versions = (source.id, source.version, target.id, target.version)
    results = []
    for instance_id in sorted(set(instance_ids)):
        project_id = pairs.get(instance_id)
        if project_id is None:
            results.append({"instance_id": instance_id, "migrated": False,
                            "reasons": [f"实例 {instance_id} 不是 v{versions[1]} 上运行中的实例"]})
            continue
        results.append(_move_one(ctx, actor, instance_id, project_id, versions))
    return {"from_version": versions[1], "to_version": versions[3], "results": results,
            "migrated": sum(1 for r in results if r["migrated"])}


def _move_one(ctx: Govflow, actor: Actor, instance_id: int, project_id: int,
              versions: tuple[int, int, int, int]) -> dict[str, Any]:
    source_id, source_version, target_id, target_version = versions
    now = utcnow()
    with ctx.db.session() as s:
        project = locks.project(s, project_id)
        instance = s.scalars(select(ProcessInstance).where(ProcessInstance.id == instance_id)
                             .execution_options(populate_existing=True)).one()
        if project is None or instance.version_id != source_id or instance.status != "running":
            return {"instance_id": instance_id, "project_id": project_id, "migrated": False,
                    "reasons": [f"实例已不在 v{source_version} 上运行（可能已被迁移或已结束）"]}
        old, new = ctx.runtime(s, source_id), ctx.runtime(s, target_id)
        verdict = engine.check(instance.state, old, new, target_version)
        if not verdict.safe:
            return {"instance_id": instance_id, "project_id": project_id, "migrated": False,
                    "reasons": verdict.reasons}
        wf = engine.migrate(instance.state, new)
        instance.state = new.dump(wf)
        instance.version_id = target_id
        instance.next_timer_at = new.next_timer_at(wf)
        for item in s.scalars(select(WorkItem).where(WorkItem.instance_id == instance_id, WorkItem.state == "open")):
            spec = new.spec.task_specs.get(item.task_name)
            if spec is not None and getattr(spec, "bpmn_name", None):
                item.title = spec.bpmn_name
            stage = new.task_properties(item.task_name).get("stage")
            if stage:
                item.stage = stage
        s.add(InstanceMigration(instance_id=instance_id, project_id=project_id, from_version_id=source_id,
                                to_version_id=target_id, active=verdict.active, migrated_by=actor.user,
                                migrated_at=now))
        audit.append(s, project, actor=actor.user, action=ACTION,
                     detail={"from_version": source_version, "to_version": target_version,
                             "active": verdict.active}, algorithm=ctx.settings.audit_hash, at=now)
    return {"instance_id": instance_id, "project_id": project_id, "migrated": True, "reasons": []}


def of_project(s: Session, project_id: int) -> list[dict[str, Any]]:
    """The project's version changes, oldest first (for the project page)."""
    rows = s.execute(select(InstanceMigration, ProcessVersion.version)
                     .join(ProcessVersion, ProcessVersion.id == InstanceMigration.to_version_id)
                     .where(InstanceMigration.project_id == project_id).order_by(InstanceMigration.id)).all()
    out = []
    for m, to_version in rows:
        from_version = s.get(ProcessVersion, m.from_version_id)
        out.append({"from_version": from_version.version if from_version else None, "to_version": to_version,
                    "by": m.migrated_by, "at": m.migrated_at.isoformat(), "active": m.active})
    return out
