"""The write paths of issue 9 that tests/operations/test_concurrency.py does not crowd: 转办, 委派,
交回, attachments and BPMN timers, each raced against the others and against a completion, with real
threads on SQLite and PostgreSQL. Whatever loses, loses with a domain error (a 4xx); every won
action is in the audit chain exactly once and the chain verifies."""
from __future__ import annotations

import datetime as dt
import io
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from service.domain.access import Actor
from service.domain.errors import GovflowError
from service.operations import attachments, identity, processes, task_actions, tasks, timers
from service.scenario import worker
from service.storage.models import Attachment, AuditRecord, Opinion, ProcessInstance, Project, WorkItem
from tests.conftest import OPERATOR
from tests.operations.test_concurrency import at_review, chain_ok, run_at_once
from tests.workers.conftest import start_timer_instances


def police(name: str) -> Actor:
    return Actor(name, "市公安局", frozenset({"reviewer"}))


@pytest.fixture
def colleagues(ctx) -> list[Actor]:  # type: ignore[no-untyped-def]
    for i in range(11):
        identity.create_user(ctx, f"police{i}", unit="市公安局", roles=["reviewer"], password=None)
    return [police(f"police{i}") for i in range(11)]


def actions(ctx, item_id: int) -> Counter[str]:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        return Counter(s.scalars(select(AuditRecord.action).where(AuditRecord.work_item_id == item_id)))


def test_ten_reassigns_by_one_holder_one_wins(ctx, driver, colleagues):
    pid = at_review(driver)
    item = driver.item(pid, "review_police")
    holder, others = colleagues[0], colleagues[1:]
    tasks.claim(ctx, item.id, holder)
    results = run_at_once([lambda a=a: task_actions.reassign(ctx, item.id, holder, a.user) for a in others])
    assert Counter(kind for kind, _ in results) == {"ok": 1, "conflict": 9}, results
    winner = others[[kind for kind, _ in results].index("ok")]
    with ctx.db.session() as s:
        assert s.get(WorkItem, item.id).assignee == winner.user
    assert actions(ctx, item.id)["task_reassigned"] == 1
    chain_ok(ctx, pid)


def test_reassign_delegate_return_and_complete_on_one_task_at_once(ctx, driver, colleagues):
    pid = at_review(driver)
    item = driver.item(pid, "review_police")
    holder, p1, p2, delegate = colleagues[0], colleagues[1], colleagues[2], colleagues[3]
    tasks.claim(ctx, item.id, holder)
    data = driver.answer(item.form)
    calls: dict[str, list[Callable[[], Any]]] = {
        "task_reassigned": [lambda: task_actions.reassign(ctx, item.id, holder, p1.user),
                            lambda: task_actions.reassign(ctx, item.id, holder, p2.user)],
        "task_delegated": [lambda: task_actions.delegate(ctx, item.id, holder, delegate.user)] * 2,
        "task_delegation_returned": [lambda: task_actions.return_delegation(ctx, item.id, delegate)] * 2,
        "task_completed": [lambda: tasks.complete(ctx, item.id, data, holder),
                           lambda: tasks.complete(ctx, item.id, data, p1)],
        "opinion_added": [lambda: task_actions.add_opinion(ctx, item.id, holder, "同意")] * 2,
        "task_claimed": [lambda: tasks.claim(ctx, item.id, p2)],
    }
    flat = [(action, call) for action, group in calls.items() for call in group]
    for _ in range(3):  # several rounds: the interleavings differ
        before = actions(ctx, item.id)
        results = run_at_once([call for _, call in flat])
        crashes = [exc for kind, exc in results if kind == "error" and not isinstance(exc, GovflowError)]
        assert crashes == [], crashes
        won = Counter(action for (action, _), (kind, _) in zip(flat, results, strict=True) if kind == "ok")
        recorded = actions(ctx, item.id)
        for action in calls:
            # What succeeded is recorded once, and nothing that failed left a record (a re-claim or a
            # delegation returned by a delegate of nobody records nothing: claim's no-op).
            if action != "task_claimed":
                assert recorded[action] - before[action] == won[action], (action, recorded, before, won)
            else:
                assert recorded[action] - before[action] <= won[action], (action, recorded, before, won)
        with ctx.db.session() as s:
            row = s.get(WorkItem, item.id)
            opinions = s.scalar(select(func.count()).select_from(Opinion).where(Opinion.work_item_id == item.id))
        assert recorded["opinion_added"] == opinions
        assert recorded["task_completed"] <= 1
        assert (row.state == "completed") == (recorded["task_completed"] == 1)
        chain_ok(ctx, pid)
        if row.state == "completed":
            break


def test_uploads_and_opinions_on_one_project_at_once_all_stored(ctx, driver, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVFLOW_ATTACHMENTS_DIR", str(tmp_path / "att"))
    pid = at_review(driver)
    item = driver.item(pid, "review_police")
    me = worker("市公安局")
    edu = worker("市教育局")
    calls: list[Callable[[], Any]] = [
        lambda i=i: attachments.upload(ctx, pid, f"材料{i}.pdf", io.BytesIO(b"%PDF-1.4 " + str(i).encode()),
                                       "application/pdf", edu) for i in range(8)]
    calls += [lambda i=i: attachments.upload(ctx, pid, f"意见附件{i}.pdf", io.BytesIO(b"%PDF-1.4 p" + str(i).encode()),
                                             "application/pdf", me, item.id) for i in range(4)]
    calls += [lambda i=i: task_actions.add_opinion(ctx, item.id, me, f"意见 {i}") for i in range(4)]
    results = run_at_once(calls)
    assert [kind for kind, _ in results] == ["ok"] * len(calls), [r for r in results if r[0] != "ok"]
    with ctx.db.session() as s:
        names = set(s.scalars(select(Attachment.filename).where(Attachment.project_id == pid)))
        added = s.scalar(select(func.count()).select_from(AuditRecord)
                         .where(AuditRecord.project_id == pid, AuditRecord.action == "attachment_added"))
    assert names == {f"材料{i}.pdf" for i in range(8)} | {f"意见附件{i}.pdf" for i in range(4)}
    assert added == 12
    chain_ok(ctx, pid)


def test_a_boundary_timer_firing_while_the_task_is_completed(ctx, driver):
    bpmn = (Path(__file__).resolve().parent.parent / "workers" / "boundary.bpmn").read_bytes()
    version_id = processes.deploy(ctx, {"boundary.bpmn": bpmn}, OPERATOR, process_key="boundary_proc").id
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.5)
    ids = start_timer_instances(ctx, version_id, [{"fire_at": at.isoformat()} for _ in range(3)])
    time.sleep(0.7)
    for iid in ids:
        with ctx.db.session() as s:
            inst = s.get(ProcessInstance, iid)
            [item] = s.scalars(select(WorkItem).where(WorkItem.instance_id == iid))
            pid = inst.project_id
        data = driver.answer(item.form)
        results = run_at_once([lambda iid=iid: timers.fire(ctx, iid), lambda iid=iid: timers.fire(ctx, iid),
                               lambda item=item, data=data: tasks.complete(ctx, item.id, data, worker("市教育局"))])
        crashes = [exc for kind, exc in results if kind == "error" and not isinstance(exc, GovflowError)]
        assert crashes == [], crashes
        fired = sum(1 for kind, value in results[:2] if kind == "ok" and value is True)
        completed = results[2][0] == "ok"
        with ctx.db.session() as s:
            inst = s.get(ProcessInstance, iid)
            row = s.get(WorkItem, item.id)
            project = s.get(Project, pid)
        assert inst.status == "completed", (results, inst.status)
        # Exactly one of the two ends: completed by the department, or cancelled by the timer.
        if completed:
            assert (row.state, project.outcome) == ("completed", "完成"), results
        else:
            assert (row.state, project.outcome, fired) == ("cancelled", "逾期退回", 1), results
        assert fired <= 1
        chain_ok(ctx, pid)
