"""BPMN timers: the indexed next fire time (working-day expressions included) and firing."""
from __future__ import annotations

import datetime as dt
import time

from service.operations import timers
from service.storage.models import ProcessInstance
from tests.workers.conftest import deploy_timer_process, start_timer_instances


def test_working_day_timer_is_indexed_and_fires_only_when_due(ctx):
    version_id = deploy_timer_process(ctx)
    # 2099 has no holiday data: weekends only, deterministic whatever today is.
    [iid] = start_timer_instances(ctx, version_id, [{"fire_at": None, "submitted_on": "2099-04-29"}])
    day = ctx.helpers["working_days_after"]("2099-04-29", 3)
    expected = dt.datetime.fromisoformat(f"{day}T09:00:00+08:00").astimezone(dt.UTC).replace(tzinfo=None)
    with ctx.db.session() as s:
        assert s.get(ProcessInstance, iid).next_timer_at == expected
    assert timers.due_timers(ctx, expected - dt.timedelta(seconds=1)) == []
    assert timers.due_timers(ctx, expected) == [(iid, expected)]
    assert timers.fire(ctx, iid, now=expected - dt.timedelta(seconds=1)) is False


def test_due_timer_fires_and_completes_in_one_transaction(ctx):
    version_id = deploy_timer_process(ctx)
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.3)
    [iid] = start_timer_instances(ctx, version_id, [{"fire_at": at.isoformat(), "submitted_on": ""}])
    time.sleep(0.4)
    assert timers.fire(ctx, iid) is True
    with ctx.db.session() as s:
        inst = s.get(ProcessInstance, iid)
        assert (inst.status, inst.next_timer_at) == ("completed", None)
    assert timers.fire(ctx, iid) is False  # idempotent


def _boundary_instance(ctx, at: dt.datetime) -> int:  # type: ignore[no-untyped-def]
    """An instance of tests/workers/boundary.bpmn: a user task with a boundary timer firing at `at`."""
    from pathlib import Path

    from service.operations import processes
    from tests.conftest import OPERATOR

    bpmn = (Path(__file__).resolve().parent.parent / "workers" / "boundary.bpmn").read_bytes()
    version_id = processes.deploy(ctx, {"boundary.bpmn": bpmn}, OPERATOR, process_key="boundary_proc").id
    [iid] = start_timer_instances(ctx, version_id, [{"fire_at": at.isoformat()}])
    return iid


def test_boundary_timer_interrupts_the_user_task(ctx):
    from sqlalchemy import select

    from service.storage.models import Project, WorkItem

    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.3)
    iid = _boundary_instance(ctx, at)
    with ctx.db.session() as s:
        inst = s.get(ProcessInstance, iid)
        [item] = s.scalars(select(WorkItem).where(WorkItem.instance_id == iid))
        assert (item.task_name, item.state) == ("supplement", "open")
        assert inst.next_timer_at == at.replace(tzinfo=None)
    time.sleep(0.4)
    assert timers.fire(ctx, iid) is True
    with ctx.db.session() as s:
        inst = s.get(ProcessInstance, iid)
        item = s.get(WorkItem, item.id)
        project = s.get(Project, inst.project_id)
        assert (inst.status, item.state, project.outcome) == ("completed", "cancelled", "逾期退回")


def test_a_timer_that_moves_nothing_still_moves_the_audit_head(ctx):
    """Our clock ran ahead of Spiff's: fire() rewrites the instance with nothing opened or ended. It
    must still move the project's audit head, or a completion queued behind it would pass the
    freshness check of its one read (completion_read) with a stale instance and get a false 409."""
    from service.operations import audit
    from service.storage.models import Project

    at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    iid = _boundary_instance(ctx, at)
    with ctx.db.session() as s:
        inst = s.get(ProcessInstance, iid)
        seq, revision, pid = s.get(Project, inst.project_id).audit_seq, inst.revision, inst.project_id
        inst.next_timer_at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
    assert timers.fire(ctx, iid) is True
    with ctx.db.session() as s:
        inst = s.get(ProcessInstance, iid)
        project = s.get(Project, pid)
        assert inst.status == "running" and inst.next_timer_at == at.replace(tzinfo=None)
        assert inst.revision > revision and project.audit_seq == seq + 1
        assert audit.verify(s, pid) is None
