"""Approval modes of multi-instance nodes (会签 / 比例会签 / 或签 / 依次) in rows: the task page's
progress line, and what happens when a completion decides the node — an `approval_decided` audit
record and a message to every unit whose instance the engine cancelled (docs/approval-actions.md).

The counting itself is the engine's (service.engine.approval, ProcessRuntime.approval_tally)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from service.engine import approval
from service.engine.runtime import ProcessRuntime
from service.operations import audit, progress
from service.operations.context import Govflow
from service.storage.models import Notification, ProcessInstance, Project, WorkItem

NOTICE_KIND = "approval_closed"
# To the unit whose step an objection reopened (参建单位 有异议 under 会签: the lead unit's 申报).
OBJECTION_KIND = "approval_objected"
# The form field an objecting unit explains itself in (participant_confirmation.objection).
OBJECTION_FIELD = "objection"


def preview(runtime: ProcessRuntime, wf: Any, item: WorkItem, values: Mapping[str, Any]) -> approval.Tally | None:
    """The node's tally with this completion counted, taken before the engine step (a decided
    node that routes back is reset away by the step, with its instances)."""
    props = runtime.task_properties(item.task_name)
    if not props.get(approval.MODE_PROPERTY):
        return None
    decision = values.get(props.get(approval.FIELD_PROPERTY, approval.DEFAULT_FIELD))
    return runtime.approval_tally(wf, item.spiff_task_id, including=decision)


def after_completion(ctx: Govflow, session: Session, project: Project, instance: ProcessInstance,
                     item: WorkItem, tally: approval.Tally | None, form_data: Mapping[str, Any], actor: str,
                     now: dt.datetime, opened: Sequence[WorkItem] = ()) -> None:
    """In the completion's transaction, after progress.apply (which opened `opened`): when this
    completion decided the node, record the outcome and tell the units whose instances were
    withdrawn by it."""
    if tally is None or tally.result is None:
        return
    # The rows the step itself withdrew, as progress.apply recorded them (not found again by time).
    cancelled = sorted((w for w in progress.withdrawn(session)
                        if w.instance_id == instance.id and w.task_name == item.task_name), key=lambda w: w.id)
    reason = None
    if tally.result == approval.OBJECTED:
        text = form_data.get(OBJECTION_FIELD) or form_data.get("opinion")
        reason = text.strip() if isinstance(text, str) and text.strip() else None
    audit.append(session, project, actor=actor, action="approval_decided", work_item_id=item.id,
                 detail={"task": item.task_name, "title": item.title, "unit": item.unit.name,
                         **tally.to_dict(), "reason": reason,
                         "cancelled": [{"work_item_id": w.id, "unit": w.unit.name} for w in cancelled]},
                 algorithm=ctx.settings.audit_hash, at=now)
    for w in cancelled:
        lead = f"{tally.mode.label}已由{item.unit.name}的决定完成（{tally.result}），贵单位的确认无需再办"
        subject = f"【{tally.mode.label}结束】{project.name}「{w.title}」已撤销"
        body = (f"{lead}。\n\n项目：{project.name}（{project.code}）\n事项：{w.title}（{w.stage}）\n"
                f"进度：{tally.summary()}\n\n东营市政务数字化项目管理系统\n（本消息由系统自动发送，请勿直接回复。）\n")
        session.add(Notification(
            work_item_id=w.id, project_id=project.id, kind=NOTICE_KIND, level=0, unit_id=w.unit_id,
            recipient_role="department", subject=subject, body=body, created_at=now,
            payload={"kind": NOTICE_KIND, "title": "审批已结束", "lead": lead, "project_id": project.id,
                     "project_code": project.code, "project_name": project.name, "work_item_id": w.id,
                     "task": w.task_name, "task_title": w.title, "unit": w.unit.name, "due_date": "—",
                     "link": f"/tasks/{w.id}", "recipient_unit": w.unit.name}))
    if tally.result == approval.OBJECTED:
        _tell_reopened(ctx, session, project, item, tally, reason, now, opened)


def _tell_reopened(ctx: Govflow, session: Session, project: Project, item: WorkItem, tally: approval.Tally,
                   reason: str | None, now: dt.datetime, opened: Sequence[WorkItem]) -> None:
    """An objection routed the flow back: the unit whose step reopened (one of the work items this
    step opened) must know that it has the step to revise, and why."""
    for w in sorted(opened, key=lambda w: w.id):
        # A row opened by this step may not be written yet: its unit comes from the directory.
        unit_name = ctx.units.name_of(session, w.unit_id)
        lead = (f"{item.unit.name}对「{item.title}」有异议（{tally.mode.label}），「{w.title}」退回贵单位修改"
                + (f"：{reason}" if reason else ""))
        body = (f"{lead}。\n\n项目：{project.name}（{project.code}）\n事项：{w.title}（{w.stage}）\n"
                f"进度：{tally.summary()}\n\n东营市政务数字化项目管理系统\n（本消息由系统自动发送，请勿直接回复。）\n")
        session.add(Notification(
            work_item_id=w.id, project_id=project.id, kind=OBJECTION_KIND, level=0, unit_id=w.unit_id,
            recipient_role="department", subject=f"【参建单位异议】{project.name}「{w.title}」已退回"[:300], body=body,
            created_at=now,
            payload={"kind": OBJECTION_KIND, "title": "参建单位异议", "lead": lead, "project_id": project.id,
                     "project_code": project.code, "project_name": project.name, "work_item_id": w.id,
                     "task": w.task_name, "task_title": w.title, "unit": unit_name,
                     "due_date": w.due_date.isoformat() if w.due_date else "—",
                     "link": f"/tasks/{w.id}", "recipient_unit": unit_name, "objection": reason,
                     "objecting_unit": item.unit.name}))


def task_view(ctx: Govflow, session: Session, item: WorkItem, instance: ProcessInstance) -> dict[str, Any] | None:
    """GET /api/tasks/{id} `approval`: {mode, label, total, decided, agreed, objected, result, summary}
    for a task of a multi-instance node with an approval mode; None otherwise. Counted from the live
    engine state; a task whose pass was reset away (the node routed back) shows the mode only."""
    runtime = ctx.runtime(session, instance.version_id)
    props = runtime.task_properties(item.task_name)
    if not props.get(approval.MODE_PROPERTY):
        return None
    try:
        mode = approval.parse_mode(props[approval.MODE_PROPERTY])
    except approval.ApprovalModeError:
        return None  # validation refuses such a model; an older version must still open its tasks
    tally = None
    if instance.status != "completed":
        wf = ctx.workflows.take(instance.id, instance.revision) or runtime.load(instance.state)
        try:
            tally = runtime.approval_tally(wf, item.spiff_task_id)
        finally:
            ctx.workflows.put(instance.id, instance.revision, wf)
    if tally is None:
        return {"mode": mode.text, "label": mode.label, "total": None, "decided": None, "agreed": None,
                "objected": None, "result": None, "summary": mode.label}
    return tally.to_dict()
