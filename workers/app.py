"""The Celery app. Start a worker with `celery -A workers.app worker` and exactly one beat with
`celery -A workers.app beat` (or `workers.embedded.start()` for both without servers).

Delivery guarantees come from the database, not the broker: every effect is a row (outbox) with a
unique key, tasks are idempotent and acknowledged late (a message of a killed worker is
redelivered), and the tick re-dispatches any pending delivery whose lease expired. The broker can
therefore be down or lose messages without losing or duplicating a notification."""
from __future__ import annotations

from celery import Celery

from workers import config, observe  # noqa: F401 - observe: logging, request ids, metrics (signals)

app = Celery("govflow", include=["workers.tasks"])
app.conf.update(
    broker_url=config.broker_url(),
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=None,
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue="govflow",
    timezone="UTC",
    enable_utc=True,
    worker_hijack_root_logger=False,
    # Redis: an unacknowledged message of a dead worker comes back after this long; the tick's
    # lease re-dispatch usually gets there first.
    # (kombu's SQLAlchemy transport hands these options to create_engine: none for it.)
    broker_transport_options=({"visibility_timeout": 300, "polling_interval": 0.1}
                              if config.broker_url().startswith("redis") else {}),
    beat_schedule={
        "govflow-tick": {"task": "govflow.tick", "schedule": config.tick_seconds(),
                         "options": {"expires": max(config.tick_seconds() * 5, 5.0)}},
        # Audit chain heads pinned by signed checkpoints (GOVFLOW_AUDIT_CHECKPOINT_SECONDS, default hourly).
        "govflow-audit-checkpoint": {"task": "govflow.audit_checkpoint", "schedule": config.audit_checkpoint_seconds(),
                                     "options": {"expires": config.audit_checkpoint_seconds()}},
    },
)
