"""A database that goes away: the API answers 503 with Retry-After (never a 500) while it is gone,
and recovers by itself the moment it is back. PostgreSQL is reached through a TCP relay on loopback
that the test cuts (every live connection dropped, new ones refused) and restores; the server's
backends of the test database are also terminated from inside PostgreSQL."""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from service.config import REPO_ROOT, Settings
from service.http.app import create_app
from service.operations import identity
from service.operations.context import Govflow
from tests.conftest import _truncate, make_ctx


class Relay:
    """A TCP relay 127.0.0.1:port → PostgreSQL that can be cut and restored."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = int(probe.getsockname()[1])
        probe.close()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown first: a thread blocked in accept() keeps a closed listener alive otherwise.
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            live, self._sockets = self._sockets, set()
        for s in live:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def _seed(pg_url: str) -> tuple[str, bytes]:
    """A clean test database with the demo users: edu's token and a valid declaration body."""
    from service.scenario import Driver

    if not pg_url:
        pytest.skip("GOVFLOW_TEST_BACKENDS leaves PostgreSQL out")
    _truncate(pg_url)
    seeded = make_ctx(pg_url)
    identity.seed_demo_users(seeded)
    token = identity.issue_token(seeded, identity.authenticate(seeded, "edu", identity.DEMO_PASSWORD).id)[0]
    declaration = json.dumps({"data": Driver(seeded).answer("declaration")}, ensure_ascii=False).encode()
    seeded.close()
    return token, declaration


@pytest.fixture
def relayed(pg_url: str, tmp_path, monkeypatch) -> Iterator[tuple[Relay, object, dict[str, str]]]:  # type: ignore[no-untyped-def]  # noqa: E501
    token, _ = _seed(pg_url)
    relay = Relay(("127.0.0.1", 5432))
    relay.start()
    host_part = pg_url.split("@", 1)[1].split("/", 1)
    url = pg_url.split("@", 1)[0] + f"@127.0.0.1:{relay.port}/" + host_part[1]
    ctx = Govflow(Settings(database_url=url, processes_dir=REPO_ROOT / "processes", forms_dir=REPO_ROOT / "forms"))
    monkeypatch.setenv("GOVFLOW_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    app = create_app(ctx, secret_key="test")
    yield relay, app.test_client(), {"Authorization": f"Bearer {token}"}
    relay.cut()
    ctx.close()


def test_a_cut_answers_503_with_retry_after_and_recovers(relayed):
    relay, client, auth = relayed
    for _ in range(3):  # fill the pool with live connections
        assert client.get("/api/tasks", headers=auth).status_code == 200
    login = client.post("/api/auth/login", json={"username": "edu", "password": identity.DEMO_PASSWORD})
    assert login.status_code == 200
    assert client.get("/inbox").status_code == 200
    relay.cut()
    for path in ("/api/tasks", "/api/projects", "/api/auth/me", "/api/notifications"):
        response = client.get(path, headers=auth)
        assert response.status_code == 503, (path, response.get_json())
        assert response.headers["Retry-After"].isdigit()
        assert response.get_json()["error"]["message"] == "数据库暂时不可用，请稍后重试"
    # A page says so in a page, not a stack trace.
    page = client.get("/inbox")
    assert page.status_code == 503 and "数据库暂时不可用" in page.get_data(as_text=True)
    # A write during the cut is refused the same way, and nothing is half-written.
    response = client.post("/api/projects", json={"data": {"project_name": "断网期间"}}, headers=auth)
    assert response.status_code == 503
    relay.start()
    # Back: the very next requests succeed (dead pooled connections are replaced, not served).
    assert [client.get("/api/tasks", headers=auth).status_code for _ in range(5)] == [200] * 5


def test_backends_terminated_inside_postgresql_are_replaced_silently(relayed, pg_url):
    _, client, auth = relayed
    for _ in range(3):
        assert client.get("/api/tasks", headers=auth).status_code == 200
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    admin.dispose()
    assert killed >= 1
    assert [client.get("/api/tasks", headers=auth).status_code for _ in range(10)] == [200] * 10


def test_gunicorn_under_load_through_a_cut_answers_503_then_recovers(pg_url, tmp_path):
    """The production server (gunicorn, 2 processes x 4 threads) under a steady crowd of readers and
    declarers while the database is cut for two seconds: every answer is a 200/201 or a 503 with
    Retry-After (never a 500, no traceback in the log), and the crowd is served again right after."""
    import http.client
    import time

    from tests.servers import gunicorn

    token, declaration = _seed(pg_url)
    relay = Relay(("127.0.0.1", 5432))
    relay.start()
    user, rest = pg_url.split("@", 1)
    url = f"{user}@127.0.0.1:{relay.port}/{rest.split('/', 1)[1]}"
    phase = {"now": "before"}
    seen: list[tuple[str, int, str | None]] = []
    stop = threading.Event()

    def crowd(port: int, write: bool) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        while not stop.is_set():
            when = phase["now"]
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                if write:
                    conn.request("POST", "/api/projects", body=declaration, headers=headers)
                else:
                    conn.request("GET", "/api/tasks", headers=headers)
                resp = conn.getresponse()
                resp.read()
                # A request that began before a change of phase and ended after it belongs to neither.
                seen.append((when if phase["now"] == when else "crossing", resp.status, resp.getheader("Retry-After")))
                conn.close()
            except OSError as exc:  # the server itself must stay up
                seen.append((when, -1, repr(exc)))
            time.sleep(0.02)

    try:
        with gunicorn(url, tmp_path, workers=2, threads=4) as (port, _):
            clients = [threading.Thread(target=crowd, args=(port, i % 3 == 0)) for i in range(6)]
            for t in clients:
                t.start()
            time.sleep(1.5)
            phase["now"] = "cut"
            relay.cut()
            time.sleep(2.0)
            relay.start()
            phase["now"] = "settling"
            time.sleep(0.5)
            phase["now"] = "after"
            time.sleep(2.0)
            stop.set()
            for t in clients:
                t.join(60)
    finally:
        relay.cut()
    by_phase: dict[str, dict[int, int]] = {}
    for when, status, _ in seen:
        by_phase.setdefault(when, {}).setdefault(status, 0)
        by_phase[when][status] += 1
    print(by_phase)
    assert {status for _, status, _ in seen} <= {200, 201, 503}, by_phase
    assert all(retry is not None and retry.isdigit() for _, status, retry in seen if status == 503), by_phase
    assert set(by_phase["before"]) <= {200, 201}, by_phase
    assert by_phase["cut"].get(503, 0) > 0, by_phase
    assert set(by_phase["after"]) <= {200, 201} and sum(by_phase["after"].values()) > 0, by_phase
