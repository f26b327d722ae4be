"""The notification outbox: in-app messages (list, mark read) and their external deliveries.

Exactly-once effects: a notification is unique on (task, kind, level), created in the tick's
transaction; each delivery (e-mail address, webhook) is a row that a worker claims with a lease
(pending → sending), sends, then marks sent. A worker killed before the send leaves a lease that
expires and the delivery is retried; failures retry with exponential backoff and end `failed`
with the error kept (failed_deliveries lists them)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, and_, exists, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from service.channels import smtp, webhook
from service.channels.config import ChannelSettings
from service.domain.access import Actor
from service.domain.errors import Forbidden, NotFound
from service.domain.visibility import reads_everything
from service.observability import correlation
from service.operations.context import Govflow
from service.storage.models import Contact, Delivery, Notification, Project, Unit, WorkItem, utcnow

KIND_TITLES = {"remind_before": "办理提醒", "remind_due": "到期提醒", "escalation": "逾期督办",
               "late_filing": "逾期备案", "urge": "催办", "extension_requested": "延期申请",
               "extension_decided": "延期申请结果", "cc": "抄送"}


def compose(cfg: ChannelSettings, *, item: WorkItem, project: Project, unit_name: str, kind: str, level: int,
            overdue_days: int, article: str | None = None) -> tuple[str, str, dict[str, Any]]:
    """(subject, e-mail text, payload). The payload carries the facts the in-app message and the
    webhook show (in_app_text); the e-mail is a letter to the unit with the same facts."""
    # item.due_date is already the Beijing calendar day (service.domain.deadlines).
    due = item.due_date.isoformat() if item.due_date else "—"
    due_zh = f"{item.due_date.year}年{item.due_date.month}月{item.due_date.day}日" if item.due_date else "无期限"
    link = f"{cfg.base_url.rstrip('/')}/tasks/{item.id}"
    task = f"「{item.title}」"
    if kind == "remind_before":
        subject = f"【办理提醒】{project.name}{task}将于 {due} 到期"
        opening = f"贵单位承办的{task}将于 {due_zh}到期，请在期限内办理。"
    elif kind == "remind_due":
        subject = f"【到期提醒】{project.name}{task}今日（{due}）到期"
        opening = f"贵单位承办的{task}今日（{due_zh}）到期，请于今日 24 时前办结。"
    elif kind == "escalation":
        subject = f"【逾期督办·{level}级】{project.name}{task}已逾期 {overdue_days} 个工作日"
        opening = (f"{unit_name}承办的{task}办理时限为 {due_zh}，已逾期 {overdue_days} 个工作日，"
                   f"现予{'一二三'[min(level, 3) - 1]}级督办，请督促尽快办结。")
    else:
        subject = f"【逾期备案】{unit_name}{task}未在规定时限内办理（{article or ''}）"
        opening = f"{unit_name}承办的{task}未在规定时限（{due_zh}）内办理，已记入逾期备案。"
    lines = [
        opening,
        "",
        f"项目：{project.name}（{project.code}）",
        f"事项：{item.title}（{item.stage}）",
        f"承办单位：{unit_name}",
        f"办理时限：{due}（北京时间当日 24 时前）" if item.due_date else "办理时限：无期限",
    ]
    if overdue_days > 0:  # a reminder is sent before the due day ends: nothing to say about lateness
        lines.append(f"已逾期：{overdue_days} 个工作日")
    if article:
        lines.append(f"依据：《东营市市级政务数字化项目管理办法》{article}")
    lines += ["", f"请登录系统办理：{link}", "",
              "东营市政务数字化项目管理系统", "（本邮件由系统自动发送，请勿直接回复。）"]
    payload = {"kind": kind, "title": KIND_TITLES[kind], "level": level, "project_id": project.id,
               "project_code": project.code, "project_name": project.name, "work_item_id": item.id,
               "task": item.task_name, "task_title": item.title, "unit": unit_name, "due_date": due,
               "overdue_working_days": overdue_days, "link": link, "article": article}
    return subject, "\n".join(lines) + "\n", payload


def in_app_text(payload: dict[str, Any]) -> str:
    """The in-app message: one line with the task, the project and the due day (the page links it)."""
    if isinstance(payload.get("text"), str):  # a message about no task (代理): written whole
        return str(payload["text"])
    due = payload.get("due_date") or "—"
    text = f"{payload.get('task_title', '')} · {payload.get('project_name', '')}（{payload.get('project_code', '')}）"
    text += f" · 期限 {due}" if due != "—" else " · 无期限"
    if payload.get("lead"):  # a person's message (催办, 延期申请): what they said comes first
        text = f"{payload['lead']} · {text}"
    if payload.get("overdue_working_days"):
        text += f" · 已逾期 {payload['overdue_working_days']} 个工作日"
    return text


def in_app_view(n: Notification) -> dict[str, Any]:
    """What the 消息 page shows: short, linked to the task, with its due day; the e-mail body stays
    for the record (`body`)."""
    payload = dict(n.payload or {})
    return {"id": n.id, "work_item_id": n.work_item_id, "project_id": n.project_id, "kind": n.kind,
            "level": n.level, "subject": n.subject, "body": n.body, "text": in_app_text(payload),
            "due_date": payload.get("due_date") if payload.get("due_date") != "—" else None,
            "task_title": payload.get("task_title"), "project_name": payload.get("project_name"),
            "project_code": payload.get("project_code"), "link": payload.get("link"),
            "created_at": n.created_at.isoformat(), "read_at": n.read_at.isoformat() if n.read_at else None,
            "read_by": n.read_by}


def row(cfg: ChannelSettings, *, item: WorkItem, project: Project, kind: str, level: int, unit_id: int,
        unit_name: str, role: str, overdue_days: int, now: dt.datetime, article: str | None = None) -> dict[str, Any]:
    """One outbox row (inserted in bulk by the tick)."""
    subject, body, payload = compose(cfg, item=item, project=project, unit_name=item.unit.name, kind=kind,
                                     level=level, overdue_days=overdue_days, article=article)
    payload["recipient_unit"] = unit_name
    return {"work_item_id": item.id, "project_id": project.id, "kind": kind, "level": level, "unit_id": unit_id,
            "recipient_role": role, "subject": subject, "body": body, "payload": payload, "created_at": now}


def insert_batch(session: Session, cfg: ChannelSettings, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows and their deliveries in three statements: the notifications, one e-mail
    delivery per contact of the recipient (unit, role), one webhook delivery each when configured.
    Deliveries are due at once (real time). Returns the number of deliveries."""
    if not rows:
        return 0
    origin = correlation.current()
    if origin:
        # The request (or tick) that queued the message: the worker sending it logs the same id.
        rows = [{**r, "payload": {**r["payload"], "request_id": origin}} for r in rows]
    session.execute(insert(Notification.__table__), rows)
    ids = sorted({r["work_item_id"] for r in rows})
    created_at = rows[0]["created_at"]
    real_now = utcnow()
    fresh = and_(Notification.work_item_id.in_(ids), Notification.created_at == created_at)
    cols = ["notification_id", "channel", "target", "status", "attempts", "next_attempt_at"]
    email = (select(Notification.id, literal("email"), Contact.email, literal("pending"), literal(0),
                    literal(real_now, type_=DateTime))
             .join(Contact, and_(Contact.unit_id == Notification.unit_id, Contact.role == Notification.recipient_role))
             .where(fresh, ~exists().where(Delivery.notification_id == Notification.id,
                                           Delivery.channel == "email", Delivery.target == Contact.email)))
    count = len(session.execute(insert(Delivery.__table__).from_select(cols, email).returning(Delivery.id)).all())
    if cfg.webhook_url:
        hook = (select(Notification.id, literal("webhook"), literal(cfg.webhook_url), literal("pending"), literal(0),
                       literal(real_now, type_=DateTime))
                .where(fresh, ~exists().where(Delivery.notification_id == Notification.id,
                                              Delivery.channel == "webhook")))
        count += len(session.execute(insert(Delivery.__table__).from_select(cols, hook).returning(Delivery.id)).all())
    return count


# -- in-app ------------------------------------------------------------------------------------------


def _may_read_unit(actor: Actor, unit: str) -> None:
    if actor.unit != unit and not reads_everything(actor):
        raise Forbidden("无权查看其他单位的消息")


def inbox(ctx: Govflow, actor: Actor, *, unit: str | None = None, unread_only: bool = False,
          kind: str | None = None, limit: int = 200) -> list[Notification]:
    unit = unit or actor.unit
    if unit is None:
        raise Forbidden("请指定单位")
    _may_read_unit(actor, unit)
    with ctx.db.session() as s:
        q = (select(Notification).join(Unit, Unit.id == Notification.unit_id).where(Unit.name == unit)
             .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
        if unread_only:
            q = q.where(Notification.read_at.is_(None))
        if kind:
            q = q.where(Notification.kind == kind)
        return list(s.scalars(q))


def mark_read(ctx: Govflow, notification_id: int, actor: Actor, now: dt.datetime | None = None) -> None:
    with ctx.db.session() as s:
        n = s.get(Notification, notification_id)
        if n is None:
            raise NotFound("消息不存在")
        unit = s.get(Unit, n.unit_id)
        assert unit is not None
        _may_read_unit(actor, unit.name)
        # "Read" records that the addressed unit saw it (read_by is evidence in 督办): whoever
        # only oversees (督办, 审计, admin) reads every unit's messages but marks only its own unit's.
        if actor.unit != unit.name and "system" not in actor.roles:
            raise Forbidden("只能将本单位的消息标记为已读")
        if n.read_at is None:
            n.read_at, n.read_by = now or utcnow(), actor.user


def escalations(ctx: Govflow, *, unit: str | None = None, stage: str | None = None, min_level: int = 1,
                limit: int = 500) -> list[Notification]:
    """What a supervisor sees: escalations, newest first, by task unit and stage."""
    with ctx.db.session() as s:
        q = (select(Notification).join(WorkItem, WorkItem.id == Notification.work_item_id)
             .where(Notification.kind == "escalation", Notification.level >= min_level)
             .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
        if unit:
            q = q.join(Unit, Unit.id == WorkItem.unit_id).where(Unit.name == unit)
        if stage:
            q = q.where(WorkItem.stage == stage)
        return list(s.scalars(q))


# -- delivery ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    target: str
    attempts: int
    subject: str
    body: str
    payload: dict[str, Any]


def due_deliveries(ctx: Govflow, cfg: ChannelSettings, limit: int = 1000) -> list[int]:
    """Pending deliveries (and ones whose sender died) to hand to workers. Each gets a dispatch lease
    so the next tick does not hand it out again while its task waits in the queue."""
    now = utcnow()
    with ctx.db.session() as s:
        q = (select(Delivery.id).where(Delivery.status.in_(("pending", "sending")), Delivery.next_attempt_at <= now,
                                       or_(Delivery.lease_until.is_(None), Delivery.lease_until < now))
             .order_by(Delivery.next_attempt_at).limit(limit))
        if s.bind is not None and s.bind.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        ids = list(s.scalars(q))
        if ids:
            # A `sending` row whose lease ran out lost its sender (killed worker): pending again.
            s.execute(update(Delivery).where(Delivery.id.in_(ids))
                      .values(status="pending", lease_until=now + dt.timedelta(seconds=cfg.lease_seconds))
                      .execution_options(synchronize_session=False))
        return ids


def claim(ctx: Govflow, cfg: ChannelSettings, delivery_id: int) -> Claimed | None:
    now = utcnow()
    with ctx.db.session() as s:
        res = s.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id,
                   or_(and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
                       and_(Delivery.status == "sending", Delivery.lease_until < now)))
            .values(status="sending", attempts=Delivery.attempts + 1,
                    lease_until=now + dt.timedelta(seconds=cfg.lease_seconds))
            .execution_options(synchronize_session=False))
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return None
        d, n = s.execute(select(Delivery, Notification).join(Notification, Notification.id == Delivery.notification_id)
                         .where(Delivery.id == delivery_id)).one()
        return Claimed(d.id, d.channel, d.target, d.attempts, n.subject, n.body, dict(n.payload))


def deliver(ctx: Govflow, delivery_id: int, cfg: ChannelSettings | None = None) -> str:
    """Send one delivery if it is still due; idempotent. Returns the resulting status (or 'skipped')."""
    cfg = cfg or ChannelSettings()
    c = claim(ctx, cfg, delivery_id)
    if c is None:
        return "skipped"
    key = f"govflow-delivery-{c.id}"
    error: str | None = None
    try:
        if c.channel == "email":
            smtp.send(cfg, to=c.target, subject=c.subject, body=c.body, message_id=f"<{key}@govflow>")
        elif c.channel == "webhook":
            webhook.send(cfg, url=c.target, payload={**c.payload, "subject": c.subject, "body": c.body},
                         delivery_key=key)
        else:
            error = f"未知渠道 {c.channel}"
    except Exception as exc:  # noqa: BLE001 - any channel failure is recorded, never raised to the queue
        error = f"{type(exc).__name__}: {exc}"[:2000]
    now = utcnow()
    with ctx.db.session() as s:
        d = s.get(Delivery, c.id)
        assert d is not None
        if error is None:
            d.status, d.sent_at, d.lease_until, d.last_error = "sent", now, None, None
        elif d.attempts >= cfg.max_attempts:
            d.status, d.last_error, d.lease_until = "failed", error, None
        else:
            d.status, d.last_error, d.lease_until = "pending", error, None
            d.next_attempt_at = now + dt.timedelta(seconds=cfg.backoff_seconds * 2 ** (d.attempts - 1))
        return d.status


def failed_deliveries(ctx: Govflow, limit: int = 500) -> list[Delivery]:
    with ctx.db.session() as s:
        return list(s.scalars(select(Delivery).where(Delivery.status == "failed")
                              .order_by(Delivery.id.desc()).limit(limit)))


def retry_failed(ctx: Govflow, delivery_id: int) -> None:
    """An operator re-queues a failed delivery after fixing the channel."""
    with ctx.db.session() as s:
        d = s.get(Delivery, delivery_id)
        if d is None:
            raise NotFound("投递记录不存在")
        d.status, d.attempts, d.next_attempt_at, d.lease_until = "pending", 0, utcnow(), None
