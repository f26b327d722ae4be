"""Celery tasks. Each is idempotent: running one twice has the effect of running it once."""
from __future__ import annotations

import datetime as dt
import logging
import threading

from service.channels.config import ChannelSettings
from service.observability import correlation, metrics
from service.operations import delivery_origins, notifications, reminders, timers
from service.operations.context import Govflow
from service.storage.models import utcnow
from workers import config
from workers.app import app

log = logging.getLogger("govflow.workers")
_ctx: Govflow | None = None
_lock = threading.Lock()
# Timers this process already scheduled (instance, fire time): the next ticks do not schedule again.
_scheduled: dict[tuple[int, dt.datetime], float] = {}


def context() -> Govflow:
    """One Govflow per worker process, created after the fork."""
    global _ctx
    if _ctx is None:
        with _lock:
            if _ctx is None:
                _ctx = Govflow()
    return _ctx


@app.task(name="govflow.tick", ignore_result=True)
def tick() -> dict[str, int]:
    with metrics.DEADLINE_TICK_SECONDS.time():
        return _tick()


def _tick() -> dict[str, int]:
    ctx = context()
    cfg = ChannelSettings()
    result = reminders.tick(ctx, config.deadline_now(), cfg=cfg)
    real = utcnow()
    scheduled = 0
    for instance_id, at in timers.due_timers(ctx, real + dt.timedelta(seconds=config.timer_lookahead())):
        key = (instance_id, at)
        if key in _scheduled:
            continue
        _scheduled[key] = at.timestamp()
        fire_timer.apply_async((instance_id,), eta=at.replace(tzinfo=dt.UTC))
        scheduled += 1
    if len(_scheduled) > 10_000:
        _scheduled.clear()
    due = notifications.due_deliveries(ctx, cfg)
    origins = delivery_origins.origins(ctx, due)
    for delivery_id in due:
        # The request that queued the message, so the send is logged under its id (docs/operations.md).
        origin = origins.get(delivery_id)
        deliver.apply_async((delivery_id,), headers={correlation.TASK_HEADER: origin} if origin else None)
    return {"clocks": result.clocks, "notifications": result.notifications, "timers": scheduled,
            "deliveries": len(due)}


@app.task(name="govflow.deliver", ignore_result=True, acks_late=True)
def deliver(delivery_id: int) -> str:
    status = notifications.deliver(context(), delivery_id)
    if status in ("pending", "failed"):  # the attempt failed: retried later, or given up
        metrics.DELIVERY_FAILURES.labels(final=str(status == "failed").lower()).inc()
    log.info("delivery %s %s", delivery_id, status, extra={"delivery_id": delivery_id, "status": status})
    return status


@app.task(name="govflow.fire_timer", ignore_result=True, acks_late=True)
def fire_timer(instance_id: int, attempt: int = 0) -> bool:
    ctx = context()
    before = timers.pending_at(ctx, instance_id)
    moved = timers.fire(ctx, instance_id)
    after = timers.pending_at(ctx, instance_id)
    real = utcnow()
    if moved and before is not None and before <= real:
        metrics.TIMER_LATENESS_SECONDS.observe((real - before).total_seconds())
    if after is not None and after == before and after <= real + dt.timedelta(seconds=1) and attempt < 20:
        # Woken a hair early for Spiff's clock (or the instance was busy): try again right after.
        fire_timer.apply_async((instance_id, attempt + 1), eta=max(after, real).replace(tzinfo=dt.UTC)
                               + dt.timedelta(milliseconds=50))
    return moved


@app.task(name="govflow.audit_checkpoint", ignore_result=True)
def audit_checkpoint() -> int:
    """Signed checkpoints of the audit chain heads that moved since their last one (docs/audit.md);
    idempotent: a second run writes nothing."""
    from service.operations import audit

    with context().db.session() as s:
        return audit.write_checkpoints(s)
