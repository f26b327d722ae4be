"""Real parts for the worker tests: a private redis-server on its own port (the shared 6379 is never
touched), an SMTP listener (aiosmtpd) and a webhook receiver (http.server) on loopback, and real
`celery worker` / `celery beat` processes started as subprocesses in their own process groups."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from service.config import REPO_ROOT
from service.operations import processes, progress
from service.storage.models import ProcessInstance, Project, Unit
from tests.conftest import BACKENDS, OPERATOR, database_url, make_ctx

TIMER_BPMN = Path(__file__).resolve().parent / "timer.bpmn"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate, timeout: float, interval: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        assert exe, "redis-server is not installed"
        self.process = subprocess.Popen([exe, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                         "--appendonly", "no", "--dir", str(self.directory)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as c:
                    c.sendall(b"PING\r\n")
                    return c.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        assert wait_for(up, 10), "private redis-server did not start"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


class SmtpSink:
    """Counts what arrives, by Message-ID. `delay` slows each message down (a burst to kill into)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.messages: list[dict[str, str]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        from email import message_from_bytes, policy

        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append({"at": time.time(), "id": str(msg["Message-ID"]), "subject": str(msg["Subject"]),
                                  "to": ",".join(envelope.rcpt_tos), "body": msg.get_content()})
        return "250 Message accepted for delivery"

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(m["id"] for m in self.messages)


@pytest.fixture
def smtp_sink() -> Iterator[tuple[SmtpSink, int]]:
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


class WebhookSink:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200


@pytest.fixture
def webhook_sink() -> Iterator[tuple[WebhookSink, str]]:
    sink = WebhookSink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            sink.requests.append(({k: v for k, v in self.headers.items()}, body))
            self.send_response(sink.status)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield sink, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


class Celery:
    """`celery worker` and `celery beat` as real processes."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.worker: subprocess.Popen[bytes] | None = None
        self.beat: subprocess.Popen[bytes] | None = None

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        return subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers.app", *args, "--loglevel", "INFO"],
                                cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start_worker(self, concurrency: int = 4) -> None:
        self.worker = self._spawn(["worker", "--pool", "threads", "--concurrency", str(concurrency),
                                   "--without-gossip", "--without-mingle", "--without-heartbeat",
                                   "-n", f"w{uuid.uuid4().hex[:6]}@%h"], "worker")

    def start_beat(self) -> None:
        self.beat = self._spawn(["beat", "--schedule", str(self.logs / "beat-schedule")], "beat")

    def kill_worker(self) -> None:
        """SIGKILL the worker's whole process group: nothing gets to clean up."""
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(10)
        self.worker = None

    def stop(self) -> None:
        for proc in (self.worker, self.beat):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in (self.worker, self.beat):
            if proc is not None:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)
        self.worker = self.beat = None

    def wait_until_working(self, timeout: float = 60) -> None:
        """Until the worker is connected and has run a tick from beat. A broker cut while the worker
        is still starting is a different event (its supervisor restarts it); the tests that cut the
        broker mean a running service."""
        assert wait_for(lambda: " ready." in self.log("worker")
                        and "govflow.tick[" in self.log("worker")
                        and "succeeded" in self.log("worker"), timeout), (
            self.log("worker")[-3000:], self.log("beat")[-1500:])

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


# Production-shaped: PostgreSQL when it is among the backends, else SQLite.
WORKER_BACKEND = "postgresql" if "postgresql" in BACKENDS else "sqlite"


@pytest.fixture
def wctx(tmp_path: Path, sqlite_template: Path, pg_url: str):  # type: ignore[no-untyped-def]
    context = make_ctx(database_url(WORKER_BACKEND, tmp_path, sqlite_template, pg_url))
    yield context
    context.close()


@pytest.fixture
def celery_env(wctx, redis_server: RedisServer, smtp_sink, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    _, smtp_port = smtp_sink
    env = dict(os.environ)
    env.update({
        "GOVFLOW_DATABASE_URL": wctx.settings.database_url,
        "GOVFLOW_BROKER_URL": redis_server.url,
        "GOVFLOW_SMTP_HOST": "127.0.0.1",
        "GOVFLOW_SMTP_PORT": str(smtp_port),
        "GOVFLOW_TICK_SECONDS": "0.5",
        "GOVFLOW_DELIVERY_LEASE_SECONDS": "3",
        "GOVFLOW_DELIVERY_BACKOFF_SECONDS": "0.5",
        "GOVFLOW_WEBHOOK_URL": "",
    })
    return env


@pytest.fixture
def celery_procs(celery_env, tmp_path: Path) -> Iterator[Celery]:  # type: ignore[no-untyped-def]
    procs = Celery(celery_env, tmp_path)
    yield procs
    procs.stop()


def fixed_now_env(env: dict[str, str], fixed: dt.datetime) -> None:
    """Inject the deadline clock: the workers see `fixed` (naive UTC) as now."""
    real = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    env["GOVFLOW_CLOCK_OFFSET_SECONDS"] = str((fixed - real).total_seconds())


def deploy_timer_process(ctx) -> int:  # type: ignore[no-untyped-def]
    return processes.deploy(ctx, {"timer.bpmn": TIMER_BPMN.read_bytes()}, OPERATOR, process_key="timer_proc").id


def start_timer_instances(ctx, version_id: int, datas: list[dict]) -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    with ctx.db.session() as s:
        unit = s.scalar(select(Unit).where(Unit.name == "市教育局"))
        runtime = ctx.runtime(s, version_id)
        for data in datas:
            project = Project(code=f"T-{uuid.uuid4().hex[:12]}", name="定时器测试", budget_year=2027,
                              unit_id=unit.id, declared_by="test")
            s.add(project)
            s.flush()
            wf = runtime.start(data)
            instance = ProcessInstance(project_id=project.id, version_id=version_id, state="")
            s.add(instance)
            s.flush()
            progress.apply(ctx, s, project, instance, runtime, wf, actor="test")
            ids.append(instance.id)
    return ids


def dump(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)
