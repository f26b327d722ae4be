"""Sessions and the sign-in throttle under the production server: real gunicorn, two worker
processes, real HTTP. A sign-out in one process holds in the other; a burst of wrong passwords
spread over both processes locks the account after exactly the limit."""
from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from service.operations import identity
from service.storage.models import SecurityEvent
from tests.servers import gunicorn


@pytest.fixture
def port(ctx, tmp_path) -> Iterator[int]:  # type: ignore[no-untyped-def]
    identity.seed_demo_users(ctx)
    with gunicorn(ctx.settings.database_url, tmp_path) as (port, _):
        yield port


def _call(port: int, method: str, path: str, body: Any = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request(method, path, body=None if body is None else json.dumps(body).encode(),
                     headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
    except OSError:
        return 0, {}, None
    return resp.status, dict(resp.getheaders()), json.loads(raw) if raw and raw[:1] in b"{[" else raw


def test_sign_out_holds_on_every_worker_and_the_throttle_counts_across_them(ctx, port):
    status, headers, body = _call(port, "POST", "/api/auth/login",
                                  {"username": "edu", "password": identity.DEMO_PASSWORD})
    assert status == 200
    cookie = {"Cookie": headers["Set-Cookie"].split(";", 1)[0]}
    # Fresh connections: gunicorn hands them to either worker.
    assert {_call(port, "GET", "/api/auth/me", headers=cookie)[0] for _ in range(10)} == {200}
    assert _call(port, "POST", "/api/auth/logout", headers={**cookie, "X-CSRF-Token": body["csrf"]})[0] == 200
    after = [_call(port, "GET", "/api/auth/me", headers=cookie)[0] for _ in range(20)]
    assert set(after) == {401}, after
    assert _call(port, "POST", "/api/tasks/1/claim", headers={**cookie, "X-CSRF-Token": body["csrf"]})[0] == 401

    # A password change through one connection ends the user's every session, whichever worker serves it.
    (_, laptop_headers, laptop), (_, phone_headers, _) = (
        _call(port, "POST", "/api/auth/login", {"username": "health", "password": identity.DEMO_PASSWORD})
        for _ in range(2))
    laptop_cookie, phone_cookie = ({"Cookie": h["Set-Cookie"].split(";", 1)[0]}
                                   for h in (laptop_headers, phone_headers))
    assert _call(port, "GET", "/api/auth/me", headers=phone_cookie)[0] == 200
    changed = _call(port, "POST", "/api/auth/password", {"old": identity.DEMO_PASSWORD, "new": "Dongying-2027-New"},
                    headers={**laptop_cookie, "X-CSRF-Token": laptop["csrf"]})
    assert changed[0] == 200, changed
    assert {_call(port, "GET", "/api/auth/me", headers=c)[0] for c in (laptop_cookie, phone_cookie)
            for _ in range(10)} == {401}

    # Twenty wrong passwords at one moment over both processes: exactly four plain refusals.
    barrier = threading.Barrier(20)
    results: list[int] = []

    def guess(i: int) -> None:
        barrier.wait()
        results.append(_call(port, "POST", "/api/auth/login", {"username": "finance", "password": f"g{i}"})[0])

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert Counter(results) == {401: 4, 429: 16}, Counter(results)
    status, headers, _ = _call(port, "POST", "/api/auth/login",
                               {"username": "finance", "password": identity.DEMO_PASSWORD})
    assert status == 429 and int(headers["Retry-After"]) > 0
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(SecurityEvent)
                        .where(SecurityEvent.kind == "sign_in_locked", SecurityEvent.username == "finance")) == 1
