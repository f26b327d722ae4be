"""延期申请: the unit holding a task asks supervision for N more working days with a reason;
supervision approves (the existing 延期, clocks.extend_in, in the same transaction) or refuses with
a note. Both outcomes notify the requesting unit and enter the project's audit chain, so the
request, the decision and the new due date are on the task page and in the dossier
(docs/urge-and-extension.md).

Days: 1–30 working days. The measures' own periods are 10 working days (第十二条 contract filing,
第二十四条 acceptance report) to a few months; an extension longer than six weeks is a change of
the project's schedule (建设与变更), not a deadline matter. Supervisors extending directly keep
clocks.extend's wider range."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.domain.access import Actor, require_overseer, require_supervisor, require_task_worker
from service.domain.errors import Conflict, FieldError, NotFound, RuleViolation, ValidationFailed
from service.domain.labels import beijing
from service.domain.visibility import can_see_task, reads_everything
from service.operations import audit, clocks, people, task_messages, urge
from service.operations.context import Govflow
from service.operations.project_file import require_task_readable
from service.operations.tasks import _load as load_task
from service.operations.worklists import FIRST_PAGE, PageRequest, count_and_page, envelope
from service.storage import locks
from service.storage.models import ExtensionRequest, Project, Unit, Urge, WorkItem, utcnow

MAX_DAYS = 30
TEXT_MAX = 2000
STATES = ("pending", "approved", "refused")
STATE_LABELS = {"pending": "待审批", "approved": "已同意", "refused": "不同意"}


def _days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise ValidationFailed([FieldError("days", f"申请延期工作日：应为 1–{MAX_DAYS} 的整数")])
    return value


def _text(value: Any, field: str, label: str, *, required: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if (required and not text) or len(text) > TEXT_MAX:
        need = "不能为空，且" if required else ""
        raise ValidationFailed([FieldError(field, f"{label}：{need}不超过 {TEXT_MAX} 字")])
    return text


def _locked_item(s: Session, work_item_id: int, actor: Actor) -> tuple[WorkItem, Project]:
    project = locks.project_of_work_item(s, work_item_id)
    item = s.get(WorkItem, work_item_id, populate_existing=True) if project is not None else None
    if item is None or project is None or not can_see_task(actor, item.unit.name, project.unit.name):
        raise NotFound("任务不存在")
    return item, project


def request(ctx: Govflow, work_item_id: int, days: Any, reason: Any, actor: Actor,
            now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    with ctx.db.session() as s:
        item, project = _locked_item(s, work_item_id, actor)
        require_task_worker(actor, item.unit.name)
        n = _days(days)
        why = _text(reason, "reason", "延期理由", required=True)
        if item.state != "open":
            raise Conflict("该任务已办结或已撤回，不能申请延期")
        if item.due_date is None:
            raise RuleViolation("该任务没有办理时限，无需申请延期")
        if _pending(s, item.id) is not None:
            raise Conflict("该任务已有待审批的延期申请，请等待督办人员处理")
        row = ExtensionRequest(work_item_id=item.id, project_id=project.id, unit_id=item.unit_id,
                               requested_by=actor.user, requested_at=now, days=n, reason=why, state="pending",
                               due_date=item.due_date)
        try:
            with s.begin_nested():
                s.add(row)
        except IntegrityError:
            raise Conflict("该任务已有待审批的延期申请，请等待督办人员处理") from None
        who = people.name_of(s, actor.user)
        supervision = ctx.units.id_by_name(s, "市大数据局")
        if supervision is not None:
            task_messages.queue(
                s, item=item, project=project, kind="extension_requested", level=row.id, unit_id=supervision,
                unit_name="市大数据局", role="supervision",
                subject=f"【延期申请】{item.unit.name}申请「{item.title}」延期 {n} 个工作日",
                opening=f"{item.unit.name}{who}申请将「{item.title}」的办理时限延长 {n} 个工作日，请审批。",
                lead=f"{item.unit.name}{who}申请延期 {n} 个工作日：{why}",
                facts=[f"申请延期：{n} 个工作日", f"延期理由：{why}"], now=now)
        audit.append(s, project, actor=actor.user, action="extension_requested", work_item_id=item.id,
                     detail={"task": item.task_name, "title": item.title, "unit": item.unit.name,
                             "extension_request_id": row.id, "working_days": n, "reason": why,
                             "due_date": item.due_date.isoformat()},
                     algorithm=ctx.settings.audit_hash, at=now)
        return view(s, row, item)


def _pending(s: Session, work_item_id: int) -> ExtensionRequest | None:
    return s.scalars(select(ExtensionRequest).where(ExtensionRequest.work_item_id == work_item_id,
                                                    ExtensionRequest.state == "pending")).first()


def decide(ctx: Govflow, request_id: int, approve: bool, note: Any, actor: Actor,
           now: dt.datetime | None = None) -> dict[str, Any]:
    """Approve (runs 延期) or refuse a pending request. Two supervisors at once: the project lock
    lets one in; the other reads the decided request and gets 409."""
    require_supervisor(actor)
    now = now or utcnow()
    text = _text(note, "note", "审批意见", required=not approve)
    with ctx.db.session() as s:
        project_id = s.scalar(select(ExtensionRequest.project_id).where(ExtensionRequest.id == request_id))
        if project_id is None:
            raise NotFound("延期申请不存在")
        project = locks.project(s, project_id)
        row = s.get(ExtensionRequest, request_id, populate_existing=True)
        assert row is not None and project is not None
        if row.state != "pending":
            raise Conflict(f"该延期申请已处理（{STATE_LABELS[row.state]}）")
        item = s.get(WorkItem, row.work_item_id, populate_existing=True)
        assert item is not None
        if approve:
            reason = f"延期申请：{row.reason}" + (f"；审批意见：{text}" if text else "")
            row.new_due_date = clocks.extend_in(ctx, s, item.id, row.days, reason, actor, now, request_id=row.id)
            row.state = "approved"
        else:
            row.state = "refused"
            audit.append(s, project, actor=actor.user, action="extension_refused", work_item_id=item.id,
                         detail={"task": item.task_name, "title": item.title, "unit": item.unit.name,
                                 "extension_request_id": row.id, "working_days": row.days, "note": text,
                                 "due_date": item.due_date.isoformat() if item.due_date else None},
                         algorithm=ctx.settings.audit_hash, at=now)
        row.decided_by, row.decided_at, row.decision_note = actor.user, now, text or None
        who = people.name_of(s, actor.user)
        if approve:
            outcome = f"同意延期 {row.days} 个工作日，新的办理时限为 {task_messages.due_zh(row.new_due_date)}"
        else:
            outcome = f"不同意延期，办理时限仍为 {task_messages.due_zh(item.due_date)}"
        task_messages.queue(
            s, item=item, project=project, kind="extension_decided", level=row.id, unit_id=item.unit_id,
            unit_name=item.unit.name, role="assignee",
            subject=f"【延期申请{'已同意' if approve else '未同意'}】{project.name}「{item.title}」",
            opening=f"贵单位关于「{item.title}」延期 {row.days} 个工作日的申请，督办人员{who}{outcome}。",
            lead=f"延期申请{'已同意' if approve else '未同意'}" + (f"：{text}" if text else ""),
            facts=[f"审批意见：{text}"] if text else [], now=now)
        return view(s, row, item)


def view(s: Session, row: ExtensionRequest, item: WorkItem | None = None,
         names: dict[str, Any] | None = None) -> dict[str, Any]:
    names = names if names is not None else people.names(s, [row.requested_by, row.decided_by or ""])

    def name(user: str | None) -> str | None:
        return None if not user else str((names.get(user) or {}).get("name") or user)

    out = {"id": row.id, "work_item_id": row.work_item_id, "project_id": row.project_id, "unit": row.unit.name,
           "requested_by": row.requested_by, "requested_by_name": name(row.requested_by),
           "requested_at": row.requested_at.isoformat(), "days": row.days, "reason": row.reason,
           "state": row.state, "state_label": STATE_LABELS[row.state],
           "due_date": row.due_date.isoformat() if row.due_date else None,
           "decided_by": row.decided_by, "decided_by_name": name(row.decided_by),
           "decided_at": row.decided_at.isoformat() if row.decided_at else None,
           "decision_note": row.decision_note,
           "new_due_date": row.new_due_date.isoformat() if row.new_due_date else None}
    if item is not None:
        out.update(task_title=item.title, task_state=item.state, stage=item.stage,
                   current_due_date=item.due_date.isoformat() if item.due_date else None)
    return out


def requests_page(ctx: Govflow, actor: Actor, *, state: str | None = "pending", unit: str | None = None,
                  page: PageRequest = FIRST_PAGE) -> dict[str, Any]:
    """督办看板: requests, oldest pending first (newest first for the decided ones)."""
    require_overseer(actor)
    if state is not None and state not in STATES:
        raise ValidationFailed([FieldError("state", f"state：只能是 {'、'.join(STATES)} 之一")])
    with ctx.db.session() as s:
        q = select(ExtensionRequest, WorkItem, Project).join(
            WorkItem, WorkItem.id == ExtensionRequest.work_item_id).join(
            Project, Project.id == ExtensionRequest.project_id)
        if state is not None:
            q = q.where(ExtensionRequest.state == state)
        if unit:
            q = q.join(Unit, Unit.id == ExtensionRequest.unit_id).where(Unit.name == unit)
        order = ExtensionRequest.requested_at.asc() if state == "pending" else ExtensionRequest.requested_at.desc()
        total, rows = count_and_page(s, q.order_by(order, ExtensionRequest.id), page)
        names = people.names(s, [u for r, _, _ in rows for u in (r.requested_by, r.decided_by) if u])
        items = [{**view(s, r, item, names), "project": {"id": p.id, "code": p.code, "name": p.name}}
                 for r, item, p in rows]
        return envelope(items, total, page)


def for_task(ctx: Govflow, work_item_id: int, actor: Actor) -> dict[str, Any]:
    """The task page's 催办 and 延期 card: what happened and what this actor may do now."""
    with ctx.db.session() as s:
        item, _, project = load_task(s, work_item_id)
        require_task_readable(s, actor, item, project)
        rows = list(s.scalars(select(ExtensionRequest).where(ExtensionRequest.work_item_id == item.id)
                              .order_by(ExtensionRequest.id)))
        names = people.names(s, [u for r in rows for u in (r.requested_by, r.decided_by) if u])
        requests = [view(s, r, None, names) for r in rows]
        is_open = item.state == "open"
        pending = any(r.state == "pending" for r in rows)
        supervisor = bool(actor.roles & {"supervisor", "admin"})
        worker = bool(actor.roles & {"department", "leader", "reviewer"}) and actor.unit == item.unit.name
        reader = reads_everything(actor) or actor.unit in (item.unit.name, project.unit.name)
        return {
            "work_item_id": item.id, "due_date": item.due_date.isoformat() if item.due_date else None,
            "max_days": MAX_DAYS,
            "urges": urge.urges_of(s, item.id) if reader else [],
            "extension_requests": requests if reader else [],
            "may": {"urge": urge.may_urge(actor, item, project),
                    "request_extension": is_open and worker and item.due_date is not None and not pending,
                    "extend": is_open and supervisor and item.due_date is not None,
                    "decide": supervisor and pending},
        }


def dossier_entries(s: Session, project_id: int) -> dict[int, list[dict[str, str]]]:
    """The 第十六条 dossier's 延期与催办 rows per step: each 延期申请 with its decision and new due date,
    and each 催办, in Beijing time with people by name."""
    rows = list(s.scalars(select(ExtensionRequest).where(ExtensionRequest.project_id == project_id)
                          .order_by(ExtensionRequest.id)))
    urges = list(s.scalars(select(Urge).where(Urge.project_id == project_id).order_by(Urge.id)))
    names = people.names(s, [u for r in rows for u in (r.requested_by, r.decided_by) if u]
                         + [u.by_user for u in urges])

    def name(user: str | None) -> str:
        return "—" if not user else str((names.get(user) or {}).get("name") or user)

    out: dict[int, list[dict[str, str]]] = {}
    for r in rows:
        text = f"申请延期 {r.days} 个工作日（原期限 {r.due_date.isoformat() if r.due_date else '—'}）：{r.reason}"
        if r.state != "pending":
            text += f"；{name(r.decided_by)}于 {beijing(r.decided_at)}{STATE_LABELS[r.state]}"
            if r.new_due_date:
                text += f"，新期限 {r.new_due_date.isoformat()}"
            if r.decision_note:
                text += f"（{r.decision_note}）"
        else:
            text += "；待审批"
        out.setdefault(r.work_item_id, []).append({"label": "延期申请", "by": name(r.requested_by),
                                                   "at_local": beijing(r.requested_at), "text": text})
    for u in urges:
        out.setdefault(u.work_item_id, []).append({"label": "催办", "by": f"{u.by_unit or ''}{name(u.by_user)}",
                                                   "at_local": beijing(u.at), "text": u.note or "—"})
    return out
