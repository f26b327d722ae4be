"""Links in notifications point at the address `govflow serve` actually serves (docs/documents.md):
serve on a port the OS picks, let its embedded worker send a reminder, follow the link."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from kombu import Connection, Queue
from sqlalchemy import select

from service.config import REPO_ROOT
from service.operations import reminders
from service.scenario import Driver
from service.storage.models import Notification, utcnow
from tests.workers.conftest import wait_for
from tests.workers.test_workers import add_due_items, bj, quiet_existing_clocks


def _serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    out = open(log, "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", "0"], cwd=REPO_ROOT, env=env,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def address() -> str | None:
        m = re.search(r"网页：(http://127\.0\.0\.1:(\d+))/", log.read_text(errors="replace"))
        return m.group(1) if m and m.group(2) != "0" else None

    url = wait_for(address, 90, 0.2)
    assert url, log.read_text(errors="replace")[-3000:]
    return proc, url


def test_reminder_links_to_the_served_address(ctx, smtp_sink, tmp_path):
    sink, smtp_port = smtp_sink
    pid = Driver(ctx).declare("市教育局").project_id
    quiet_existing_clocks(ctx)
    [item_id] = add_due_items(ctx, pid, 1)
    reminders.set_contact(ctx, "市教育局", "assignee", "edu@dongying.example")
    env = {k: v for k, v in os.environ.items() if k != "GOVFLOW_BASE_URL"}
    # On PostgreSQL the service is not in its embedded mode and needs a real session key.
    env.update({"GOVFLOW_DATABASE_URL": ctx.settings.database_url, "GOVFLOW_SECRET_KEY": "served-links-" + "0" * 32,
                "GOVFLOW_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'celery.db'}",
                "GOVFLOW_SMTP_HOST": "127.0.0.1", "GOVFLOW_SMTP_PORT": str(smtp_port),
                "GOVFLOW_TICK_SECONDS": "0.5", "GOVFLOW_WEBHOOK_URL": "",
                "GOVFLOW_CLOCK_OFFSET_SECONDS": str((bj("2026-04-29") - utcnow()).total_seconds())})
    # Worker and beat of a first start declare the queue at once on an empty broker file and kombu's
    # SQLAlchemy transport can lose that race (UNIQUE kombu_queue.name); a used file has the queue.
    with Connection(env["GOVFLOW_BROKER_URL"]) as conn:
        Queue("govflow", routing_key="govflow")(conn.default_channel).declare()
    proc, url = _serve(env, tmp_path / "serve.log")
    try:
        # The printed address is the one served.
        with urllib.request.urlopen(f"{url}/api/openapi.json", timeout=10) as r:
            assert r.status == 200
        assert wait_for(lambda: sink.messages, 90), (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    body = sink.messages[0]["body"]
    link = f"{url}/tasks/{item_id}"
    assert f"请登录系统办理：{link}" in body and "localhost:8000" not in body
    assert "{" not in body  # a letter, not a data dump
    with ctx.db.session() as s:
        note = s.scalar(select(Notification).where(Notification.work_item_id == item_id))
        assert note is not None and note.payload["link"] == link
