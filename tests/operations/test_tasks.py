"""Completing tasks: authorisation, conflicts, atomicity, long send-back loops."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from service.domain.access import Actor
from service.domain.errors import Conflict, Forbidden, ValidationFailed
from service.operations import tasks
from service.scenario import worker
from service.storage.models import AuditRecord, ProcessInstance, WorkItem


def test_a_unit_completes_only_its_own_tasks(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    (item,) = driver.open_items(pid)
    assert item.unit.name == "市财政局"
    data = driver.answer(item.form)
    with pytest.raises(Forbidden):
        tasks.complete(ctx, item.id, data, worker("市教育局"))
    with pytest.raises(Forbidden):
        tasks.complete(ctx, item.id, data, Actor("督办员", "市财政局", frozenset({"supervisor"})))
    assert [w.id for w in tasks.inbox(ctx, worker("市财政局"))] == [item.id]
    assert tasks.inbox(ctx, worker("市教育局")) == []
    tasks.complete(ctx, item.id, data, worker("市财政局"))
    with pytest.raises(Conflict):
        tasks.complete(ctx, item.id, data, worker("市财政局"))


def test_claimed_task_belongs_to_the_claimer(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    (item,) = driver.open_items(pid)
    alice = Actor("alice", "市财政局", frozenset({"department"}))
    bob = Actor("bob", "市财政局", frozenset({"department"}))
    tasks.claim(ctx, item.id, alice)
    with pytest.raises(Conflict) as exc:
        tasks.complete(ctx, item.id, driver.answer(item.form), bob)
    assert "alice" in exc.value.message
    tasks.unclaim(ctx, item.id, alice)
    tasks.complete(ctx, item.id, driver.answer(item.form), bob)


def test_invalid_data_changes_nothing(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.complete(pid, "preliminary_review_finance")
    item = driver.item(pid, "preliminary_review")
    with ctx.db.session() as s:
        before = (s.get(ProcessInstance, item.instance_id).revision,
                  s.scalar(select(func.count()).select_from(AuditRecord)))
    with pytest.raises(ValidationFailed) as exc:
        tasks.complete(ctx, item.id, driver.answer(item.form, {"preliminary_decision": "随便"}), worker("市大数据局"))
    assert exc.value.errors[0].path == "preliminary_decision" and "入库" in exc.value.errors[0].message
    with ctx.db.session() as s:
        after = (s.get(ProcessInstance, item.instance_id).revision,
                 s.scalar(select(func.count()).select_from(AuditRecord)))
    assert after == before


def test_twenty_threads_complete_the_same_task_once(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    (item,) = driver.open_items(pid)
    data = driver.answer(item.form)
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            tasks.complete(ctx, item.id, data, Actor(f"user{n}", "市财政局", frozenset({"department"})))
            result = "ok"
        except Conflict:
            result = "conflict"
        except Exception as exc:  # anything else is a bug: record it so the assertion shows it
            result = f"error {type(exc).__name__}: {exc}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes).count("ok") == 1, outcomes
    assert outcomes.count("conflict") == 19, outcomes
    with ctx.db.session() as s:
        done = s.scalars(select(WorkItem).where(WorkItem.id == item.id)).one()
        assert done.state == "completed"
        completions = s.scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == "task_completed", AuditRecord.work_item_id == item.id))
        assert completions == 1
    # The instance is intact: the process goes on to the end of the stage.
    driver.run(pid)
    assert driver.ctx.db is ctx.db


def test_three_hundred_send_backs_in_plan_review(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="review_consolidate")
    sizes = []
    for _ in range(300):
        driver.complete(pid, "review_consolidate", plan_review_result="修改后重审")
        driver.run(pid, until="review_consolidate")
        with ctx.db.session() as s:
            sizes.append(len(s.scalar(select(ProcessInstance.state).where(ProcessInstance.project_id == pid))))
    # Bounded live state: the 300th pass is no bigger than the first (allowing for data jitter).
    assert max(sizes) <= sizes[0] * 1.1, (sizes[0], max(sizes))
    driver.run(pid)
    with ctx.db.session() as s:
        rounds = s.scalar(select(func.max(WorkItem.round)).where(WorkItem.project_id == pid,
                                                                 WorkItem.task_name == "review_police"))
    assert rounds == 301
