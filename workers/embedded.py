"""Embedded mode: worker and beat without any server, for the single-machine default.

    from workers import embedded
    handle = embedded.start()          # settings from the environment
    ...
    handle.stop()

The broker is kombu's SQLAlchemy transport on SQLite (`sqla+sqlite:///var/celery.db`) unless
GOVFLOW_BROKER_URL says otherwise; the database is GOVFLOW_DATABASE_URL (SQLite under var/ by
default). One child process runs `celery worker --beat` (threads pool), so there is exactly one
beat."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service.config import REPO_ROOT, Settings
from workers import config


@dataclass
class Handle:
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def start(settings: Settings | None = None, *, broker_url: str | None = None, concurrency: int = 2,
          env: Mapping[str, str] | None = None, log_path: Path | None = None) -> Handle:
    """Start worker + beat in a child process; returns a handle with stop()."""
    child_env = dict(os.environ)
    if settings is not None:
        child_env["GOVFLOW_DATABASE_URL"] = settings.database_url
        child_env["GOVFLOW_PROCESSES_DIR"] = str(settings.processes_dir)
        child_env["GOVFLOW_FORMS_DIR"] = str(settings.forms_dir)
    child_env["GOVFLOW_BROKER_URL"] = broker_url or child_env.get("GOVFLOW_BROKER_URL", config.EMBEDDED_BROKER)
    child_env.update(env or {})
    var = REPO_ROOT / "var"
    var.mkdir(exist_ok=True)
    _declare_queue(child_env["GOVFLOW_BROKER_URL"])
    log_path = log_path or var / "worker.log"
    schedule = log_path.with_suffix(".beat-schedule")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "--beat", "--pool", "threads",
             "--concurrency", str(concurrency), "--loglevel", "INFO", "--schedule", str(schedule),
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=REPO_ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return Handle(process, log_path)


def _declare_queue(broker_url: str) -> None:
    """Create the task queue before the child starts. In one `worker --beat` process the consumer
    and beat both declare it on a new SQLAlchemy broker file, and kombu's SQL transport inserts the
    row twice ("UNIQUE constraint failed: kombu_queue.name") and the worker exits."""
    if not broker_url.startswith("sqla+"):
        return
    from kombu import Connection, Exchange, Queue

    from workers.app import app

    name = app.conf.task_default_queue
    with Connection(broker_url) as conn:
        Queue(name, Exchange(name, type="direct"), routing_key=name)(conn.default_channel).declare()
