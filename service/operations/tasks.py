"""Working user tasks: inbox, claim, complete. One completion is one database transaction."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, lazyload, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from service.domain.access import Actor, require_task_worker
from service.domain.errors import Conflict, NotFound
from service.domain.suspension import require_not_suspended
from service.engine.runtime import ProcessRuntime
from service.observability import metrics
from service.operations import audit, completion_read, drafts, form_rules, people, progress, substitutes
from service.operations.context import Govflow
from service.storage import locks, one_statement
from service.storage.aliases import shared_alias
from service.storage.db import describe_error
from service.storage.models import ProcessInstance, Project, Unit, WorkItem, utcnow

log = logging.getLogger("govflow.tasks")
_CONCURRENT = "该任务已被他人同时办理，请刷新后重试"


@dataclass(frozen=True)
class Completion:
    work_item_id: int
    project_id: int
    opened: list[int]
    stage: str
    status: str
    outcome: str | None
    # 后加签 (service.operations.countersign): validated and held, the engine step runs on the last signature.
    held: bool = False
    # Who acts next (worklists.next_steps' rows), known without another read; None: not filled in.
    next: list[dict[str, Any]] | None = None


def engine_values(properties: Mapping[str, str], form_data: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields a task declares as `outputs` enter the engine: routing stays small and the
    documents themselves live in work_items.data, not in every task of the engine state."""
    names = [n.strip() for n in properties.get("outputs", "").split(",") if n.strip()]
    return {n: form_data[n] for n in names if n in form_data}


def complete_loaded(ctx: Govflow, session: Session, project: Project, instance: ProcessInstance,
                    runtime: ProcessRuntime, wf: Any, item: WorkItem, form_data: Mapping[str, Any],
                    actor: Actor, opinion: str | None = None, now: dt.datetime | None = None,
                    on_behalf_of: str | None = None, open_items: list[WorkItem] | None = None,
                    new_ids: Callable[[int], list[int]] | None = None) -> list[WorkItem]:
    """Complete `item` in the caller's transaction. `open_items` (the instance's open work items)
    and `new_ids` (ids for the rows it opens) come from a caller that read or reserved them
    already; without them progress.apply queries and flushes (service.operations.progress)."""
    now = now or utcnow()
    props = runtime.task_properties(item.task_name)
    # Besides `outputs`: a declaration's register fields, the 第十三条 cumulative amount (form_rules).
    values = {**engine_values(props, form_data), **form_rules.engine_extras(session, project, item, form_data)}
    # 会签 / 或签 / 依次 nodes; opinions that count (docs/opinions.md)
    from service.operations import approval_modes, opinion_rules

    weighed = opinion_rules.weigh(ctx, session, instance, item, form_data)
    tally = approval_modes.preview(runtime, wf, item, values)
    runtime.complete(wf, item.spiff_task_id, values)
    item.state = "completed"
    item.completed_at = now
    item.completed_by = actor.user
    item.data = dict(form_data)
    metrics.count_completion_on_commit(session, item.task_name)  # /metrics, once committed
    form_rules.sync_register(session, project, item, form_data, actor.user, now, ctx.settings.audit_hash)
    audit.append(session, project, actor=actor.user, action="task_completed", work_item_id=item.id,
                 detail={"task": item.task_name, "title": item.title, "unit": item.unit.name,
                         "values": values, "opinion": opinion or form_data.get("opinion"),
                         # The form itself lives on the work item; its digest makes it tamper-evident too.
                         "data_sha256": hashlib.sha256(json.dumps(form_data, ensure_ascii=False, sort_keys=True,
                                                                  separators=(",", ":")).encode()).hexdigest(),
                         "late": bool(item.due_at and now > item.due_at),
                         **on_behalf(on_behalf_of)},
                 algorithm=ctx.settings.audit_hash, at=now)
    drafts.discard_with_task(session, item)
    from service.operations import carbon_copy  # imports project_file/worklists, which import this module

    carbon_copy.automatic(ctx, session, project, item, props, now)  # the task's `cc_units` (自动抄送)
    opened = progress.apply(ctx, session, project, instance, runtime, wf, actor=actor.user, now=now,
                            open_items=open_items, new_ids=new_ids)
    approval_modes.after_completion(ctx, session, project, instance, item, tally, form_data, actor.user, now,
                                    opened)
    opinion_rules.record(ctx, session, project, item, weighed, actor.user, now)
    from service.operations import supervision_effects  # 第十四条 暂停建设/责令整改, 第十五条 after 30 September

    supervision_effects.after_completion(ctx, session, project, item, props, form_data, actor.user, now)
    return opened


# Built once: every task page reads through it. The units come as entities of their own, not
# through the models' joined loading, which builds a result adapter per relationship on every
# execution (service.operations.completion_read does the same).
_ITEM_UNIT = shared_alias(Unit, "item_unit")
_PROJECT_UNIT = shared_alias(Unit, "project_unit")
_LOAD = (select(WorkItem, ProcessInstance, Project, _ITEM_UNIT, _PROJECT_UNIT)
         .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
         .join(Project, Project.id == WorkItem.project_id)
         .join(_ITEM_UNIT, _ITEM_UNIT.id == WorkItem.unit_id)
         .join(_PROJECT_UNIT, _PROJECT_UNIT.id == Project.unit_id)
         .options(lazyload(WorkItem.unit), lazyload(Project.unit))
         .where(WorkItem.id == bindparam("work_item_id")))
_LOAD_WITHOUT_STATE = _LOAD.options(defer(ProcessInstance.state))


def _load(session: Session, work_item_id: int, *, with_state: bool = True) -> tuple[WorkItem, ProcessInstance, Project]:
    """The work item with its instance and project, in one round trip (for reading). Without
    `with_state` the instance's engine state (tens of KB) is loaded only if something reads it."""
    row = session.execute(_LOAD if with_state else _LOAD_WITHOUT_STATE, {"work_item_id": work_item_id}).first()
    if row is None:
        raise NotFound("任务不存在")
    item, project = row[0], row[2]
    set_committed_value(item, "unit", row.item_unit)
    set_committed_value(project, "unit", row.project_unit)
    return item, row[1], project


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


def on_behalf(holder: str | None) -> dict[str, str]:
    """The audit detail of an action done as 代理 (service.operations.substitutes): whose task it was."""
    return {"on_behalf_of": holder} if holder else {}


def _check_open(item: WorkItem, actor: Actor) -> str | None:
    """The actor may work this open task: its unit, and unclaimed, theirs, or held by someone they
    stand in for today (代理). Returns that absent holder (for `on_behalf_of`), else None."""
    # Authorise before revealing anything about the task's state.
    require_task_worker(actor, item.unit.name)
    if item.state != "open":
        raise Conflict("该任务已办结" if item.state == "completed" else "该任务已被流程撤回")
    if item.assignee and item.assignee != actor.user:
        session = object_session(item)
        if session is not None and substitutes.stands_in_for(session, actor, item.assignee):
            return item.assignee
        raise Conflict(f"该任务已由 {people.name_of(session, item.assignee)} 认领")
    return None


def _open_item(session: Session, work_item_id: int, actor: Actor) -> tuple[WorkItem, Project, str | None]:
    item, _, project = load_for_write(session, work_item_id)
    return item, project, _check_open(item, actor)


def complete(ctx: Govflow, work_item_id: int, form_data: Mapping[str, Any], actor: Actor) -> Completion:
    wf = None
    instance = None
    try:
        with ctx.db.session() as s:
            # One statement reads (and locks) all a completion needs; one writes it (docs/performance.md).
            read = completion_read.load(s, work_item_id)
            item, instance, project = read.item, read.instance, read.project
            holder = _check_open(item, actor)
            require_not_suspended(project.suspension)  # 第十四条/第二十六条: its tasks stand still
            if item.delegated_by and (item.assignee == actor.user or holder):
                # 委派: the delegate works on it and hands it back; the delegator submits.
                raise Conflict(f"委派的任务办理后须交回委派人 {people.name_of(s, item.delegated_by)}，由其提交")
            from service.operations import countersign  # imports this module

            # 前加签 first: "still awaited" says more than the form's errors while it cannot be sent anyway.
            # One read of the task's open 加签 serves both checks; with none (the common case) there
            # is no hold either: the last signature or 撤销 releases it.
            waiting = countersign.open_signers(s, item.id) if read.has_countersigns else []
            countersign.require_no_open_before(s, item, waiting)
            form = ctx.forms.get(item.form)
            form.check(form_data)
            form_rules.check(s, project, item, form, form_data, utcnow())  # cross-field and declaration rules
            if waiting:  # refused now rather than when the last 后加签 signature releases it
                from service.operations import opinion_rules

                opinion_rules.weigh(ctx, s, instance, item, form_data)
            if countersign.hold_submission(ctx, s, project, item, form_data, actor, waiting):
                return Completion(item.id, project.id, [], project.stage, project.status, project.outcome, held=True)
            runtime = ctx.runtime(s, instance.version_id)
            wf = ctx.workflows.take(instance.id, instance.revision) or runtime.load(instance.state)
            one_statement.begin(s)
            opened = complete_loaded(ctx, s, project, instance, runtime, wf, item, form_data, actor,
                                     on_behalf_of=holder, open_items=read.open_items, new_ids=read.new_ids)
            following = [{"id": w.id, "unit": ctx.units.name_of(s, w.unit_id), "title": w.title, "stage": w.stage,
                          "due_date": w.due_date.isoformat() if w.due_date else None,
                          "due_provisional": bool(w.due_provisional)} for w in sorted(opened, key=lambda w: w.id)]
            one_statement.write(s)
            result = Completion(item.id, project.id, [w.id for w in opened], project.stage, project.status,
                                project.outcome, next=following)
    except (StaleDataError, IntegrityError) as exc:
        # Writers of one project queue on its lock, so this is either a real race lost (a task
        # moved outside the lock) or a fault of the read. The log names the constraint (never the
        # driver's text, which quotes row values) or the stale row group ("u1: expected to update …").
        integrity = isinstance(exc, IntegrityError)
        log.warning("completion of work item %s refused as concurrent: %s", work_item_id,
                    describe_error(exc) if integrity else f"{type(exc).__name__} {exc}")
        cause = "constraint" if integrity else "stale_row"
        metrics.COMPLETION_CONFLICTS.labels(cause=cause).inc()
        raise Conflict(_CONCURRENT) from exc
    ctx.workflows.put(instance.id, instance.revision, wf)
    return result


def claim(ctx: Govflow, work_item_id: int, actor: Actor) -> None:
    """认领. Claiming a task one already holds changes nothing and records nothing."""
    try:
        with ctx.db.session() as s:
            item, project, holder = _open_item(s, work_item_id, actor)
            if item.assignee == actor.user or holder:
                # A substitute works the absent holder's task as it is: claiming it changes nothing.
                return
            item.assignee = actor.user
            audit.append(s, project, actor=actor.user, action="task_claimed", work_item_id=item.id,
                         detail={"task": item.task_name}, algorithm=ctx.settings.audit_hash)
    except StaleDataError as exc:
        raise Conflict(_CONCURRENT) from exc


def unclaim(ctx: Govflow, work_item_id: int, actor: Actor) -> None:
    """取消认领. Releasing a task nobody holds changes nothing."""
    with ctx.db.session() as s:
        item, project, holder = _open_item(s, work_item_id, actor)
        if item.assignee is None:
            return
        if item.delegated_by:
            raise Conflict(f"委派的任务须交回委派人 {people.name_of(s, item.delegated_by)}，不能取消认领")
        item.assignee = None
        audit.append(s, project, actor=actor.user, action="task_unclaimed", work_item_id=item.id,
                     detail={"task": item.task_name, **on_behalf(holder)}, algorithm=ctx.settings.audit_hash)


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
