"""The production server for tests that need it: real gunicorn (-k gthread) on the test database,
on a free loopback port, its log checked for tracebacks and SQLAlchemy warnings when it stops."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.config import REPO_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _up(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/api/openapi.json")
        return conn.getresponse().status == 200
    except OSError:
        return False


@contextmanager
def gunicorn(database_url: str, workdir: Path, *, workers: int = 2, threads: int = 4,
             env: dict[str, str] | None = None) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Serve `service.http.serve:wsgi()`; yields (port, process). Fails the test if the server
    logged a traceback."""
    port = free_port()
    log_path = workdir / "gunicorn.log"
    environ = {**os.environ, "GOVFLOW_DATABASE_URL": database_url, "GOVFLOW_SECRET_KEY": "test-" + "0" * 32,
               "GOVFLOW_ATTACHMENTS_DIR": str(workdir / "attachments"), **(env or {})}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:service.http.gunicorn_conf",
                                 "-w", str(workers), "-k", "gthread",
                                 "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--timeout", "60",
                                 "service.http.serve:wsgi()"],
                                cwd=REPO_ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while not _up(port):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("gunicorn did not start: " + log_path.read_text(errors="replace")[-3000:])
                time.sleep(0.3)
            yield port, proc
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:  # the test killed it (SIGKILL) itself
                pass
            proc.wait(timeout=30)
    text = log_path.read_text(errors="replace")
    assert "Traceback" not in text, text[-5000:]
    # SQLAlchemy's warnings reach only the server's log: one there means a statement built wrong.
    assert "SAWarning" not in text, text[-5000:]


# token, method, path, body, content type
Request = tuple[str, str, str, bytes, str]


def json_request(token: str, method: str, path: str, body: dict[str, Any]) -> Request:
    return token, method, path, json.dumps(body, ensure_ascii=False).encode(), "application/json"


def send_at_once(port: int, requests: list[Request], timeout: float = 90) -> list[tuple[int, dict[str, Any]]]:
    """Send every request at the same moment (a barrier after connecting), one connection each;
    (status, JSON body) per request in order, the raw start of a body that is not JSON."""
    barrier = threading.Barrier(len(requests))
    out: list[tuple[int, dict[str, Any]]] = [(0, {})] * len(requests)

    def run(i: int, token: str, method: str, path: str, body: bytes, content_type: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.connect()
        barrier.wait()
        conn.request(method, path, body=body, headers={"Authorization": f"Bearer {token}",
                                                       "Content-Type": content_type})
        resp = conn.getresponse()
        raw = resp.read()
        try:
            out[i] = (resp.status, json.loads(raw) if raw else {})
        except ValueError:
            out[i] = (resp.status, {"raw": raw[:300].decode(errors="replace")})
        conn.close()

    threads = [threading.Thread(target=run, args=(i, *r)) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(2 * timeout)
    return out
