"""加签: the holder of a task adds signers from other units or people, outside the BPMN.

前加签 (`before`): the signers sign first; the host task cannot be submitted until all have.
后加签 (`after`): the holder submits, the validated submission is held (countersign_holds) and the
engine step runs with it in the transaction of the last signature; a 不同意 hands the submission
back to the holder as a draft. The BPMN stays the whole flow: a countersign is no engine task, it
only gates when the host's engine task completes (docs/approval-actions.md).

Every write locks the host's project first (service.storage.locks), so two signers signing the
last two 后加签 at once queue on the project row and the host completes exactly once."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from service.channels.config import ChannelSettings
from service.domain import approval_actions as rules
from service.domain.access import WORKER_ROLES, Actor
from service.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from service.operations import audit, drafts, notifications, tasks
from service.operations.context import Govflow
from service.operations.countersign_reads import KINDS, hold_of, is_signer, labels_of, open_signers, views
from service.storage import locks
from service.storage.models import (
    Countersign,
    CountersignHold,
    ProcessInstance,
    Project,
    TaskDraft,
    Unit,
    User,
    WorkItem,
    utcnow,
)

DECISIONS = ("同意", "不同意")
# Open signers per host task: 加签 asks a few bodies for an opinion, it is no mass circulation.
MAX_OPEN = 10
NOTE_MAX = 500
OPINION_MAX = 2000
NOTIFICATION_KIND = "countersign"


# -- writing -------------------------------------------------------------------------------------------

def _text(value: Any, field: str, title: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed([FieldError(field, f"{title}：应为文本")])
    value = value.strip()
    if len(value) > limit:
        raise ValidationFailed([FieldError(field, f"{title}：不能超过 {limit} 个字")])
    return value


def _resolve(session: Session, item: WorkItem, actor: Actor, entry: Any, i: int) -> tuple[int, str | None]:
    """(unit id, username or None) of one requested signer, refused with the field path."""
    path = f"signers/{i}"
    if not isinstance(entry, Mapping) or len({"unit", "user"} & set(entry)) != 1:
        raise ValidationFailed([FieldError(path, "加签人：每一项须且只能指定 unit（单位）或 user（人员）之一")])
    if "user" in entry:
        username = entry["user"]
        if not isinstance(username, str) or not username.strip():
            raise ValidationFailed([FieldError(f"{path}/user", "加签人：人员不能为空")])
        why = rules.countersign_signer_refusal(actor, item.unit.name, user=username)
        if why:
            raise ValidationFailed([FieldError(f"{path}/user", why)])
        user = session.scalars(select(User).where(User.username == username, User.active.is_(True))).first()
        if user is None or user.unit_id is None or not set(user.roles or []) & WORKER_ROLES:
            raise ValidationFailed([FieldError(f"{path}/user", f"加签人：没有可办理任务的在岗用户 {username}")])
        return user.unit_id, user.username
    name = entry["unit"]
    unit_id = session.scalar(select(Unit.id).where(Unit.name == name)) if isinstance(name, str) else None
    if unit_id is None:
        raise ValidationFailed([FieldError(f"{path}/unit", f"加签单位：没有名为 {name} 的单位")])
    why = rules.countersign_signer_refusal(actor, item.unit.name, unit=name)  # unit names are unique
    if why:
        raise ValidationFailed([FieldError(f"{path}/unit", why)])
    return unit_id, None


def _notify(session: Session, cs: Countersign, label: str, item: WorkItem, project: Project,
            now: dt.datetime) -> None:
    """In-app message to the signer's unit and e-mail to its 办件 mailbox, in the writer's transaction."""
    cfg = ChannelSettings()
    link = f"{cfg.base_url.rstrip('/')}/countersigns/{cs.id}"
    due = item.due_date.isoformat() if item.due_date else "—"
    kind = KINDS[cs.kind]
    subject = f"【{kind}】{project.name}「{item.title}」请{label}签署意见"
    body = "\n".join([f"{item.unit.name}承办的「{item.title}」请{label}{kind}，签署意见（同意/不同意）。",
                      "", f"项目：{project.name}（{project.code}）", f"事项：{item.title}（{item.stage}）",
                      f"说明：{cs.note or '无'}", f"主办任务期限：{due}", "", f"请登录系统签署：{link}", "",
                      "东营市政务数字化项目管理系统", "（本邮件由系统自动发送，请勿直接回复。）"]) + "\n"
    payload = {"kind": NOTIFICATION_KIND, "title": kind, "level": cs.id, "project_id": project.id,
               "project_code": project.code, "project_name": project.name, "work_item_id": item.id,
               "task": item.task_name, "task_title": f"{kind}：{item.title}", "unit": item.unit.name,
               "due_date": due, "overdue_working_days": 0, "link": link, "article": None,
               "recipient_unit": cs.unit.name, "countersign_id": cs.id}
    notifications.insert_batch(session, cfg, [{
        "work_item_id": item.id, "project_id": project.id, "kind": NOTIFICATION_KIND, "level": cs.id,
        "unit_id": cs.unit_id, "recipient_role": "assignee", "subject": subject, "body": body,
        "payload": payload, "created_at": now}])


def _require_holder(item: WorkItem, actor: Actor) -> None:
    tasks._check_open(item, actor)
    rules.require_countersign_holder(actor, assignee=item.assignee, delegated_by=item.delegated_by)


def add(ctx: Govflow, work_item_id: int, actor: Actor, kind: Any, signers: Any,
        note: Any = None) -> list[dict[str, Any]]:
    """The holder adds signers; 前加签 signers are told at once, 后加签 ones when the holder submits."""
    if kind not in KINDS:
        raise ValidationFailed([FieldError("kind", "加签方式：只能是 before（前加签）或 after（后加签）")])
    if not isinstance(signers, list) or not signers:
        raise ValidationFailed([FieldError("signers", "加签人：至少指定一个单位或人员")])
    if len(signers) > MAX_OPEN:
        raise ValidationFailed([FieldError("signers", f"加签人：一次最多 {MAX_OPEN} 个")])
    note = _text(note, "note", "加签说明", NOTE_MAX)
    try:
        with ctx.db.session() as s:
            item, _, project = tasks.load_for_write(s, work_item_id)
            _require_holder(item, actor)
            if hold_of(s, item.id) is not None:
                raise Conflict("该任务已提交、正在等待后加签，不能再加签")
            current = open_signers(s, item.id)
            if len(current) + len(signers) > MAX_OPEN:
                raise ValidationFailed([FieldError("signers", f"加签人：同一任务未签署的加签最多 {MAX_OPEN} 个，"
                                                              f"已有 {len(current)} 个")])
            taken = {(c.unit_id, c.username) for c in current}
            now = utcnow()
            rows = []
            for i, entry in enumerate(signers):
                key = _resolve(s, item, actor, entry, i)
                if key in taken:
                    raise ValidationFailed([FieldError(f"signers/{i}", "加签人：已在加签名单中，尚未签署")])
                taken.add(key)
                rows.append(Countersign(work_item_id=item.id, project_id=project.id, kind=kind, unit_id=key[0],
                                        username=key[1], requested_by=actor.user, note=note, state="open",
                                        created_at=now))
            s.add_all(rows)
            s.flush()
            labels = labels_of(s, rows)
            audit.append(s, project, actor=actor.user, action="countersign_added", work_item_id=item.id,
                         detail={"task": item.task_name, "title": item.title, "kind": kind,
                                 "signers": [labels[c.id] for c in rows], "countersign_ids": [c.id for c in rows],
                                 "note": note}, algorithm=ctx.settings.audit_hash, at=now)
            if kind == "before":
                for c in rows:
                    _notify(s, c, labels[c.id], item, project, now)
            return views(s, rows)
    except StaleDataError as exc:
        raise Conflict(tasks._CONCURRENT) from exc


def _waiting_text(session: Session, rows: list[Countersign]) -> str:
    labels = labels_of(session, rows)
    return "、".join(labels[c.id] for c in rows)


def require_no_open_before(session: Session, item: WorkItem,
                           waiting: list[Countersign] | None = None) -> None:
    """tasks.complete refuses while 前加签 signers have not signed (409 naming them)."""
    rows = open_signers(session, item.id) if waiting is None else waiting
    before = [c for c in rows if c.kind == "before"]
    if before:
        raise Conflict(f"尚有 {len(before)} 个加签未完成：{_waiting_text(session, before)}；"
                       "前加签须全部签署后才能提交")


def hold_submission(ctx: Govflow, session: Session, project: Project, item: WorkItem,
                    form_data: Mapping[str, Any], actor: Actor,
                    waiting: list[Countersign] | None = None) -> bool:
    """Called by tasks.complete after the form passed validation, in its transaction: holds the
    submission (True: no engine step now) while 后加签 signers are open."""
    rows = open_signers(session, item.id) if waiting is None else waiting
    if not rows:
        return False
    require_no_open_before(session, item, rows)
    if hold_of(session, item.id) is not None:
        raise Conflict("该任务已提交，正在等待后加签")
    after = [c for c in rows if c.kind == "after"]
    if not after:
        return False
    now = utcnow()
    session.add(CountersignHold(work_item_id=item.id, data=dict(form_data), held_by=actor.user, held_at=now))
    drafts.discard_with_task(session, item)
    digest = hashlib.sha256(json.dumps(dict(form_data), ensure_ascii=False, sort_keys=True,
                                       separators=(",", ":")).encode()).hexdigest()
    labels = labels_of(session, after)
    audit.append(session, project, actor=actor.user, action="countersign_held", work_item_id=item.id,
                 detail={"task": item.task_name, "title": item.title, "waiting": [labels[c.id] for c in after],
                         "data_sha256": digest}, algorithm=ctx.settings.audit_hash, at=now)
    for c in after:
        _notify(session, c, labels[c.id], item, project, now)
    return True


def _load_for_write(session: Session, countersign_id: int) -> tuple[Countersign, WorkItem, ProcessInstance, Project]:
    # The project id never changes: read it, lock the project, then read everything afresh.
    project_id = session.scalar(select(Countersign.project_id).where(Countersign.id == countersign_id))
    if project_id is None:
        raise NotFound("加签不存在")
    if not locks.serialised_by_database(session):
        locks.project(session, project_id)
    cs = session.get(Countersign, countersign_id, populate_existing=True)
    assert cs is not None
    item, instance, project = tasks.load_for_write(session, cs.work_item_id)
    return cs, item, instance, project


def _release(ctx: Govflow, session: Session, project: Project, instance: ProcessInstance, item: WorkItem,
             hold: CountersignHold, now: dt.datetime) -> Any:
    """The last 后加签 is in: the engine step runs now with the holder's held submission, as theirs."""
    runtime = ctx.runtime(session, instance.version_id)
    wf = ctx.workflows.take(instance.id, instance.revision) or runtime.load(instance.state)
    data = dict(hold.data)
    session.delete(hold)
    holder = Actor(hold.held_by, item.unit.name, frozenset())
    tasks.complete_loaded(ctx, session, project, instance, runtime, wf, item, data, holder, now=now)
    return wf


def _return_hold(session: Session, item: WorkItem, hold: CountersignHold, now: dt.datetime) -> None:
    """后加签 不同意: the submission goes back to the holder as their draft, nothing typed is lost."""
    session.execute(delete(TaskDraft).where(TaskDraft.work_item_id == item.id, TaskDraft.username == hold.held_by)
                    .execution_options(synchronize_session=False))
    session.add(TaskDraft(work_item_id=item.id, username=hold.held_by, data=dict(hold.data), updated_at=now))
    session.delete(hold)


def _finish(ctx: Govflow, write: Any) -> dict[str, Any]:
    """Run one write transaction that may complete the host; put the workflow back once committed."""
    try:
        with ctx.db.session() as s:
            out, instance, wf = write(s)
    except (StaleDataError, IntegrityError) as exc:
        raise Conflict(tasks._CONCURRENT) from exc
    if wf is not None:
        ctx.workflows.put(instance.id, instance.revision, wf)
    return out  # type: ignore[no-any-return]


def sign(ctx: Govflow, countersign_id: int, actor: Actor, decision: Any, opinion: Any = None) -> dict[str, Any]:
    if decision not in DECISIONS:
        raise ValidationFailed([FieldError("decision", "签署意见：decision 只能是 同意 或 不同意")])
    opinion = _text(opinion, "opinion", "签署意见", OPINION_MAX)
    if decision == "不同意" and not opinion:
        raise ValidationFailed([FieldError("opinion", "签署意见：不同意时须写明理由")])

    def write(s: Session) -> tuple[dict[str, Any], ProcessInstance, Any]:
        cs, item, instance, project = _load_for_write(s, countersign_id)
        if not is_signer(actor, cs):
            raise NotFound("加签不存在")
        if cs.state != "open":
            raise Conflict("该加签已签署" if cs.state == "signed" else "该加签已被撤销")
        if item.state != "open":
            raise Conflict("主办任务已办结或已被撤回，无需再签")
        hold = hold_of(s, item.id)
        if cs.kind == "after" and hold is None:
            raise Conflict("主办人尚未提交，后加签须在其提交后签署")
        now = utcnow()
        cs.state, cs.decision, cs.opinion = "signed", decision, opinion or decision
        cs.signed_by, cs.signed_at = actor.user, now
        s.flush()
        label = labels_of(s, [cs])[cs.id]
        returned = cs.kind == "after" and decision == "不同意"
        audit.append(s, project, actor=actor.user, action="countersign_signed", work_item_id=item.id,
                     detail={"task": item.task_name, "title": item.title, "kind": cs.kind, "countersign_id": cs.id,
                             "signer": label, "unit": cs.unit.name, "decision": decision, "opinion": cs.opinion,
                             "returned": returned}, algorithm=ctx.settings.audit_hash, at=now)
        wf = None
        if returned and hold is not None:
            _return_hold(s, item, hold, now)
        elif hold is not None and not open_signers(s, item.id, "after"):
            wf = _release(ctx, s, project, instance, item, hold, now)
        (out,) = views(s, [cs])
        out["host_completed"] = item.state == "completed"
        out["returned"] = returned
        return out, instance, wf

    return _finish(ctx, write)


def cancel(ctx: Govflow, countersign_id: int, actor: Actor) -> dict[str, Any]:
    """The holder withdraws an unsigned signer; withdrawing the last open 后加签 of a held
    submission lets the engine step run."""
    def write(s: Session) -> tuple[dict[str, Any], ProcessInstance, Any]:
        cs, item, instance, project = _load_for_write(s, countersign_id)
        _require_holder(item, actor)
        if cs.state != "open":
            raise Conflict("该加签已签署，不能撤销" if cs.state == "signed" else "该加签已被撤销")
        now = utcnow()
        cs.state, cs.cancelled_by, cs.cancelled_at = "cancelled", actor.user, now
        s.flush()
        audit.append(s, project, actor=actor.user, action="countersign_cancelled", work_item_id=item.id,
                     detail={"task": item.task_name, "title": item.title, "kind": cs.kind, "countersign_id": cs.id,
                             "signer": labels_of(s, [cs])[cs.id]}, algorithm=ctx.settings.audit_hash, at=now)
        hold = hold_of(s, item.id)
        wf = None
        if hold is not None and not open_signers(s, item.id, "after"):
            wf = _release(ctx, s, project, instance, item, hold, now)
        (out,) = views(s, [cs])
        out["host_completed"] = item.state == "completed"
        return out, instance, wf

    return _finish(ctx, write)


def candidates(ctx: Govflow, work_item_id: int, actor: Actor) -> dict[str, Any]:
    """Whom the holder may add: every unit but the task's own, every active worker but the holder."""
    with ctx.db.session() as s:
        item = s.get(WorkItem, work_item_id)
        if item is None:
            raise NotFound("任务不存在")
        _require_holder(item, actor)
        units = [u for u in s.scalars(select(Unit.name).where(Unit.id != item.unit_id).order_by(Unit.id))]
        users = [{"username": u.username, "display_name": u.display_name or u.username,
                  "unit": u.unit.name if u.unit else None}
                 for u in s.scalars(select(User).where(User.active.is_(True), User.unit_id.is_not(None),
                                                       User.username != actor.user)
                                    .order_by(User.unit_id, User.display_name))
                 if set(u.roles or []) & WORKER_ROLES]
        return {"units": units, "people": users}
