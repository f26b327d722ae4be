"""The /metrics body: the processes' own samples (all gunicorn workers, and any Celery worker on the
same PROMETHEUS_MULTIPROC_DIR, through prometheus_client's multiprocess collector; this process's
registry otherwise) and the database figures, read once for this scrape."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from service.observability.metrics import process_exposition
from service.operations import metrics_figures

log = logging.getLogger("govflow.http")


class DatabaseFigures(Collector):
    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("govflow_database_figures_up",
                               "1 when this scrape could read the database figures below.")
        try:
            tasks = metrics_figures.open_tasks(self.ctx)
            outbox = metrics_figures.outbox(self.ctx)
        except Exception as exc:  # noqa: BLE001 - the process metrics still go out while the database is away
            log.warning("metrics: database figures unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        open_tasks = GaugeMetricFamily("govflow_open_tasks", "Open user tasks by stage and warning grade "
                                       "(green, yellow 黄牌, red 红牌, paused 补正, none: no due date).",
                                       labels=["stage", "grade"])
        for (stage, grade), n in sorted(tasks.items()):
            open_tasks.add_metric([stage, grade], n)
        yield open_tasks
        backlog = GaugeMetricFamily("govflow_outbox_deliveries", "E-mail/webhook deliveries not sent, by status "
                                    "(pending + sending: the backlog; failed: given up).", labels=["status"])
        for status, n in outbox.items():
            backlog.add_metric([status], n)
        yield backlog


def exposition(ctx: Any) -> tuple[bytes, str]:
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseFigures(ctx))
    return process_exposition() + generate_latest(database), CONTENT_TYPE_LATEST
