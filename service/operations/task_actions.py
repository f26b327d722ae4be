"""Approval actions beyond completing a task (practice.md): 转办 (reassign within the unit), 委派
(delegate; the delegate hands the task back), 退回 (send back to an earlier step the process
allows), written opinions; and reading one task with its form."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from service.domain.access import Actor, require_task_worker
from service.domain.errors import Conflict, FieldError, RuleViolation, ValidationFailed
from service.operations import (
    approval_modes,
    audit,
    countersign_reads,
    drafts,
    people,
    progress,
    project_file,
    task_leftovers,
    tasks,
    withdraw,
)
from service.operations.context import Govflow
from service.operations.identity import user_in_unit
from service.storage.models import Opinion, Project, User, WorkItem, utcnow

SEND_BACK_PROPERTY = "send_back_to"


def task_view(item: WorkItem, project: Project | None = None) -> dict[str, Any]:
    out = {"id": item.id, "project_id": item.project_id, "task": item.task_name, "title": item.title,
           "stage": item.stage, "unit": item.unit.name, "form": item.form, "round": item.round,
           "state": item.state, "assignee": item.assignee, "delegated_by": item.delegated_by,
           "created_at": item.created_at.isoformat(), "due_date": item.due_date.isoformat() if item.due_date else None,
           "due_provisional": item.due_provisional,
           "completed_at": item.completed_at.isoformat() if item.completed_at else None,
           "completed_by": item.completed_by}
    if project is not None:
        out["project"] = {"id": project.id, "code": project.code, "name": project.name, "unit": project.unit.name}
    return out


def get_task(ctx: Govflow, work_item_id: int, actor: Actor) -> dict[str, Any]:
    """The task, its JSON Schema, its data and what the actor may do with it (a read: no
    transaction on PostgreSQL, no wait behind writers on SQLite)."""
    with ctx.db.read() as s:
        # The engine state is read only where the page needs the engine (撤回's check, an uncached 会签 tally).
        item, instance, project = tasks._load(s, work_item_id, with_state=False)
        # A completed task is also read (read-only) by every unit involved in the project.
        project_file.require_task_readable(s, actor, item, project)
        out = task_view(item, project)
        out["schema"] = ctx.forms.get(item.form).schema if ctx.forms.exists(item.form) else None
        out["data"] = item.data or {}
        if item.state == "open":
            # x-prefill (docs/project-file.md): earlier steps' values under what the task holds.
            out["prefill"] = project_file.prefill(s, out["schema"], item)
            if actor.unit == item.unit.name:  # others see what was entered, not suggestions
                out["data"] = {**{k: v["value"] for k, v in out["prefill"].items()}, **out["data"]}
        out["send_back_to"] = _send_back_targets(ctx, s, instance.version_id, item.task_name)
        out["opinions"] = [_opinion_view(o) for o in s.scalars(
            select(Opinion).where(Opinion.work_item_id == item.id).order_by(Opinion.id))]
        # 退回: the last round's form (a saved draft still wins, on the page) and why it came back.
        out["previous_round"] = drafts.previous_round(s, item) if item.state == "open" else None
        out["returned"] = drafts.returned(s, item)
        out["returned_reason"] = out["returned"]["reason"] if out["returned"] else None
        # 撤回 (service.operations.withdraw): the same rule as the action, so the button works where shown.
        out["can_withdraw"], out["withdraw_refusal"] = withdraw.can_withdraw(ctx, s, item, instance, project, actor)
        out.update(countersign_reads.task_extras(s, item))  # 加签: signers and a held 后加签 submission
        # 会签 / 或签 / 依次: the node's mode and how far it is (service.operations.approval_modes).
        out["approval"] = approval_modes.task_view(ctx, s, item, instance)
        return people.add_names(s, out)  # type: ignore[no-any-return]


def candidates(ctx: Govflow, work_item_id: int, actor: Actor) -> list[dict[str, Any]]:
    """Whom the holder of a task may hand it to (转办 or 委派): the active users of the task's unit
    but the actor, as _assign checks them. Only the holder asks; others get what _assign would say."""
    with ctx.db.session() as s:
        item, _, _ = tasks._load(s, work_item_id)
        _require_holder(item, actor)
        rows = s.execute(select(User.username, User.display_name, User.roles)
                         .where(User.unit_id == item.unit_id, User.active.is_(True), User.username != actor.user)
                         .order_by(User.display_name, User.username)).all()
        return [{"username": u, "display_name": d or u, "unit": item.unit.name, "roles": sorted(r or [])}
                for u, d, r in rows]


def _send_back_targets(ctx: Govflow, session: Any, version_id: int, task_name: str) -> list[str]:
    raw = ctx.runtime(session, version_id).task_properties(task_name).get(SEND_BACK_PROPERTY, "")
    return [n.strip() for n in raw.split(",") if n.strip()]


def _opinion_view(o: Opinion) -> dict[str, Any]:
    return {"id": o.id, "work_item_id": o.work_item_id, "author": o.author, "text": o.text, "at": o.at.isoformat()}


def _require_holder(item: WorkItem, actor: Actor) -> str | None:
    """The actor works this open task: its unit, and it is unclaimed, theirs, or held by someone
    they stand in for (代理; that holder is returned, for the audit's `on_behalf_of`)."""
    return tasks._check_open(item, actor)


def _assign(ctx: Govflow, work_item_id: int, actor: Actor, to_user: str, *, delegate: bool) -> dict[str, Any]:
    try:
        with ctx.db.session() as s:
            item, _, project = tasks.load_for_write(s, work_item_id)
            holder = _require_holder(item, actor)
            if item.delegated_by and (item.assignee == actor.user or holder):
                raise Conflict("委派的任务不能再转办或委派，请交回委派人")
            if to_user == actor.user:
                raise ValidationFailed([FieldError("user", "不能转给自己")])
            if not user_in_unit(s, to_user, item.unit.name):
                raise ValidationFailed([FieldError("user", f"转办/委派对象：{item.unit.name}没有在岗用户 {to_user}")])
            item.assignee = to_user
            item.delegated_by = actor.user if delegate else None
            audit.append(s, project, actor=actor.user, action="task_delegated" if delegate else "task_reassigned",
                         work_item_id=item.id, detail={"task": item.task_name, "to": to_user,
                                                       **tasks.on_behalf(holder)},
                         algorithm=ctx.settings.audit_hash)
            return people.add_names(s, task_view(item))  # type: ignore[no-any-return]
    except StaleDataError as exc:
        raise Conflict(tasks._CONCURRENT) from exc


def reassign(ctx: Govflow, work_item_id: int, actor: Actor, to_user: str) -> dict[str, Any]:
    """转办: the task becomes another user's of the same unit, for good."""
    return _assign(ctx, work_item_id, actor, to_user, delegate=False)


def delegate(ctx: Govflow, work_item_id: int, actor: Actor, to_user: str) -> dict[str, Any]:
    """委派: another user of the unit works the task, then hands it back (return_delegation)."""
    return _assign(ctx, work_item_id, actor, to_user, delegate=True)


def return_delegation(ctx: Govflow, work_item_id: int, actor: Actor) -> dict[str, Any]:
    try:
        with ctx.db.session() as s:
            item, _, project = tasks.load_for_write(s, work_item_id)
            holder = _require_holder(item, actor)
            if not item.delegated_by or item.assignee not in (actor.user, holder):
                raise Conflict("该任务不是委派给您的任务")
            back_to = item.delegated_by
            item.assignee, item.delegated_by = back_to, None
            audit.append(s, project, actor=actor.user, action="task_delegation_returned", work_item_id=item.id,
                         detail={"task": item.task_name, "to": back_to, **tasks.on_behalf(holder)},
                         algorithm=ctx.settings.audit_hash)
            return people.add_names(s, task_view(item))  # type: ignore[no-any-return]
    except StaleDataError as exc:
        raise Conflict(tasks._CONCURRENT) from exc


def add_opinion(ctx: Govflow, work_item_id: int, actor: Actor, text: str) -> dict[str, Any]:
    text = text.strip()
    if not text:
        raise ValidationFailed([FieldError("text", "意见：不能为空")])
    if len(text) > 2000:
        raise ValidationFailed([FieldError("text", "意见：不能超过 2000 个字")])
    with ctx.db.session() as s:
        item, _, project = tasks.load_for_write(s, work_item_id)
        require_task_worker(actor, item.unit.name)
        if item.state != "open":
            raise Conflict("该任务已办结，不能再填写意见" if item.state == "completed"
                           else "该任务已被退回或撤回，不能再填写意见")
        opinion = Opinion(project_id=project.id, work_item_id=item.id, unit_id=item.unit_id, author=actor.user,
                          text=text, at=utcnow())
        s.add(opinion)
        s.flush()
        audit.append(s, project, actor=actor.user, action="opinion_added", work_item_id=item.id,
                     detail={"task": item.task_name, "text": text}, algorithm=ctx.settings.audit_hash)
        return people.add_names(s, _opinion_view(opinion))  # type: ignore[no-any-return]


def send_back(ctx: Govflow, work_item_id: int, actor: Actor, to_task: str, reason: str) -> list[int]:
    """退回: only to a step named in the task's `send_back_to` property, with a written reason.
    Resets the workflow to that step (its deadline is computed afresh, as for any new task)."""
    if not reason.strip():
        raise ValidationFailed([FieldError("reason", "退回理由：不能为空")])
    wf = instance = None
    try:
        with ctx.db.session() as s:
            item, instance, project = tasks.load_for_write(s, work_item_id)
            holder = _require_holder(item, actor)
            allowed = _send_back_targets(ctx, s, instance.version_id, item.task_name)
            if to_task not in allowed:
                raise RuleViolation(f"流程不允许从“{item.title}”退回到 {to_task}"
                                    + (f"；可退回到：{'、'.join(allowed)}" if allowed else "；该步骤不可退回"),
                                    field="to_task")
            runtime = ctx.runtime(s, instance.version_id)
            wf = ctx.workflows.take(instance.id, instance.revision) or runtime.load(instance.state)
            if not runtime.reset_to(wf, to_task):
                raise RuleViolation(f"{to_task} 尚未在本流程中办理，不能退回", field="to_task")
            now = utcnow()
            item.state, item.completed_at, item.completed_by = "cancelled", now, actor.user
            task_leftovers.end_with_task(s, item.id, by=actor.user, at=now)
            audit.append(s, project, actor=actor.user, action="task_sent_back", work_item_id=item.id,
                         detail={"task": item.task_name, "to": to_task, "reason": reason.strip(),
                                 **tasks.on_behalf(holder)},
                         algorithm=ctx.settings.audit_hash, at=now)
            opened = progress.apply(ctx, s, project, instance, runtime, wf, actor=actor.user, now=now)
            result = [w.id for w in opened]
    except StaleDataError as exc:
        raise Conflict(tasks._CONCURRENT) from exc
    ctx.workflows.put(instance.id, instance.revision, wf)
    return result

