"""暂存 (drafts): what one user has typed into one open task, kept on the server until the task is
completed, so a long form survives leaving the page, an expired session or another computer; and
the previous round of a task re-opened after 退回, with the reason it came back (docs/drafts.md).

A draft is the user's unfinished work, not a record of the project: it is not validated against
the form (required fields may be empty), not part of the dossier and not in the audit chain."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, inspect, select
from sqlalchemy.orm import Session

from service.domain.access import Actor, require_task_worker
from service.domain.errors import Conflict, FieldError, ValidationFailed
from service.domain.visibility import require_task_visible
from service.operations import tasks
from service.operations.context import Govflow
from service.storage import one_statement
from service.storage.models import AuditRecord, TaskDraft, WorkItem, utcnow

# The JSON of the longest real form (建设方案, 30+ fields with long texts) is some tens of KB; the
# limit keeps one user's autosave from filling the database while leaving room for that.
MAX_DRAFT_BYTES = 512 * 1024


def _view(row: TaskDraft) -> dict[str, Any]:
    return {"work_item_id": row.work_item_id, "data": row.data, "updated_at": row.updated_at.isoformat()}


def _check_shape(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationFailed([FieldError("data", "data：应为表单数据对象")])
    size = len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_DRAFT_BYTES:
        raise ValidationFailed([FieldError("data", f"暂存内容：过大（{size // 1024} KB），"
                                                   f"不能超过 {MAX_DRAFT_BYTES // 1024} KB")])
    return dict(data)


def _require_open_for(item: WorkItem, actor: Actor) -> None:
    """Who may 暂存 is who may work the task (tasks._check_open): its unit, unclaimed or the actor's."""
    if item.state != "open":
        require_task_worker(actor, item.unit.name)
        raise Conflict("该任务已办结，不能再暂存" if item.state == "completed"
                       else "该任务已被退回或由流程撤回，不能再暂存")
    tasks._check_open(item, actor)


def save(ctx: Govflow, work_item_id: int, actor: Actor, data: Any, *,
         now: dt.datetime | None = None) -> dict[str, Any]:
    """Create or replace the actor's draft. Under the project's lock (service.storage.locks), like
    every write of the project: a save cannot slip in after the completion that deletes drafts, and
    two saves of one user queue, the later one winning."""
    data = _check_shape(data)
    with ctx.db.session() as s:
        item, _, project = tasks.load_for_write(s, work_item_id)
        require_task_visible(actor, item.unit.name, project.unit.name)
        _require_open_for(item, actor)
        row = s.scalars(select(TaskDraft).where(TaskDraft.work_item_id == item.id,
                                                TaskDraft.username == actor.user)).first()
        if row is None:
            row = TaskDraft(work_item_id=item.id, username=actor.user, data=data)
            s.add(row)
        else:
            row.data = data
        row.updated_at = now or utcnow()
        s.flush()
        return _view(row)


def load(ctx: Govflow, work_item_id: int, actor: Actor) -> dict[str, Any] | None:
    """The actor's own draft of an open task of their unit (None if there is none)."""
    with ctx.db.session() as s:
        item, _, project = tasks._load(s, work_item_id)
        require_task_visible(actor, item.unit.name, project.unit.name)
        require_task_worker(actor, item.unit.name)
        if item.state != "open":
            return None
        row = s.scalars(select(TaskDraft).where(TaskDraft.work_item_id == item.id,
                                                TaskDraft.username == actor.user)).first()
        return _view(row) if row is not None else None


def discard(ctx: Govflow, work_item_id: int, actor: Actor) -> bool:
    """Delete the actor's draft; True if there was one. Allowed on any state: it only tidies up."""
    with ctx.db.session() as s:
        item, _, project = tasks.load_for_write(s, work_item_id)
        require_task_visible(actor, item.unit.name, project.unit.name)
        require_task_worker(actor, item.unit.name)
        gone = s.execute(delete(TaskDraft).where(TaskDraft.work_item_id == item.id,
                                                 TaskDraft.username == actor.user))
        return bool(gone.rowcount)  # type: ignore[attr-defined]


_NONE = "govflow.drafts.none"


def none_exist(session: Session, work_item_id: int) -> None:
    """The caller read, inside this write transaction and with every other writer kept out until
    it ends (SQLite's BEGIN IMMEDIATE), that the task has no drafts: discard_with_task has
    nothing to delete (service.operations.completion_read)."""
    session.info.setdefault(_NONE, set()).add(work_item_id)


def discard_with_task(session: Session, item: WorkItem) -> None:
    """Inside the transaction that completes (or cancels) the task: its drafts go with it, whoever
    wrote them, so nobody restores a form that was already submitted."""
    if inspect(item).pending:
        return  # opened in this very transaction (the 填报 task of a declaration): nobody drafted it
    work_item_id = item.id
    if work_item_id in session.info.get(_NONE, ()):
        return
    if one_statement.defer_delete(session, TaskDraft.__table__, "work_item_id", work_item_id):
        return  # part of the completion's one write statement (PostgreSQL)
    session.execute(delete(TaskDraft).where(TaskDraft.work_item_id == work_item_id)
                    .execution_options(synchronize_session=False))


# -- 退回: a task entered again --------------------------------------------------------------------


def previous_round(session: Session, item: WorkItem) -> dict[str, Any] | None:
    """The last completed round of the same task for the same unit: its data prefills the form,
    attachment ids included (the files stay linked, nobody uploads them again)."""
    if item.round <= 1:
        return None
    prev = session.scalars(
        select(WorkItem).where(WorkItem.instance_id == item.instance_id, WorkItem.task_name == item.task_name,
                               WorkItem.unit_id == item.unit_id, WorkItem.state == "completed",
                               WorkItem.round < item.round)
        .order_by(WorkItem.round.desc(), WorkItem.id.desc()).limit(1)).first()
    if prev is None:
        return None
    return {"work_item_id": prev.id, "round": prev.round, "data": prev.data or {},
            "completed_at": prev.completed_at.isoformat() if prev.completed_at else None,
            "completed_by": prev.completed_by}


def returned(session: Session, item: WorkItem) -> dict[str, Any] | None:
    """Why the task is here again: the 退回 (or the decision that routed back, e.g. 修改后重审) that
    opened it. Both are written in the transaction that opened this item, with its created_at."""
    if item.round <= 1:
        return None
    records = session.scalars(
        select(AuditRecord).where(AuditRecord.project_id == item.project_id, AuditRecord.at == item.created_at,
                                  AuditRecord.action.in_(("task_sent_back", "task_completed",
                                                          "approval_decided")))
        .order_by(AuditRecord.seq.desc())).all()
    for record in records:
        detail = record.detail or {}
        if record.action == "task_sent_back" and detail.get("to") != item.task_name:
            continue
        if record.action == "approval_decided" and detail.get("result") != "有异议":
            continue
        source = session.get(WorkItem, record.work_item_id) if record.work_item_id else None
        # A 会签 node that routed back (service.operations.approval_modes): the objecting unit's words.
        reason = detail.get("opinion") if record.action == "task_completed" else detail.get("reason")
        return {"kind": {"task_sent_back": "send_back", "approval_decided": "objection"}.get(record.action,
                                                                                             "decision"),
                "reason": reason if isinstance(reason, str) and reason.strip() else None,
                "from_task": source.title if source else detail.get("task"),
                "unit": source.unit.name if source else None, "at": record.at.isoformat()}
    return None
