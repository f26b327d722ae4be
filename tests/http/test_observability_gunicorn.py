"""/metrics under real gunicorn with two worker processes (prometheus_client multiprocess mode):
one scrape adds up every process's samples, including those of workers killed since, and the
directory left by an earlier run is wiped at start. The web's JSON log lines carry the request id."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import time
from pathlib import Path

from tests.http.test_observability import sample
from tests.servers import gunicorn


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp.status, body, dict(resp.getheaders())


def _workers(master: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                out.add(int(entry.name))
    return out


def _wait(predicate, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (value := predicate()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def test_metrics_add_up_across_gunicorn_workers_and_logs_are_json(tmp_path, sqlite_template):
    shutil.copy(sqlite_template, tmp_path / "govflow.db")
    directory = tmp_path / "prom"
    directory.mkdir()
    (directory / "counter_4242.db").write_bytes(b"left over from an earlier run")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory), "GOVFLOW_LOG_FORMAT": "json"}
    count = "govflow_http_request_duration_seconds_count"
    with gunicorn(f"sqlite:///{tmp_path / 'govflow.db'}", tmp_path, workers=2, threads=2, env=env) as (port, proc):
        assert not (directory / "counter_4242.db").exists()
        for i in range(10):
            status, _, headers = _get(port, "/healthz", {"X-Request-ID": f"probe-{i:04d}-abcdef"})
            assert status == 200 and headers["X-Request-ID"] == f"probe-{i:04d}-abcdef"
        _, body, _ = _get(port, "/metrics")
        assert sample(body, count, route="/healthz", status="200") == 10
        # Kill every worker that served those requests: their samples stay in the sum.
        original = _workers(proc.pid)
        assert len(original) == 2
        for pid in original:
            os.kill(pid, signal.SIGKILL)
        assert _wait(lambda: len(_workers(proc.pid) - original) == 2)
        assert _wait(lambda: _get(port, "/healthz")[0] == 200)
        for _ in range(4):
            assert _get(port, "/healthz")[0] == 200
        _, body, _ = _get(port, "/metrics")
        assert sample(body, count, route="/healthz", status="200") == 15
        assert sample(body, "govflow_database_figures_up") == 1
    lines = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines()
             if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "govflow.http.access"]
    mine = [line for line in access if line.get("request_id") == "probe-0003-abcdef"]
    assert len(mine) == 1 and mine[0]["route"] == "/healthz" and mine[0]["status"] == 200
    assert {"time", "level", "message", "process", "duration_ms"} <= set(mine[0])
