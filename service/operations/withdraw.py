"""撤回 / 拿回: the person who completed a step takes it back while the next step is untouched.

Rule (docs/withdraw.md), the same for `can_withdraw` on the task page and for the action:
- the step is completed, by the actor, and the project is still running;
- every task its completion opened (work items created in that transaction: same instance,
  created_at equal to the step's completed_at) is still open and untouched by its unit: not
  claimed (转办/委派 claim too), no opinion, no 暂存 draft, no attachment, no 加签 asked, no
  延期申请, clock not paused (补正);
- the engine can go back to the step dropping exactly those tasks and nothing else (a parallel
  join fired by another branch, a multi-instance node completed by another instance, a timer or a
  message that moved the flow on since: refused).
The next tasks become `cancelled` rows, the step reopens as a new open work item of the same round
with the submitted data, held by the actor, under the original due date."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from service.channels.config import ChannelSettings
from service.domain import approval_actions as rules
from service.domain.access import Actor
from service.domain.errors import Conflict
from service.engine.runtime import ProcessRuntime
from service.engine.withdrawal import reset_completed
from service.operations import audit, notifications, people, progress, project_file, task_leftovers, tasks
from service.operations.context import Govflow
from service.storage.models import (
    Attachment,
    AuditRecord,
    Countersign,
    ExtensionRequest,
    Opinion,
    ProcessInstance,
    Project,
    TaskDraft,
    WorkItem,
    WorkItemClock,
    utcnow,
)

ACTION = "task_taken_back"
NOTIFICATION_KIND = "withdrawn"


@dataclass(frozen=True)
class Withdrawal:
    work_item_id: int  # the reopened step
    withdrawn_id: int  # the completion taken back
    cancelled: list[int]


def opened_by(session: Session, item: WorkItem) -> list[WorkItem]:
    """The work items the completion of `item` opened: progress.apply stamps them with the very
    `now` the completion was stamped with, in the same transaction."""
    if item.completed_at is None:
        return []
    return list(session.scalars(select(WorkItem).where(
        WorkItem.instance_id == item.instance_id, WorkItem.id != item.id,
        WorkItem.created_at == item.completed_at).order_by(WorkItem.id)))


def _started(session: Session, items: Sequence[WorkItem]) -> str | None:
    """Why the next unit counts as having started (a zh-CN refusal), or None."""
    ids = [w.id for w in items]
    by_id = {w.id: w for w in items}

    def first(model: Any) -> WorkItem | None:
        hit = session.scalar(select(model.work_item_id).where(model.work_item_id.in_(ids))
                             .order_by(model.work_item_id).limit(1))
        return by_id.get(hit) if hit is not None else None

    for w in items:
        step = f"下一步“{w.title}”"
        if w.state == "completed":
            return f"{step}已由 {w.unit.name} 办结，不能撤回"
        if w.state != "open":
            return f"{step}已被退回或由流程撤回，流程已继续流转，不能撤回"
        if w.assignee:
            return f"{step}已由 {w.unit.name} 认领，不能撤回"
    # 加签 and 延期申请 are asked by the task's own unit only (the holder, its workers): acting on it.
    checks = ((Opinion, "已有 {unit} 的办理意见"), (TaskDraft, "已由 {unit} 开始填写（已暂存）"),
              (Attachment, "已由 {unit} 上传附件"), (Countersign, "已由 {unit} 发起加签"),
              (ExtensionRequest, "已由 {unit} 申请延期"))
    for model, text in checks:
        hit = first(model)
        if hit is not None:
            return f"下一步“{hit.title}”{text.format(unit=hit.unit.name)}，不能撤回"
    paused = session.scalar(select(WorkItemClock.work_item_id).where(
        WorkItemClock.work_item_id.in_(ids), WorkItemClock.paused_at.is_not(None)).limit(1))
    if paused is not None:
        return f"下一步“{by_id[paused].title}”已由 {by_id[paused].unit.name} 暂停计时（补正），不能撤回"
    return None


def _row_refusal(session: Session, item: WorkItem, project: Project, actor: Actor) -> str | None:
    why = rules.withdraw_project_refusal(project.status, project.outcome)
    if why:
        return why
    if item.state == "open":
        return "该步骤尚未办理，无需撤回"
    if item.state != "completed":
        taken_back = session.scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.project_id == project.id, AuditRecord.work_item_id == item.id,
            AuditRecord.action == ACTION))
        return "该步骤已撤回，请在待办中重新办理" if taken_back else "该步骤已被退回或由流程撤回，不能撤回"
    if item.completed_by != actor.user:
        who = people.name_of(session, item.completed_by) if item.completed_by else None
        return rules.withdraw_completer_refusal(actor, item.completed_by, who)
    return _started(session, opened_by(session, item))


def _engine_refusal(runtime: ProcessRuntime, wf: Any, item: WorkItem, open_items: Sequence[WorkItem],
                    opened: Sequence[WorkItem]) -> str | None:
    """Reset `wf` in place and compare what is ready with what should be: the step again, every
    other open task still there, exactly the opened ones gone."""
    reset = reset_completed(wf, item.spiff_task_id)
    if not reset.ok:
        return f"{reset.reason}，不能撤回"
    ready = {t.id for t in runtime.ready_user_tasks(wf)}
    before = {w.spiff_task_id for w in open_items}
    gone = before - ready
    expected_gone = {w.spiff_task_id for w in opened}
    if item.spiff_task_id not in ready or gone != expected_gone or ready - before != {item.spiff_task_id}:
        still = [w.title for w in opened if w.spiff_task_id in ready]
        return ("流程已进入下一步" + (f"（{'、'.join(still)}）" if still else "")
                + "，仅收回本步骤会使流程不一致，不能撤回")
    return None


def can_withdraw(ctx: Govflow, session: Session, item: WorkItem, instance: ProcessInstance, project: Project,
                 actor: Actor) -> tuple[bool, str | None]:
    """(allowed, why not) for the task page. Only the completer is told why: for everybody else the
    button simply is not there. The engine check runs on a fresh copy of the state, never cached."""
    if item.state != "completed" or item.completed_by != actor.user:
        return False, None
    why = _row_refusal(session, item, project, actor)
    if why is None:
        runtime = ctx.runtime(session, instance.version_id)
        open_now = progress.open_work_items(session, [instance])[instance.id]
        why = _engine_refusal(runtime, runtime.load(instance.state), item, open_now, opened_by(session, item))
    return why is None, why


def mark_withdrawable(ctx: Govflow, session: Session, rows: Sequence[tuple[WorkItem, Project]],
                      views: Sequence[dict[str, Any]], actor: Actor) -> None:
    """`can_withdraw` on 已办 rows, by can_withdraw's rule; the engine is loaded only for the rows
    the cheap row checks let through (typically the latest completion or two)."""
    instances: dict[int, ProcessInstance | None] = {}
    for (item, project), view in zip(rows, views, strict=True):
        allowed = False
        if project.status == "active" and item.state == "completed" and item.completed_by == actor.user:
            if item.instance_id not in instances:
                instances[item.instance_id] = session.get(ProcessInstance, item.instance_id)
            instance = instances[item.instance_id]
            allowed = instance is not None and can_withdraw(ctx, session, item, instance, project, actor)[0]
        view["can_withdraw"] = allowed


def _reopen(session: Session, old: WorkItem, new: WorkItem, cancelled: Sequence[WorkItem],
            instance: ProcessInstance, actor: Actor, now: dt.datetime) -> None:
    """The reopened row continues the old one: same round (a 撤回 is not a new round of review),
    the submitted data, held by the actor, and the original due date with its clock."""
    rounds = dict(instance.task_rounds or {})
    # Neither the reopening nor the cancelled next tasks (their unit never acted) count as a round.
    for w in (new, *cancelled):
        key = f"{w.task_name}@{w.unit_id}"
        rounds[key] = max(0, rounds.get(key, 1) - 1)
    instance.task_rounds = rounds
    new.round = old.round
    new.data = dict(old.data or {})
    new.assignee = actor.user
    new.due_date, new.due_at, new.due_rule, new.due_provisional = (old.due_date, old.due_at, old.due_rule,
                                                                   old.due_provisional)
    clock = session.get(WorkItemClock, new.id)
    before = session.get(WorkItemClock, old.id)
    if new.due_date is None:
        if clock is not None:
            clock.fire_at = None
        return
    if clock is None:
        clock = WorkItemClock(work_item_id=new.id, revision=0)
        session.add(clock)
    clock.original_due_date = before.original_due_date if before is not None else old.due_date
    clock.paused_days = before.paused_days if before is not None else 0
    clock.extended_days = before.extended_days if before is not None else 0
    # The tick plans the alarms from the due date and sends whatever of them is due already.
    clock.fire_at = now


def _notify(session: Session, project: Project, cancelled: Sequence[WorkItem], step: WorkItem, actor: Actor,
            now: dt.datetime) -> None:
    cfg = ChannelSettings()
    who = people.name_of(session, actor.user)
    rows = []
    for w in cancelled:
        link = f"{cfg.base_url.rstrip('/')}/tasks/{w.id}"
        lead = f"{step.unit.name} {who} 撤回了“{step.title}”，本任务已取消，无需办理"
        body = "\n".join([f"{step.unit.name} {who} 撤回了已提交的“{step.title}”，"
                          f"贵单位的“{w.title}”随之取消，无需办理。", "该步骤重新提交后，系统将再次通知。", "",
                          f"项目：{project.name}（{project.code}）",
                          f"事项：{w.title}（{w.stage}）", f"承办单位：{w.unit.name}", "", f"查看：{link}", "",
                          "东营市政务数字化项目管理系统", "（本邮件由系统自动发送，请勿直接回复。）"]) + "\n"
        payload = {"kind": NOTIFICATION_KIND, "title": "撤回", "level": 0, "project_id": project.id,
                   "project_code": project.code, "project_name": project.name, "work_item_id": w.id,
                   "task": w.task_name, "task_title": w.title, "unit": w.unit.name, "due_date": "—",
                   "overdue_working_days": 0, "link": link, "article": None, "recipient_unit": w.unit.name,
                   "lead": lead, "withdrawn_task": step.id}
        rows.append({"work_item_id": w.id, "project_id": project.id, "kind": NOTIFICATION_KIND, "level": 0,
                     "unit_id": w.unit_id, "recipient_role": "assignee",
                     "subject": f"【撤回】{project.name}“{w.title}”已取消"[:300], "body": body, "payload": payload,
                     "created_at": now})
    notifications.insert_batch(session, cfg, rows)


def withdraw(ctx: Govflow, work_item_id: int, actor: Actor) -> Withdrawal:
    """撤回 the actor's completed step `work_item_id`; 409 with the reason when the rule refuses."""
    wf = instance = None
    try:
        with ctx.db.session() as s:
            item, instance, project = tasks.load_for_write(s, work_item_id)
            # Another unit's task stays "not found", as for reading it.
            project_file.require_task_readable(s, actor, item, project)
            why = _row_refusal(s, item, project, actor)
            if why:
                raise Conflict(why)
            opened = opened_by(s, item)
            runtime = ctx.runtime(s, instance.version_id)
            wf = ctx.workflows.take(instance.id, instance.revision) or runtime.load(instance.state)
            why = _engine_refusal(runtime, wf, item, progress.open_work_items(s, [instance])[instance.id], opened)
            if why:
                raise Conflict(why)
            now = utcnow()
            algorithm = ctx.settings.audit_hash
            for w in opened:
                w.state, w.completed_at = "cancelled", now
                task_leftovers.end_with_task(s, w.id, by=actor.user, at=now)
                audit.append(s, project, actor=actor.user, action="task_withdrawn", work_item_id=w.id,
                             detail={"task": w.task_name, "title": w.title, "unit": w.unit.name,
                                     "cause": "taken_back", "taken_back": item.id}, algorithm=algorithm, at=now)
            item.state = "cancelled"  # completed_at/by and data stay: what was submitted, and when
            reopened = progress.apply(ctx, s, project, instance, runtime, wf, actor=actor.user, now=now)
            (new,) = [w for w in reopened if w.spiff_task_id == item.spiff_task_id]
            s.flush()  # the clock progress.apply armed for the new row is then found by primary key
            _reopen(s, item, new, opened, instance, actor, now)
            audit.append(s, project, actor=actor.user, action=ACTION, work_item_id=item.id,
                         detail={"task": item.task_name, "title": item.title, "unit": item.unit.name,
                                 "reopened": new.id, "round": new.round,
                                 "due_date": new.due_date.isoformat() if new.due_date else None,
                                 "cancelled": [{"id": w.id, "task": w.task_name, "title": w.title,
                                                "unit": w.unit.name} for w in opened]},
                         algorithm=algorithm, at=now)
            _notify(s, project, opened, item, actor, now)
            result = Withdrawal(new.id, item.id, [w.id for w in opened])
    except (StaleDataError, IntegrityError) as exc:
        raise Conflict(tasks._CONCURRENT) from exc
    ctx.workflows.put(instance.id, instance.revision, wf)
    return result
