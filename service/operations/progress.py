"""Carry what the engine did into rows: new work items with their deadlines, withdrawn ones, the
project's stage and outcome, the message subscription index, and the audit trail.

Called inside the caller's transaction after every engine step, so engine state, task rows and
audit commit together."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.deadlines import compute_due
from service.domain.errors import ProcessError
from service.domain.suspension import require_not_suspended
from service.engine.runtime import ProcessRuntime, ReadyTask
from service.operations import audit, clocks, task_leftovers
from service.operations.context import Govflow
from service.storage.models import ProcessInstance, Project, WorkItem, utcnow

DECLARER_LANE = "建设单位"
# The end event of a project that went through the whole lifecycle; every other end is an early end.
COMPLETED_END_EVENT = "end_completed"
PARTICIPANT_LANE = "参建单位"
# session.info: the work items the process itself withdrew in this transaction (see withdrawn()).
_WITHDRAWN = "govflow.progress.withdrawn"


def withdrawn(session: Session) -> list[WorkItem]:
    """The work items `apply` withdrew in this transaction, in the order it withdrew them."""
    return list(session.info.get(_WITHDRAWN, ()))


def open_work_items(session: Session, instances: Sequence[ProcessInstance]) -> dict[int, list[WorkItem]]:
    """The open work items of each instance (id → rows, by id), in one query: the rows a step may
    withdraw."""
    out: dict[int, list[WorkItem]] = {i.id: [] for i in instances}
    if out:
        # By project too (one instance per project): (project_id, state) is an index; on
        # (instance_id, state) alone SQLite walked every open row of every project.
        rows = session.scalars(select(WorkItem).where(WorkItem.project_id.in_([i.project_id for i in instances]),
                                                      WorkItem.instance_id.in_(list(out)), WorkItem.state == "open")
                               .order_by(WorkItem.id))
        for item in rows:
            out[item.instance_id].append(item)
    return out


def resolve_unit(ctx: Govflow, session: Session, lane: str | None, project: Project, item: Any) -> tuple[int, str]:
    """(id, name) of the unit a lane means here: 建设单位 is the unit that declared the project;
    参建单位 the participating unit a multi-instance task works for; any other lane names the unit."""
    if lane == DECLARER_LANE:
        return project.unit_id, project.unit.name
    name = item if lane == PARTICIPANT_LANE else lane
    unit_id = ctx.units.id_by_name(session, name) if isinstance(name, str) else None
    if unit_id is None:
        raise ProcessError(f"泳道 {lane} 无法对应到单位（{name}）")
    return unit_id, name


def _new_work_item(ctx: Govflow, session: Session, project: Project, instance: ProcessInstance,
                   task: ReadyTask, now: dt.datetime) -> tuple[WorkItem, str]:
    props = task.properties
    unit_id, unit_name = resolve_unit(ctx, session, task.lane, project, task.item)
    sla = props.get("sla_days")
    due = compute_due(ctx.calendar(session), created_at_utc=now, sla_days=int(sla) if sla else None,
                      rule_text=props.get("deadline"), data=task.data)
    rounds = dict(instance.task_rounds or {})
    key = f"{task.name}@{unit_id}"
    rounds[key] = rounds.get(key, 0) + 1
    instance.task_rounds = rounds
    return WorkItem(
        instance_id=instance.id,
        project_id=project.id,
        spiff_task_id=task.id,
        task_name=task.name,
        title=task.title,
        stage=props.get("stage", project.stage),
        lane=task.lane or "",
        unit_id=unit_id,
        form=props.get("form", ""),
        round=rounds[key],
        created_at=now,
        due_date=due.date if due else None,
        due_at=due.at_utc if due else None,
        due_rule=due.rule if due else None,
        due_provisional=due.provisional if due else False,
    ), unit_name


def apply(ctx: Govflow, session: Session, project: Project, instance: ProcessInstance, runtime: ProcessRuntime,
          wf: Any, *, actor: str, now: dt.datetime | None = None, open_items: list[WorkItem] | None = None,
          new_ids: Callable[[int], list[int]] | None = None) -> list[WorkItem]:
    """Synchronise rows with the workflow; returns the work items opened by this step.

    `open_items`: the instance's open work items, when the caller read them already (under the
    lock, service.operations.completion_read). `new_ids`: a source of ids for the new rows; with it
    nothing is flushed here (the caller writes everything at once), without it one flush gives them
    their ids."""
    # A suspended project's process does not move (第十四条, 第二十六条): the whole step rolls back.
    require_not_suspended(project.suspension)
    now = now or utcnow()
    algorithm = ctx.settings.audit_hash
    ready = {t.id: t for t in runtime.ready_user_tasks(wf)}
    if open_items is None:
        open_items = open_work_items(session, [instance])[instance.id]
    any_withdrawn = False
    for item in open_items:
        # The row being completed in this transaction is not flushed yet: skip it by its state.
        if item.state == "open" and item.spiff_task_id not in ready:
            any_withdrawn = True
            # Withdrawn by the process itself (a loop reset or a branch that ended): keep the row.
            item.state = "cancelled"
            item.completed_at = now
            session.info.setdefault(_WITHDRAWN, []).append(item)
            task_leftovers.end_with_task(session, item.id, by=actor, at=now)
            audit.append(session, project, actor=actor, action="task_withdrawn", work_item_id=item.id,
                         detail={"task": item.task_name, "title": item.title}, algorithm=algorithm, at=now)
    known = {item.spiff_task_id for item in open_items if item.state == "open" and item.spiff_task_id in ready}
    created = []
    for task_id, task in ready.items():
        if task_id in known:
            continue
        item, unit_name = _new_work_item(ctx, session, project, instance, task, now)
        session.add(item)
        created.append((item, unit_name))
    if created and new_ids is not None:
        for (item, _), item_id in zip(created, new_ids(len(created)), strict=True):
            item.id = item_id
    if (created and new_ids is None) or any_withdrawn:
        # One flush per step: the unit of work emits the updates above (completed, withdrawn rows)
        # before these inserts, so the partial unique index on open tasks never sees two. A
        # withdrawal still flushes even when the caller would write everything at the end, as it
        # did when the 会签 notices read the withdrawn rows back: the 会签 notices now take them
        # from withdrawn(), and whether anything else after the step reads them from the database
        # has not been audited (docs/performance.md, fifth pass).
        session.flush()
    # Deadline workers: the clock (reminders, escalation) of each new task.
    clocks.arm(ctx, session, [item for item, _ in created], runtime.task_properties, now)
    for item, unit_name in created:
        audit.append(session, project, actor=actor, action="task_opened", work_item_id=item.id,
                     detail={"task": item.task_name, "title": item.title, "unit": unit_name,
                             "due_date": item.due_date.isoformat() if item.due_date else None,
                             "due_rule": item.due_rule, "provisional": item.due_provisional},
                     algorithm=algorithm, at=now)

    waiting = runtime.waiting(wf)
    instance.waiting_message = waiting.message if waiting else None
    instance.correlation_key = waiting.correlation_key if waiting else None
    instance.updated_at = now
    outcome = runtime.outcome(wf)
    if outcome is not None:
        end_id, end_name = outcome
        instance.status = "completed"
        instance.completed_at = now
        # Keyed on the end event's id, which designers keep, not on its display name.
        project.status = "completed" if end_id == COMPLETED_END_EVENT else "ended"
        project.outcome = end_name
        audit.append(session, project, actor=actor, action="process_ended",
                     detail={"outcome": end_name, "end_event": end_id}, algorithm=algorithm, at=now)
    else:
        stages = [t.properties.get("stage") for t in ready.values() if t.properties.get("stage")]
        if stages:
            project.stage = stages[0]
        elif waiting and waiting.stage:
            project.stage = waiting.stage
    # Deadline workers: the earliest BPMN timer the instance waits on (indexed for the timer tick).
    instance.next_timer_at = None if outcome is not None else runtime.next_timer_at(wf)
    instance.state = runtime.dump(wf)
    from service.operations.annual_list import MESSAGE as ANNUAL_LIST_MESSAGE  # annual_list imports this module

    if waiting is not None and waiting.message == ANNUAL_LIST_MESSAGE:
        # 第六条: a non-urgent project reaching 项目批准 after its year's 预算安排完成 ends here, not
        # stranded at a list that will not come (service.operations.budget_arrangement; issue 12).
        from service.operations import budget_arrangement

        budget_arrangement.close_late_arrival(ctx, session, project, instance, runtime, wf, actor=actor, now=now)
    return [item for item, _ in created]
