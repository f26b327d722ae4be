"""Worker settings from the environment.

GOVFLOW_BROKER_URL     broker; production: redis://redis:6379/0. Default (embedded, no server):
                       sqla+sqlite:///<repo>/var/celery.db (kombu's SQLAlchemy transport).
GOVFLOW_TICK_SECONDS   beat period of the tick (default 1.0): deadlines, near timers, deliveries.
GOVFLOW_TIMER_LOOKAHEAD_SECONDS  timers due within this horizon are scheduled with an ETA (3.0).
GOVFLOW_CLOCK_OFFSET_SECONDS     shifts the deadline clock (tests and drills only; default 0).
GOVFLOW_AUDIT_CHECKPOINT_SECONDS period of the signed audit checkpoints (default 3600).
"""
from __future__ import annotations

import datetime as dt
import os

from service.config import REPO_ROOT
from service.storage.models import utcnow

EMBEDDED_BROKER = f"sqla+sqlite:///{REPO_ROOT / 'var' / 'celery.db'}"


def broker_url() -> str:
    return os.environ.get("GOVFLOW_BROKER_URL", EMBEDDED_BROKER)


def tick_seconds() -> float:
    return float(os.environ.get("GOVFLOW_TICK_SECONDS", "1.0"))


def audit_checkpoint_seconds() -> float:
    return float(os.environ.get("GOVFLOW_AUDIT_CHECKPOINT_SECONDS", "3600"))


def timer_lookahead() -> float:
    return float(os.environ.get("GOVFLOW_TIMER_LOOKAHEAD_SECONDS", "3.0"))


def deadline_now() -> dt.datetime:
    """The clock of reminders and escalations (naive UTC)."""
    return utcnow() + dt.timedelta(seconds=float(os.environ.get("GOVFLOW_CLOCK_OFFSET_SECONDS", "0")))
