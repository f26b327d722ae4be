"""The evaluator pool under the production server: gunicorn -k gthread with forked workers. A runaway
declaration is a 422 while another user's declaration succeeds at the same time, and no evaluator
child outlives its worker (killed) or the server (stopped)."""
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
from pathlib import Path

from sqlalchemy import select

from service.operations import identity, processes
from service.storage.models import User
from tests.conftest import YEAR
from tests.engine.test_sandbox_service import DESIGNER, with_script_on_flow

ROOT = Path(__file__).resolve().parents[2]
# Runs away only for the project named 失控: other declarations pass through the same script.
SCRIPT = "x = len(str([[0]*10000]*10000)) if project_name == '失控' else 0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _procs() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if rest[0] != "Z":
            out[int(entry)] = (int(rest[1]), cmd)
    return out


def _evaluator_children(parents: set[int]) -> set[int]:
    return {pid for pid, (ppid, cmd) in _procs().items() if ppid in parents and "evaluator_child" in cmd}


def _gone(pids: set[int], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not pids & set(_procs()):
            return True
        time.sleep(0.1)
    return False


def _declare(port: int, token: str, data: dict) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/api/projects", body=json.dumps({"data": data}),
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    body = json.loads(resp.read() or b"{}")
    conn.close()
    return resp.status, body


def test_under_gunicorn_runaways_are_422_others_are_served_and_children_do_not_leak(ctx, driver):
    processes.deploy(ctx, with_script_on_flow("f_submit_declaration__confirm_declaration", SCRIPT), DESIGNER)
    identity.seed_demo_users(ctx)
    with ctx.db.session() as s:
        edu_id = s.scalar(select(User.id).where(User.username == "edu"))
    token = identity.issue_token(ctx, edu_id)[0]
    port = _free_port()
    env = {**os.environ, "GOVFLOW_DATABASE_URL": ctx.settings.database_url, "GOVFLOW_SECRET_KEY": "test-" + "0" * 32}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "service.http.serve:wsgi()"],
        cwd=ROOT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.2)
        normal = driver.answer("declaration", {"budget_year": YEAR, "participants": []})
        runaway = {**normal, "project_name": "失控"}
        results: dict[str, tuple[int, dict]] = {}
        finished: dict[str, float] = {}

        def call(name: str, data: dict) -> None:
            results[name] = _declare(port, token, data)
            finished[name] = time.monotonic()

        threads = [threading.Thread(target=call, args=("runaway", runaway))]
        threads += [threading.Thread(target=call, args=(f"normal{i}", {**normal, "project_name": f"项目{i}"}))
                    for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        status, body = results["runaway"]
        assert status == 422, body
        assert "脚本执行超时" in body["error"]["message"], body
        for i in range(4):
            assert results[f"normal{i}"][0] == 201, results[f"normal{i}"]

        workers = {pid for pid, (ppid, _) in _procs().items() if ppid == server.pid}
        children = _evaluator_children(workers)
        assert children  # the workers evaluated in children of their own, started after the fork
        # A worker killed outright: its children see end of file and leave.
        victim = next(w for w in workers if _evaluator_children({w}))
        own = _evaluator_children({victim})
        os.kill(victim, signal.SIGKILL)
        assert _gone(own, 10), own
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert _gone(children, 10)  # and none outlives the server
