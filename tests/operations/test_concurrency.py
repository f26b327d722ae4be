"""Many writers on one project at once, with real threads, on SQLite and PostgreSQL: the writers of a
project are serialised (service.storage.locks), so nobody gets a false conflict, no write is lost,
the audit chain stays whole, and a 409 means the caller's own action really lost."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from service.domain.access import Actor
from service.domain.errors import Conflict, GovflowError
from service.operations import audit, calendar, clocks, task_actions, tasks
from service.scenario import worker
from service.storage.models import AuditRecord, Opinion, WorkItem, WorkItemClock

REVIEWS = ("review_bigdata", "review_cac", "review_police", "review_crypto")
SUPERVISOR = Actor("督办员", "市大数据局", frozenset({"supervisor"}))
ADMIN = Actor("operator", None, frozenset({"admin"}))


def run_at_once(calls: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Start every call at the same moment (a barrier) and collect ("ok", result) or
    ("conflict" | "error", exception) per call, in order."""
    barrier = threading.Barrier(len(calls))
    out: list[tuple[str, Any]] = [("error", None)] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            out[i] = ("ok", call())
        except Conflict as exc:
            out[i] = ("conflict", exc)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            out[i] = ("error", exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def at_review(driver) -> int:  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="review_bigdata")
    assert {w.task_name for w in driver.open_items(pid)} == set(REVIEWS)
    return pid


def chain_ok(ctx, project_id: int) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        assert audit.verify(s, project_id) is None
        seqs = list(s.scalars(select(AuditRecord.seq).where(AuditRecord.project_id == project_id)
                              .order_by(AuditRecord.seq)))
    assert seqs == list(range(1, len(seqs) + 1))


def test_four_parallel_reviews_on_several_projects_all_succeed(ctx, driver):
    projects = [at_review(driver) for _ in range(3)]
    calls = []
    for pid in projects:
        for item in driver.open_items(pid):
            calls.append(lambda item=item: tasks.complete(ctx, item.id, driver.answer(item.form),
                                                          worker(item.unit.name)))
    results = run_at_once(calls)
    assert [kind for kind, _ in results] == ["ok"] * 12, [r for r in results if r[0] != "ok"]
    for pid in projects:
        assert [w.task_name for w in driver.open_items(pid)] == ["review_consolidate"]
        chain_ok(ctx, pid)


def test_twenty_opinions_at_once_are_all_stored(ctx, driver):
    pid = at_review(driver)
    item = driver.item(pid, "review_police")
    results = run_at_once([lambda i=i: task_actions.add_opinion(ctx, item.id, worker("市公安局"), f"意见 {i}")
                           for i in range(20)])
    assert [kind for kind, _ in results] == ["ok"] * 20
    with ctx.db.session() as s:
        texts = set(s.scalars(select(Opinion.text).where(Opinion.work_item_id == item.id)))
    assert texts == {f"意见 {i}" for i in range(20)}
    chain_ok(ctx, pid)


def test_fifty_claims_at_once_give_one_holder(ctx, driver):
    pid = at_review(driver)
    item = driver.item(pid, "review_cac")
    people = [Actor(f"网信办{i}", "市委网信办", frozenset({"reviewer"})) for i in range(50)]
    results = run_at_once([lambda a=a: tasks.claim(ctx, item.id, a) for a in people])
    kinds = Counter(kind for kind, _ in results)
    assert kinds == {"ok": 1, "conflict": 49}, [r for r in results if r[0] == "error"]
    winner = people[[kind for kind, _ in results].index("ok")]
    with ctx.db.session() as s:
        assert s.get(WorkItem, item.id).assignee == winner.user
        claimed = s.scalar(select(func.count()).select_from(AuditRecord)
                           .where(AuditRecord.work_item_id == item.id, AuditRecord.action == "task_claimed"))
    assert claimed == 1
    assert all("认领" in str(exc) for kind, exc in results if kind == "conflict")
    chain_ok(ctx, pid)


def test_reclaiming_ones_own_task_records_nothing(ctx, driver):
    pid = at_review(driver)
    item = driver.item(pid, "review_crypto")
    me = worker("市密码管理局")
    tasks.claim(ctx, item.id, me)
    with ctx.db.session() as s:
        before = s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.project_id == pid))
    results = run_at_once([lambda: tasks.claim(ctx, item.id, me) for _ in range(5)])
    assert [kind for kind, _ in results] == ["ok"] * 5
    with ctx.db.session() as s:
        after = s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.project_id == pid))
    assert after == before


def test_send_back_racing_a_completion_one_wins_cleanly(ctx, driver):
    for _ in range(3):
        pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
        (item,) = driver.open_items(pid)
        actor = worker(item.unit.name)
        results = run_at_once([
            lambda item=item, actor=actor: tasks.complete(ctx, item.id, driver.answer(item.form), actor),
            lambda item=item, actor=actor: task_actions.send_back(ctx, item.id, actor, "submit_declaration",
                                                                  "材料不全"),
        ])
        assert sorted(kind for kind, _ in results) == ["conflict", "ok"], results
        chain_ok(ctx, pid)


def test_clock_actions_at_once_all_apply(ctx, driver):
    pid = at_review(driver)
    item = driver.item(pid, "review_bigdata")
    due = item.due_date
    results = run_at_once([lambda: clocks.extend(ctx, item.id, 1, "材料复杂", SUPERVISOR) for _ in range(6)]
                          + [lambda: clocks.pause(ctx, item.id, "补正材料", worker("市大数据局"))
                             for _ in range(4)])
    kinds = Counter(kind for kind, _ in results)
    # Six extensions all apply; of four pauses one wins and three learn it is already paused.
    assert kinds == {"ok": 7, "conflict": 3}, [r for r in results if r[0] == "error"]
    with ctx.db.session() as s:
        clock = s.get(WorkItemClock, item.id)
        row = s.get(WorkItem, item.id)
        assert clock.extended_days == 6 and clock.paused_at is not None
        cal = ctx.calendar(s)
    assert row.due_date == cal.add_working_days(due, 6).date
    chain_ok(ctx, pid)


def test_calendar_reload_while_departments_complete(ctx, driver):
    projects = [at_review(driver) for _ in range(2)]
    text = (Path(__file__).parent.parent / "data" / "calendar-2027-sample.json").read_text()
    calls: list[Callable[[], Any]] = [lambda: calendar.load_year(ctx, text, ADMIN) for _ in range(2)]
    for pid in projects:
        for item in driver.open_items(pid):
            calls.append(lambda item=item: tasks.complete(ctx, item.id, driver.answer(item.form),
                                                          worker(item.unit.name)))
    results = run_at_once(calls)
    assert [kind for kind, _ in results] == ["ok"] * len(calls), [r for r in results if r[0] != "ok"]
    for pid in projects:
        chain_ok(ctx, pid)


def test_no_write_path_raises_anything_but_a_domain_error(ctx, driver):
    """A mixed crowd on one task: whatever loses, loses with a domain error (a 4xx), never a crash."""
    pid = at_review(driver)
    item = driver.item(pid, "review_bigdata")
    me = worker("市大数据局")
    calls: list[Callable[[], Any]] = [
        lambda: tasks.claim(ctx, item.id, me),
        lambda: tasks.unclaim(ctx, item.id, me),
        lambda: task_actions.add_opinion(ctx, item.id, me, "同意"),
        lambda: clocks.pause(ctx, item.id, "补正", me),
        lambda: clocks.resume(ctx, item.id, me),
        lambda: clocks.extend(ctx, item.id, 2, "复杂", SUPERVISOR),
        lambda: tasks.complete(ctx, item.id, driver.answer(item.form), me),
    ] * 3
    results = run_at_once(calls)
    crashes = [exc for kind, exc in results if kind == "error" and not isinstance(exc, GovflowError)]
    assert crashes == []
    assert sum(1 for (kind, _), call in zip(results, calls, strict=True) if kind == "ok" and call is calls[6]) == 1
    chain_ok(ctx, pid)


def test_declarations_at_once_all_start(ctx, driver):
    results = run_at_once([lambda unit=unit: driver.declare(unit, budget_year=2027, participants=[])
                           for unit in ("市教育局", "市教育局", "市教育局", "市卫生健康委员会", "市民政局") * 2])
    assert [kind for kind, _ in results] == ["ok"] * 10, [r for r in results if r[0] != "ok"]
    codes = {declared.code for _, declared in results}
    assert len(codes) == 10
    for _, declared in results:
        chain_ok(ctx, declared.project_id)


def test_annual_list_approved_twice_at_once_once(ctx, driver):
    from service.operations import annual_list

    gov = Actor("市政府", "市政府", frozenset({"leader"}))
    waiting = []
    for _ in range(3):
        pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
        driver.run(pid)  # runs until the project waits for the year's list
        waiting.append(pid)
    system = Actor.system()
    list_id = annual_list.compile_list(ctx, 2027, [{"project_id": p} for p in waiting], system)
    annual_list.cosign(ctx, list_id, system)
    # Three 市政府 approvals of the one co-signed list at the same moment, with different amounts:
    # one wins, the others are told it is already approved, and nothing of theirs is written.
    results = run_at_once([lambda n=n: annual_list.approve(ctx, 2027, {p: 100.0 + n for p in waiting}, gov,
                                                           f"东政字〔2026〕{n}号", list_id=list_id)
                           for n in range(3)])
    assert sorted(kind for kind, _ in results) == ["conflict", "conflict", "ok"], results
    assert all("已批准" in str(value) for kind, value in results if kind == "conflict"), results
    winner = next(value for kind, value in results if kind == "ok")
    with ctx.db.session() as s:
        from service.storage.models import AnnualList, AuditRecord

        row = s.get(AnnualList, list_id)
        assert row is not None and row.status == "approved"
        amounts = {e["amount"] for e in row.approved_entries}  # one approval's amounts, not a mix
        assert len(amounts) == 1
        assert row.document_no == f"东政字〔2026〕{round(amounts.pop() - 100)}号"
        for pid in waiting:
            records = list(s.scalars(select(AuditRecord).where(AuditRecord.project_id == pid,
                                                               AuditRecord.action == "annual_list_approved")))
            assert len(records) == 1 and records[0].detail["document_no"] == row.document_no
    assert winner.released == waiting
    for pid in waiting:
        assert [w.task_name for w in driver.open_items(pid)] == ["consistency_request"], pid
        chain_ok(ctx, pid)


def test_designers_deploying_and_saving_forms_at_once_each_get_a_version(ctx):
    from service.config import REPO_ROOT
    from service.operations import form_admin, processes

    designer = Actor("设计员", None, frozenset({"designer"}))
    original = processes.bundle_from_directory(REPO_ROOT / "processes")
    bundles = []
    for i in range(3):
        files = dict(original)
        title = "填报入库申请".encode()
        files["lifecycle.bpmn"] = files["lifecycle.bpmn"].replace(title, title + str(i).encode(), 1)
        bundles.append(files)
    deployed = run_at_once([lambda b=b: processes.deploy(ctx, b, designer) for b in bundles])
    assert [kind for kind, _ in deployed] == ["ok"] * 3, deployed
    assert sorted(d.version for _, d in deployed) == [2, 3, 4]
    schema = form_admin.get_form(ctx, "review_police")["schema"]
    saved = run_at_once([lambda: form_admin.save(ctx, "review_police", schema, designer) for _ in range(3)])
    assert [kind for kind, _ in saved] == ["ok"] * 3, saved
    assert sorted(out["revision"] for _, out in saved) == [1, 2, 3]
