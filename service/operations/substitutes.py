"""代理 (out-of-office substitute, docs/approval-actions.md): a user names a colleague of the same unit
for a period of Beijing days; while it runs the substitute works the tasks claimed by or assigned
(转办/委派) to the absent user, and every such action records `on_behalf_of`.

One rule decides it — stands_in_for — and tasks._check_open asks it, so every path that works a
held task (complete, unclaim, drafts, 转办/委派/交回, 退回 …) agrees. Naming and cancelling are
audited on the unit's audit chain and told to the substitute (in-app to the unit, e-mail to the
substitute's address when there is one). Writers lock the unit row first: two overlapping periods
of one user named at once queue there, and the second sees the first and is refused (409)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from service.channels.config import ChannelSettings
from service.domain import approval_actions as rules
from service.domain.access import WORKER_ROLES, Actor
from service.domain.deadlines import local_date
from service.domain.errors import BadField, Conflict, FieldError, Forbidden, NotFound
from service.operations import audit, people
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import Delivery, Notification, Substitute, Unit, User, utcnow

# A longer absence is a change of post, for 转办 or 用户管理, not a substitute.
MAX_DAYS = 90
KIND = "substitute"


def today(now: dt.datetime | None = None) -> dt.date:
    return local_date(now or utcnow())


def _running(day: dt.date) -> Any:
    return (Substitute.cancelled_at.is_(None), Substitute.starts_on <= day, Substitute.ends_on >= day)


def absent_colleagues(session: Session, actor: Actor, day: dt.date | None = None) -> list[str]:
    """Whom `actor` stands in for on `day` (today): periods running, named by a user of the actor's
    own unit (a user who moved unit since is no longer covered)."""
    if actor.unit is None or not actor.roles & WORKER_ROLES:
        return []
    absent, me = aliased(User), aliased(User)
    rows = session.scalars(
        select(Substitute.username)
        .join(absent, absent.username == Substitute.username)
        .join(me, me.username == Substitute.substitute)
        .join(Unit, Unit.id == me.unit_id)
        .where(Substitute.substitute == actor.user, *_running(day or today()), absent.unit_id == me.unit_id,
               me.active.is_(True), Unit.name == actor.unit))
    return sorted(set(rows))


def stands_in_for(session: Session, actor: Actor, holder: str) -> bool:
    """The rule of 代理: `actor` may work what `holder` holds today."""
    return holder != actor.user and holder in absent_colleagues(session, actor)


# -- reading ----------------------------------------------------------------------------------------


def _view(row: Substitute, day: dt.date) -> dict[str, Any]:
    state = ("cancelled" if row.cancelled_at else "ended" if row.ends_on < day
             else "running" if row.starts_on <= day else "planned")
    return {"id": row.id, "username": row.username, "substitute": row.substitute,
            "starts_on": row.starts_on.isoformat(), "ends_on": row.ends_on.isoformat(), "state": state,
            "created_at": row.created_at.isoformat(),
            "cancelled_at": row.cancelled_at.isoformat() if row.cancelled_at else None}


def _named(s: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """姓名 beside both usernames of each row (one query)."""
    found = people.names(s, [r[k] for r in rows for k in ("username", "substitute")])
    for r in rows:
        for k in ("username", "substitute"):
            r[f"{k}_name"] = (found.get(r[k]) or {}).get("name") or r[k]
    return rows


def overview(ctx: Govflow, actor: Actor) -> dict[str, Any]:
    """My substitutes (newest first), whom I stand in for (not yet ended), and the colleagues I may name."""
    unit = rules.require_substitute_namer(actor)
    day = today()
    with ctx.db.session() as s:
        mine = s.scalars(select(Substitute).where(Substitute.username == actor.user)
                         .order_by(Substitute.starts_on.desc(), Substitute.id.desc()).limit(50))
        for_me = s.scalars(select(Substitute).where(Substitute.substitute == actor.user,
                                                    Substitute.cancelled_at.is_(None), Substitute.ends_on >= day)
                           .order_by(Substitute.starts_on, Substitute.id))
        colleagues = s.execute(select(User.username, User.display_name).join(Unit, Unit.id == User.unit_id)
                               .where(Unit.name == unit, User.active.is_(True), User.username != actor.user)
                               .order_by(User.display_name, User.username)).all()
        covering = absent_colleagues(s, actor, day)
        names = people.names(s, covering)
        return {"today": day.isoformat(), "max_days": MAX_DAYS,
                "mine": _named(s, [_view(r, day) for r in mine]), "for_me": _named(s, [_view(r, day) for r in for_me]),
                "candidates": [{"username": u, "display_name": d or u} for u, d in colleagues],
                "covering_today": [{"username": u, "name": (names.get(u) or {}).get("name") or u} for u in covering]}


# -- writes -----------------------------------------------------------------------------------------


def _date(data: Mapping[str, Any], key: str, label: str, errors: list[FieldError]) -> dt.date | None:
    raw = data.get(key)
    if not isinstance(raw, str) or not raw:
        errors.append(FieldError(key, f"{label}：必填（YYYY-MM-DD）"))
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors.append(FieldError(key, f"{label}：应为有效的日期（YYYY-MM-DD）"))
        return None


def _period(data: Mapping[str, Any], day: dt.date) -> tuple[str, dt.date, dt.date]:
    errors: list[FieldError] = []
    who = data.get("substitute")
    if not isinstance(who, str) or not who.strip():
        errors.append(FieldError("substitute", "代理人：必填"))
        who = ""
    starts, ends = _date(data, "starts_on", "开始日期", errors), _date(data, "ends_on", "结束日期", errors)
    if starts and starts < day:
        errors.append(FieldError("starts_on", f"开始日期：不能早于今天（{day.isoformat()}）"))
    if starts and ends and ends < starts:
        errors.append(FieldError("ends_on", "结束日期：不能早于开始日期"))
    elif starts and ends and (ends - starts).days + 1 > MAX_DAYS:
        errors.append(FieldError("ends_on", f"结束日期：代理期限最长 {MAX_DAYS} 天"))
    if errors:
        raise BadField(errors, errors[0].message)
    assert starts and ends
    return who.strip(), starts, ends


def _overlapping(s: Session, column: Any, username: str, starts: dt.date, ends: dt.date) -> Substitute | None:
    return s.scalars(select(Substitute).where(column == username, Substitute.cancelled_at.is_(None),
                                              Substitute.starts_on <= ends, Substitute.ends_on >= starts)
                     .order_by(Substitute.starts_on).limit(1)).first()


def _locked_unit(s: Session, actor: Actor) -> tuple[Unit, User]:
    me = s.scalar(select(User).where(User.username == actor.user))
    if me is None or me.unit_id is None or me.unit is None or me.unit.name != actor.unit:
        raise Forbidden("只有办理任务的人员可以设置代理人")
    unit = locks.unit(s, me.unit_id)
    assert unit is not None
    return unit, me


def _notify(ctx: Govflow, s: Session, unit: Unit, row: Substitute, names: Mapping[str, str], *,
            cancelled: bool, now: dt.datetime) -> None:
    """Tell the substitute: the unit's 消息 (messages are per unit) and their own e-mail, if set."""
    period = f"{row.starts_on.isoformat()} 至 {row.ends_on.isoformat()}"
    absent, sub = names.get(row.username, row.username), names.get(row.substitute, row.substitute)
    if cancelled:
        subject = f"【代理取消】{absent} 已取消由 {sub} 在 {period} 代理"
        text = f"{absent} 取消了代理：{sub} 不再代为办理其任务（原定 {period}）"
    else:
        subject = f"【代理】{absent} 指定 {sub} 在 {period} 代为办理其任务"
        text = f"{absent} 指定 {sub} 为代理人（{period}）：期间其认领或受托的任务由 {sub} 代为办理"
    body = "\n".join([f"{sub}：", "", text + "。", "", f"单位：{unit.name}",
                      f"请登录系统查看待办：{ChannelSettings().base_url.rstrip('/')}/inbox", "",
                      "东营市政务数字化项目管理系统",
                      "（本邮件由系统自动发送，请勿直接回复。）"]) + "\n"
    payload = {"kind": KIND, "title": "代理", "text": text, "username": row.username, "substitute": row.substitute,
               "starts_on": row.starts_on.isoformat(), "ends_on": row.ends_on.isoformat(), "cancelled": cancelled,
               "recipient_unit": unit.name, "link": "/inbox"}
    note = Notification(work_item_id=None, project_id=None, kind=KIND, level=row.id * 2 + int(cancelled),
                        unit_id=unit.id, recipient_role=KIND, subject=subject, body=body, payload=payload,
                        created_at=now)
    s.add(note)
    s.flush()
    email = s.scalar(select(User.email).where(User.username == row.substitute))
    if email:
        s.add(Delivery(notification_id=note.id, channel="email", target=email, status="pending", attempts=0,
                       next_attempt_at=utcnow()))


def name_substitute(ctx: Govflow, actor: Actor, data: Mapping[str, Any], *,
                    now: dt.datetime | None = None) -> dict[str, Any]:
    """Name a substitute {substitute, starts_on, ends_on}: a colleague of my unit, in post, not me,
    for at most MAX_DAYS days from today on; overlapping one of my periods (or one of theirs as an
    absent user) is refused with 409."""
    rules.require_substitute_namer(actor)
    now = now or utcnow()
    day = today(now)
    who, starts, ends = _period(data, day)
    why = rules.substitute_refusal(actor, who)
    if why:
        raise BadField([FieldError("substitute", why)], why)
    with ctx.db.session() as s:
        unit, _ = _locked_unit(s, actor)
        colleague = s.scalar(select(User).where(User.username == who))
        if colleague is None or colleague.unit_id != unit.id or not colleague.active \
                or not set(colleague.roles or []) & WORKER_ROLES:
            message = f"代理人：{unit.name}没有在岗的办件人员 {who}"
            raise BadField([FieldError("substitute", message)], message)
        names = {u: v["name"] or u for u, v in people.names(s, [actor.user, who]).items()}
        clash = _overlapping(s, Substitute.username, actor.user, starts, ends)
        if clash is not None:
            raise Conflict(f"与已设置的代理期间重叠（{clash.starts_on.isoformat()} 至 {clash.ends_on.isoformat()}，"
                           f"代理人 {people.name_of(s, clash.substitute)}），请先取消原设置", field="starts_on")
        away = _overlapping(s, Substitute.username, who, starts, ends)
        if away is not None:
            raise Conflict(f"{names.get(who, who)} 在 {away.starts_on.isoformat()} 至 {away.ends_on.isoformat()} "
                           f"本人也不在岗，不能担任该期间的代理人", field="substitute")
        row = Substitute(username=actor.user, substitute=who, starts_on=starts, ends_on=ends, created_at=now)
        s.add(row)
        s.flush()
        audit.append_unit(s, unit, actor=actor.user, action="substitute_named",
                          detail={"id": row.id, "username": actor.user, "substitute": who,
                                  "starts_on": starts.isoformat(), "ends_on": ends.isoformat()},
                          algorithm=ctx.settings.audit_hash, at=now)
        _notify(ctx, s, unit, row, names, cancelled=False, now=now)
        return _named(s, [_view(row, day)])[0]


def cancel(ctx: Govflow, actor: Actor, substitute_id: int, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Cancel one of my substitutes (from now on: what the substitute did stays done)."""
    rules.require_substitute_namer(actor)
    now = now or utcnow()
    day = today(now)
    with ctx.db.session() as s:
        unit, _ = _locked_unit(s, actor)
        row = s.scalars(select(Substitute).where(Substitute.id == substitute_id)
                        .execution_options(populate_existing=True)).first()
        if row is None or row.username != actor.user:
            raise NotFound("代理设置不存在")
        if row.cancelled_at is not None:
            raise Conflict("该代理设置已取消")
        if row.ends_on < day:
            raise Conflict("该代理期间已结束，无需取消")
        row.cancelled_at = now
        audit.append_unit(s, unit, actor=actor.user, action="substitute_cancelled",
                          detail={"id": row.id, "username": row.username, "substitute": row.substitute,
                                  "starts_on": row.starts_on.isoformat(), "ends_on": row.ends_on.isoformat()},
                          algorithm=ctx.settings.audit_hash, at=now)
        names = {u: v["name"] or u for u, v in people.names(s, [row.username, row.substitute]).items()}
        _notify(ctx, s, unit, row, names, cancelled=True, now=now)
        return _named(s, [_view(row, day)])[0]
