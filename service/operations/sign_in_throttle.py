"""Failed sign-ins throttled per account and per client address, in the database so every server
process sees the same counts (SQLite has no Redis beside it).

A key ("account:NAME", "address:IP") counts failures in a fixed window opened by its first failure;
reaching the limit locks the key for `login_lock_minutes`, doubled on each further lockout (capped
at a day) and forgotten a day after the last lock ended. While a key is locked no password is
checked at all, so the right one is refused too and a locked attack costs no scrypt hash. A
successful sign-in clears the account's key but not the address's: otherwise one valid login
would let an address keep guessing other accounts."""
from __future__ import annotations

import datetime as dt
import logging
import math

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from service.domain.errors import GovflowError
from service.operations import security_events
from service.operations.context import Govflow
from service.storage.models import SignInThrottle

log = logging.getLogger("govflow.security")

MAX_LOCK = dt.timedelta(hours=24)
FORGET_AFTER = dt.timedelta(hours=24)


class TooManyAttempts(GovflowError):
    """Sign-in refused while an account or address is locked (HTTP 429 with Retry-After)."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        minutes = max(1, math.ceil(self.retry_after / 60))
        super().__init__(f"登录失败次数过多，请 {minutes} 分钟后再试")


def account_key(username: str) -> str:
    return "account:" + username[:150]


def address_key(address: str) -> str:
    return "address:" + address[:100]


def _keys(username: str | None, address: str | None) -> list[str]:
    return ([account_key(username)] if username else []) + ([address_key(address)] if address else [])


def check(ctx: Govflow, username: str | None, address: str | None, now: dt.datetime) -> None:
    """Raise TooManyAttempts if the account or the address is locked now."""
    keys = _keys(username, address)
    with ctx.db.session() as s:
        until = s.scalars(select(SignInThrottle.locked_until)
                          .where(SignInThrottle.key.in_(keys), SignInThrottle.locked_until > now)).all()
    if until:
        raise TooManyAttempts(math.ceil((max(until) - now).total_seconds()))


def record_failure(ctx: Govflow, username: str | None, address: str | None, now: dt.datetime) -> None:
    """Count a failed sign-in; raise TooManyAttempts when this failure locked a key."""
    settings = ctx.settings
    limits = {account_key(username): settings.login_max_failures} if username else {}
    if address:
        limits[address_key(address)] = settings.login_address_max_failures
    window = dt.timedelta(minutes=settings.login_window_minutes)
    base = dt.timedelta(minutes=settings.login_lock_minutes)
    locked: dt.datetime | None = None
    with ctx.db.session() as s:
        for key in sorted(limits):  # one order for every process: no deadlock between two keys
            row = _locked_row(s, key, now)
            if row.locked_until is not None and row.locked_until <= now - FORGET_AFTER:
                row.lockouts = 0
            if row.window_started_at <= now - window:
                row.failures, row.window_started_at = 0, now
            if row.locked_until is not None and row.locked_until > now:
                # Locked by a concurrent attempt after this one passed check(): refused the same way.
                locked = max(locked or row.locked_until, row.locked_until)
                continue
            row.failures += 1
            if row.failures < limits[key]:
                continue
            lock = min(base * (2 ** row.lockouts), MAX_LOCK)
            row.locked_until, row.lockouts = now + lock, row.lockouts + 1
            row.failures, row.window_started_at = 0, now
            locked = max(locked or row.locked_until, row.locked_until)
            security_events.record(s, "sign_in_locked", username=username, address=address, at=now,
                                   detail={"key": key.split(":", 1)[0], "failures": limits[key],
                                           "lockouts": row.lockouts, "locked_until": row.locked_until.isoformat()})
            log.warning("sign-in locked: %s until %s (lockout %d)", key, row.locked_until, row.lockouts)
    if locked is not None:
        raise TooManyAttempts(math.ceil((locked - now).total_seconds()))


def record_success(ctx: Govflow, username: str, now: dt.datetime) -> None:
    """A successful sign-in clears the account's count (and its lockout history)."""
    with ctx.db.session() as s:
        s.execute(delete(SignInThrottle).where(SignInThrottle.key == account_key(username)))
        # Keys whose window and lock are long over hold nothing: keep the table to the active ones.
        s.execute(delete(SignInThrottle).where(
            SignInThrottle.window_started_at <= now - FORGET_AFTER,
            (SignInThrottle.locked_until.is_(None)) | (SignInThrottle.locked_until <= now - FORGET_AFTER)))


def _locked_row(s: Session, key: str, now: dt.datetime) -> SignInThrottle:
    """The key's row, created if missing, locked for this transaction (FOR UPDATE on PostgreSQL;
    SQLite transactions begin IMMEDIATE and so are serial already)."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(insert(SignInThrottle).values(key=key, failures=0, window_started_at=now, locked_until=None,
                                            lockouts=0).on_conflict_do_nothing(index_elements=["key"]))
    row = s.scalars(select(SignInThrottle).where(SignInThrottle.key == key).with_for_update()).one()
    return row
