"""Server-side browser sessions: the cookie carries an opaque random id, the web_sessions row the
user, the CSRF token and the times. Resolving a request is one indexed lookup joined with the user
(which the request needed anyway), so ending a session takes effect on every process at once."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from service.operations.context import Govflow
from service.operations.identity import UserView, user_view
from service.storage.models import ApiToken, User, WebSession, utcnow

# last_seen_at is written at most this often per session: idleness is judged to the minute, and a
# page load does not turn into a database write (on SQLite, a lock taken) on every request.
TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class SessionView:
    id: str  # the stored hash, never the cookie value
    user: UserView
    csrf: str


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def open_session(ctx: Govflow, user_id: int, *, now: dt.datetime | None = None) -> tuple[str, SessionView]:
    """A new session for a sign-in: (the cookie value, the session). A fresh id every time, so an
    id planted before sign-in (session fixation) never becomes a signed-in one."""
    now = now or utcnow()
    sid = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    lifetime = dt.timedelta(hours=ctx.settings.session_max_hours)
    with ctx.db.session() as s:
        _sweep(s, ctx, now)
        s.add(WebSession(id=_hash(sid), user_id=user_id, csrf=csrf, created_at=now, last_seen_at=now,
                         expires_at=now + lifetime))
        user = s.get(User, user_id)
        assert user is not None
        return sid, SessionView(_hash(sid), user_view(user), csrf)


def resolve(ctx: Govflow, sid: str, *, now: dt.datetime | None = None) -> SessionView | None:
    """The live session for a cookie value, or None (unknown, ended, idle too long, past its end,
    user deactivated). One query; a write only when last_seen_at is more than TOUCH_EVERY old."""
    now = now or utcnow()
    idle = dt.timedelta(minutes=ctx.settings.session_idle_minutes)
    key = _hash(sid)
    with ctx.db.session() as s:
        row = s.execute(select(WebSession, User).join(User, User.id == WebSession.user_id)
                        .where(WebSession.id == key)).first()
        if row is None:
            return None
        record, user = row
        if record.expires_at <= now or record.last_seen_at <= now - idle or not user.active:
            return None
        if now - record.last_seen_at >= TOUCH_EVERY:
            s.execute(update(WebSession).where(WebSession.id == key).values(last_seen_at=now))
        return SessionView(key, user_view(user), record.csrf)


def close_session(ctx: Govflow, session_id: str, *, with_token: bool = True) -> None:
    """Sign-out: the session row and (unless told otherwise) the bearer token issued with the same
    sign-in."""
    with ctx.db.session() as s:
        s.execute(delete(WebSession).where(WebSession.id == session_id))
        if with_token:
            s.execute(delete(ApiToken).where(ApiToken.session_id == session_id))


def end_all(ctx: Govflow, user_id: int) -> int:
    """Every session and bearer token of a user (password changed or reset); how many ended."""
    with ctx.db.session() as s:
        sessions = s.execute(delete(WebSession).where(WebSession.user_id == user_id)).rowcount
        tokens = s.execute(delete(ApiToken).where(ApiToken.user_id == user_id)).rowcount
        return int(sessions or 0) + int(tokens or 0)


def _sweep(s: Session, ctx: Govflow, now: dt.datetime) -> None:
    # Sessions past their end or idle are dead already; removing them at sign-in keeps the table
    # at about the number of live sessions without a separate job.
    idle = dt.timedelta(minutes=ctx.settings.session_idle_minutes)
    s.execute(delete(WebSession).where(or_(WebSession.expires_at <= now, WebSession.last_seen_at <= now - idle)))
