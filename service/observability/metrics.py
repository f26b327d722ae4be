"""The service's Prometheus metrics, recorded where things happen (HTTP, completions, workers,
sandbox). Under gunicorn or prefork Celery, set PROMETHEUS_MULTIPROC_DIR (an empty directory,
wiped at start by service.http.gunicorn_conf) before the process starts: each process then writes
its samples to files there and one scrape adds them up (prometheus_client multiprocess mode).
Figures read from the database (open tasks, outbox) are not here: they are computed once per
scrape by service.http.metrics_view, never per process."""
from __future__ import annotations

import os

from prometheus_client import Counter, Histogram
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

HTTP_REQUEST_SECONDS = Histogram(
    "govflow_http_request_duration_seconds", "HTTP request latency by route (the URL rule) and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
TASK_COMPLETIONS = Counter(
    "govflow_task_completions_total", "User tasks completed (committed), by BPMN task id.", ["task"])
DELIVERY_FAILURES = Counter(
    "govflow_delivery_failures_total", "Failed e-mail/webhook delivery attempts; final=true: given up (failed).",
    ["final"])
DEADLINE_TICK_SECONDS = Histogram(
    "govflow_deadline_tick_duration_seconds", "Duration of one govflow.tick (deadlines, timers, dispatch).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
TIMER_LATENESS_SECONDS = Histogram(
    "govflow_timer_lateness_seconds", "How long after its due time a BPMN timer fired.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0))
# Writers of one project queue on its lock, so this stays at zero unless something changed a
# project's rows without the lock, or the read went stale (docs/concurrency.md): worth an alert.
COMPLETION_CONFLICTS = Counter(
    "govflow_completion_conflicts_total",
    "Completions refused with 409 because the database refused their write, by cause.", ["cause"])
for _cause in ("stale_row", "constraint"):  # exported as 0 from the start: an alert needs a series
    COMPLETION_CONFLICTS.labels(cause=_cause)
SANDBOX_STOPS = Counter(
    "govflow_sandbox_stops_total", "Sandboxed evaluations stopped by the evaluator pool (child killed), by reason.",
    ["reason"])


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_exposition() -> bytes:
    """This process's metrics, or under gunicorn / several workers the sum over every process
    that wrote to PROMETHEUS_MULTIPROC_DIR."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

    directory = multiprocess_dir()
    if not directory:
        return generate_latest(REGISTRY)
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)


_PENDING = "govflow.metrics.completions"


def count_completion_on_commit(session: Session, task_name: str) -> None:
    """Count a completion when (and only if) its transaction commits: a rolled-back or conflicting
    completion is not one. The names wait in session.info for the class-wide listeners below:
    registering a listener on each session cost more than the rest of the bookkeeping."""
    session.info.setdefault(_PENDING, []).append(task_name)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for task_name in session.info.pop(_PENDING, ()):
        TASK_COMPLETIONS.labels(task=task_name).inc()


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended without a commit (after_commit ran first otherwise): drop
    # them. A savepoint's end (it has a parent) leaves them to the transaction around it.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
