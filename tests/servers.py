"""The production server for tests that need it: real gunicorn (-k gthread) on the test database,
on a free loopback port, its log checked for tracebacks when it stops."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
