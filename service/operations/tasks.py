"""Working user tasks: inbox, claim, complete. One completion is one database transaction."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.exc import StaleDataError

from service.domain.access import Actor, require_task_worker
from service.domain.errors import Conflict, NotFound
from service.engine.runtime import ProcessRuntime
from service.operations import audit, drafts, people, progress
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import ProcessInstance, Project, Unit, WorkItem, utcnow

_CONCURRENT = "该任务已被他人同时办理，请刷新后重试"


@dataclass(frozen=True)
class Completion:
    work_item_id: int
    project_id: int
    opened: list[int]
    stage: str
    status: str
    outcome: str | None


def engine_values(properties: Mapping[str, str], form_data: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields a task declares as `outputs` enter the engine: routing stays small and the
    documents themselves live in work_items.data, not in every task of the engine state."""
    names = [n.strip() for n in properties.get("outputs", "").split(",") if n.strip()]
    return {n: form_data[n] for n in names if n in form_data}


def complete_loaded(ctx: Govflow, session: Session, project: Project, instance: ProcessInstance,
                    runtime: ProcessRuntime, wf: Any, item: WorkItem, form_data: Mapping[str, Any],
                    actor: Actor, opinion: str | None = None, now: dt.datetime | None = None) -> list[WorkItem]:
    now = now or utcnow()
    props = runtime.task_properties(item.task_name)
    runtime.complete(wf, item.spiff_task_id, engine_values(props, form_data))
    item.state = "completed"
    item.completed_at = now
    item.completed_by = actor.user
    item.data = dict(form_data)
    audit.append(session, project, actor=actor.user, action="task_completed", work_item_id=item.id,
                 detail={"task": item.task_name, "title": item.title, "unit": item.unit.name,
                         "values": engine_values(props, form_data), "opinion": opinion or form_data.get("opinion"),
                         # The form itself lives on the work item; its digest makes it tamper-evident too.
                         "data_sha256": hashlib.sha256(json.dumps(form_data, ensure_ascii=False, sort_keys=True,
                                                                  separators=(",", ":")).encode()).hexdigest(),
                         "late": bool(item.due_at and now > item.due_at)},
                 algorithm=ctx.settings.audit_hash, at=now)
    drafts.discard_with_task(session, item.id)
    return progress.apply(ctx, session, project, instance, runtime, wf, actor=actor.user, now=now)


def _load(session: Session, work_item_id: int) -> tuple[WorkItem, ProcessInstance, Project]:
    """The work item with its instance and project, in one round trip (for reading)."""
    row = session.execute(
        select(WorkItem, ProcessInstance, Project)
        .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
        .join(Project, Project.id == WorkItem.project_id)
        .where(WorkItem.id == work_item_id)
    ).first()
    if row is None:
        raise NotFound("任务不存在")
    return row[0], row[1], row[2]


def load_for_write(session: Session, work_item_id: int) -> tuple[WorkItem, ProcessInstance, Project]:
    """The work item with its instance and project, after locking the project row: every writer of
    one project queues here (service.storage.locks), so what follows reads the newest committed state
    and the parallel branches of one project never fail each other."""
    if locks.serialised_by_database(session):
        return _load(session, work_item_id)
    project = locks.project_of_work_item(session, work_item_id)
    if project is None:
        raise NotFound("任务不存在")
    row = session.execute(
        select(WorkItem, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
        .where(WorkItem.id == work_item_id)
        .execution_options(populate_existing=True)
    ).one()
    return row[0], row[1], project


def _check_open(item: WorkItem, actor: Actor) -> None:
    # Authorise before revealing anything about the task's state.
    require_task_worker(actor, item.unit.name)
    if item.state != "open":
        raise Conflict("该任务已办结" if item.state == "completed" else "该任务已被流程撤回")
    if item.assignee and item.assignee != actor.user:
        raise Conflict(f"该任务已由 {people.name_of(object_session(item), item.assignee)} 认领")


def _open_item(session: Session, work_item_id: int, actor: Actor) -> tuple[WorkItem, Project]:
    item, _, project = load_for_write(session, work_item_id)
    _check_open(item, actor)
    return item, project


def complete(ctx: Govflow, work_item_id: int, form_data: Mapping[str, Any], actor: Actor) -> Completion:
    wf = None
    instance = None
    try:
        with ctx.db.session() as s:
            item, instance, project = load_for_write(s, work_item_id)
            _check_open(item, actor)
            if item.delegated_by and item.assignee == actor.user:
                # 委派: the delegate works on it and hands it back; the delegator submits.
                raise Conflict(f"委派的任务办理后须交回委派人 {people.name_of(s, item.delegated_by)}，由其提交")
            ctx.forms.get(item.form).check(form_data)
            runtime = ctx.runtime(s, instance.version_id)
            wf = ctx.workflows.take(instance.id, instance.revision) or runtime.load(instance.state)
            opened = complete_loaded(ctx, s, project, instance, runtime, wf, item, form_data, actor)
            result = Completion(item.id, project.id, [w.id for w in opened], project.stage, project.status,
                                project.outcome)
    except (StaleDataError, IntegrityError) as exc:
        raise Conflict(_CONCURRENT) from exc
    ctx.workflows.put(instance.id, instance.revision, wf)
    return result


def claim(ctx: Govflow, work_item_id: int, actor: Actor) -> None:
    """认领. Claiming a task one already holds changes nothing and records nothing."""
    try:
        with ctx.db.session() as s:
            item, project = _open_item(s, work_item_id, actor)
            if item.assignee == actor.user:
                return
            item.assignee = actor.user
            audit.append(s, project, actor=actor.user, action="task_claimed", work_item_id=item.id,
                         detail={"task": item.task_name}, algorithm=ctx.settings.audit_hash)
    except StaleDataError as exc:
        raise Conflict(_CONCURRENT) from exc


def unclaim(ctx: Govflow, work_item_id: int, actor: Actor) -> None:
    """取消认领. Releasing a task nobody holds changes nothing."""
    with ctx.db.session() as s:
        item, project = _open_item(s, work_item_id, actor)
        if item.assignee is None:
            return
        if item.delegated_by:
            raise Conflict(f"委派的任务须交回委派人 {people.name_of(s, item.delegated_by)}，不能取消认领")
        item.assignee = None
        audit.append(s, project, actor=actor.user, action="task_unclaimed", work_item_id=item.id,
                     detail={"task": item.task_name}, algorithm=ctx.settings.audit_hash)


def inbox(ctx: Govflow, actor: Actor, *, stage: str | None = None, project_id: int | None = None,
          limit: int = 200) -> list[WorkItem]:
    """Open tasks of the actor's unit, most urgent first."""
    with ctx.db.session() as s:
        q = (select(WorkItem).join(Unit, WorkItem.unit_id == Unit.id)
             .where(WorkItem.state == "open", Unit.name == actor.unit)
             .order_by(WorkItem.due_at.is_(None), WorkItem.due_at, WorkItem.id).limit(limit))
        if stage:
            q = q.where(WorkItem.stage == stage)
        if project_id:
            q = q.where(WorkItem.project_id == project_id)
        return list(s.scalars(q))


def open_items(ctx: Govflow, project_id: int) -> list[WorkItem]:
    with ctx.db.session() as s:
        return list(s.scalars(select(WorkItem).where(WorkItem.project_id == project_id, WorkItem.state == "open")
                              .order_by(WorkItem.id)))
