"""Sign-in throttle: per account and per client address, stored in the database (both backends),
with a test clock instead of waiting out the lockouts."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from service.http.client_address import client_address, parse_trusted
from service.operations import identity
from service.storage.models import SecurityEvent, utcnow

RIGHT = identity.DEMO_PASSWORD


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += dt.timedelta(**kw)


@pytest.fixture
def clock(app) -> Clock:  # type: ignore[no-untyped-def]
    c = Clock()
    app.config["GOVFLOW_CLOCK"] = c
    return c


def _login(client, username: str, password: str, address: str = "198.51.100.1", **headers: str):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


def test_sixty_wrong_passwords_lock_the_account_and_the_right_one_waits(app, ctx, clock):
    c = app.test_client()
    statuses = [_login(c, "edu", f"guess-{i}").status_code for i in range(60)]
    # Four plain refusals, then the fifth failure locks: 429 from there on, without checking a hash.
    assert statuses == [401] * 4 + [429] * 56
    locked = _login(c, "edu", RIGHT)
    assert locked.status_code == 429
    assert locked.json["error"] == {"code": "too_many_attempts", "message": "登录失败次数过多，请 15 分钟后再试"}
    assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
    clock.advance(minutes=10)
    late = _login(c, "edu", RIGHT)
    assert late.status_code == 429 and late.json["error"]["message"] == "登录失败次数过多，请 5 分钟后再试"
    assert int(late.headers["Retry-After"]) <= 5 * 60
    # Other accounts are not affected by the account's lock.
    assert _login(c, "finance", RIGHT).status_code == 200
    clock.advance(minutes=5, seconds=1)
    # The lock is over: five more failures lock it again, for twice as long.
    assert [_login(c, "edu", "again").status_code for _ in range(5)] == [401] * 4 + [429]
    second = _login(c, "edu", RIGHT)
    assert second.status_code == 429 and 29 * 60 < int(second.headers["Retry-After"]) <= 30 * 60
    clock.advance(minutes=31)
    assert _login(c, "edu", RIGHT).status_code == 200
    # Success cleared the account's count: four failures are plain 401s again.
    assert [_login(c, "edu", "x").status_code for _ in range(4)] == [401] * 4
    with ctx.db.session() as s:
        events = s.scalars(select(SecurityEvent).where(SecurityEvent.kind == "sign_in_locked")
                           .order_by(SecurityEvent.id)).all()
        assert [(e.username, e.address, e.detail["key"], e.detail["lockouts"]) for e in events] == [
            ("edu", "198.51.100.1", "account", 1), ("edu", "198.51.100.1", "account", 2)]


def test_failures_outside_the_window_do_not_add_up(app, clock):
    c = app.test_client()
    for _ in range(3):
        for _ in range(4):
            assert _login(c, "edu", "wrong").status_code == 401
        clock.advance(minutes=16)
    assert _login(c, "edu", RIGHT).status_code == 200


def test_one_address_guessing_many_accounts_is_locked(app, ctx, clock):
    c = app.test_client()
    limit = ctx.settings.login_address_max_failures
    names = [f"user{i}" for i in range(limit)]  # one failure each: no account reaches its limit
    statuses = [_login(c, name, "wrong", "203.0.113.7").status_code for name in names]
    assert statuses == [401] * (limit - 1) + [429]
    # Everyone from that address waits, even with the right password; a success elsewhere does not
    # reset the address.
    assert _login(c, "health", RIGHT, "203.0.113.7").status_code == 429
    assert _login(c, "health", RIGHT, "203.0.113.8").status_code == 200
    assert _login(c, "nature", RIGHT, "203.0.113.7").status_code == 429
    clock.advance(minutes=15, seconds=1)
    assert _login(c, "nature", RIGHT, "203.0.113.7").status_code == 200


def test_forwarded_for_counts_only_behind_a_trusted_proxy(app, ctx, clock):
    c = app.test_client()
    limit = ctx.settings.login_address_max_failures
    # Untrusted peer: a forged X-Forwarded-For changes nothing, the peer is locked.
    statuses = [_login(c, f"u{i}", "wrong", "192.0.2.50", **{"X-Forwarded-For": f"10.9.{i}.1"}).status_code
                for i in range(limit)]
    assert statuses[-1] == 429
    # Behind the proxy 192.0.2.10 (trusted): each client address is counted apart.
    app.config["TRUSTED_PROXIES"] = parse_trusted("192.0.2.10")
    statuses = [_login(c, f"v{i}", "wrong", "192.0.2.10", **{"X-Forwarded-For": f"1.2.3.4, 10.8.{i}.1"}).status_code
                for i in range(limit)]
    assert set(statuses) == {401}
    with ctx.db.session() as s:
        assert s.scalar(select(SecurityEvent.address).where(SecurityEvent.kind == "sign_in_locked")) == "192.0.2.50"


def test_a_wrong_old_password_at_change_counts_as_a_failed_sign_in(app, clock):
    c = app.test_client()
    body = _login(c, "edu", RIGHT).json
    csrf = {"X-CSRF-Token": body["csrf"]}
    statuses = [c.post("/api/auth/password", json={"old": f"guess{i}", "new": "Dongying-2027-New"}, headers=csrf,
                       environ_base={"REMOTE_ADDR": "198.51.100.1"}).status_code for i in range(6)]
    assert statuses == [422] * 4 + [429, 429]


def test_client_address_rules():
    trusted = parse_trusted("10.0.0.0/8, 127.0.0.1")
    assert client_address("203.0.113.9", "1.1.1.1", trusted) == "203.0.113.9"  # peer is not a proxy
    assert client_address("127.0.0.1", "198.51.100.4", trusted) == "198.51.100.4"
    # The right-most address that is not a trusted proxy; what the client wrote to the left is ignored.
    assert client_address("127.0.0.1", "6.6.6.6, 198.51.100.4, 10.1.2.3", trusted) == "198.51.100.4"
    assert client_address("127.0.0.1", "not-an-ip", trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", "1.1.1.1", []) == "127.0.0.1"
    with pytest.raises(ValueError):
        parse_trusted("10.0.0.0/8, proxy.example")
