"""BPMN timer events (intermediate and boundary, timeDate / timeDuration / timeCycle).

After every step progress.apply stores the earliest fire time of the instance's waiting timers in
process_instances.next_timer_at (indexed). The worker's tick reads instances whose timer is near
(`due_timers`) and schedules `fire` for the exact time (Celery ETA); `fire` refreshes the timers,
runs the engine and syncs rows in one transaction (progress.apply), and is idempotent: a second
call for the same timer finds nothing due and does nothing. Spiff compares timers with the real
UTC clock, so timers run on real time."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from service.operations import audit
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import ProcessInstance, utcnow


def due_timers(ctx: Govflow, horizon: dt.datetime, limit: int = 1000) -> list[tuple[int, dt.datetime]]:
    """(instance id, fire time) of timers due before `horizon`, earliest first."""
    with ctx.db.session() as s:
        rows = s.execute(select(ProcessInstance.id, ProcessInstance.next_timer_at)
                         .where(ProcessInstance.next_timer_at <= horizon)
                         .order_by(ProcessInstance.next_timer_at).limit(limit)).all()
        return [(r[0], r[1]) for r in rows]


def fire(ctx: Govflow, instance_id: int, now: dt.datetime | None = None) -> bool:
    """Fire the instance's due timers. True when the instance was stepped (its timers refreshed)."""
    from service.operations import progress

    now = now or utcnow()
    try:
        with ctx.db.session() as s:
            project_id = s.scalar(select(ProcessInstance.project_id).where(ProcessInstance.id == instance_id))
            project = locks.project(s, project_id) if project_id is not None else None
            instance = s.get(ProcessInstance, instance_id, populate_existing=True) if project is not None else None
            if project is None or instance is None or instance.next_timer_at is None or instance.next_timer_at > now:
                return False
            runtime = ctx.runtime(s, instance.version_id)
            wf = runtime.load(instance.state)
            runtime.fire_timers(wf)
            seq = project.audit_seq
            progress.apply(ctx, s, project, instance, runtime, wf, actor="system:timer", now=now)
            # A timer not yet due by Spiff's clock (ours ran ahead) stays; progress.apply reset the column.
            if project.audit_seq == seq:
                # The instance row was rewritten with nothing opened, withdrawn or ended. Every writer
                # of a project moves its audit head: that is how a completion queued behind this one
                # knows to read again (service.operations.completion_read, "Freshness").
                audit.append(s, project, actor="system:timer", action="timer_checked",
                             detail={"next_timer_at": instance.next_timer_at.isoformat()
                                     if instance.next_timer_at else None},
                             algorithm=ctx.settings.audit_hash, at=now)
            return True
    except StaleDataError:
        # A completion of the same instance committed first; its own progress.apply re-read the timers.
        return False


def pending_at(ctx: Govflow, instance_id: int) -> dt.datetime | None:
    with ctx.db.session() as s:
        return s.scalar(select(ProcessInstance.next_timer_at).where(ProcessInstance.id == instance_id))
