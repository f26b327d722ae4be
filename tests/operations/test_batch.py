"""批量办理 through the service layer, on both databases: batchable tasks completed each in its own
transaction with its own audit record; refused items reported per item, never undoing the others."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.domain.errors import BadField
from service.operations import batch
from service.scenario import worker
from service.storage.models import AuditRecord, WorkItem
from tests.operations.test_concurrency import chain_ok, run_at_once

CIVIL = worker("市民政局")


def _confirmations(driver, n: int) -> list[WorkItem]:  # type: ignore[no-untyped-def]
    items = []
    for _ in range(n):
        pid = driver.declare("市教育局", budget_year=2027, participants=["市民政局"]).project_id
        items.append(driver.item(pid, "confirm_declaration"))
    return items


def test_batch_completes_each_and_reports_the_invalid_one(ctx, driver):
    items = _confirmations(driver, 3)
    other = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    finance = driver.item(other, "preliminary_review_finance")
    data = driver.answer("participant_confirmation")
    ids = [items[0].id, items[1].id, finance.id, items[2].id, items[0].id]
    out = batch.complete_many(ctx, ids, data, CIVIL)
    assert [r["id"] for r in out["results"]] == [items[0].id, items[1].id, finance.id, items[2].id]
    assert (out["succeeded"], out["failed"]) == (3, 1)
    bad = out["results"][2]
    assert bad["ok"] is False and bad["error"] == "无权办理其他单位的任务"
    with ctx.db.session() as s:
        for item in items:
            assert s.get(WorkItem, item.id).state == "completed"
            done = s.scalar(select(func.count()).select_from(AuditRecord).where(
                AuditRecord.work_item_id == item.id, AuditRecord.action == "task_completed"))
            assert done == 1
        assert s.get(WorkItem, finance.id).state == "open"
    for item in items:
        chain_ok(ctx, item.project_id)
    # The next step of each project opened, as a single completion would.
    assert all(r["next"] for r in out["results"] if r["ok"])


def test_a_form_that_is_not_batchable_is_refused_per_item(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    finance = driver.item(pid, "preliminary_review_finance")
    out = batch.complete_many(ctx, [finance.id, 999999], driver.answer(finance.form), worker("市财政局"))
    assert [r["error"] for r in out["results"]] == [batch.NOT_BATCHABLE, "任务不存在"]
    assert driver.item(pid, "preliminary_review_finance").state == "open"


def test_form_errors_are_reported_with_their_fields(ctx, driver):
    (item,) = _confirmations(driver, 1)
    data = {**driver.answer("participant_confirmation"), "confirmation": "随便"}
    (result,) = batch.complete_many(ctx, [item.id], data, CIVIL)["results"]
    assert result["ok"] is False and result["errors"][0]["path"] == "confirmation"


@pytest.mark.parametrize("ids", [[], "1", [0], [True], list(range(1, 52))])
def test_malformed_or_too_many_ids_are_a_400(ctx, ids):
    with pytest.raises(BadField):
        batch.complete_many(ctx, ids, {}, CIVIL)


def test_fifty_distinct_ids_are_accepted_duplicates_removed(ctx, driver):
    out = batch.complete_many(ctx, [999999] * 60 + list(range(1_000_000, 1_000_049)), {}, CIVIL)
    assert len(out["results"]) == 50 and out["failed"] == 50


def test_two_batches_with_the_same_task_at_once_complete_it_once(ctx, driver):
    a, b, c = _confirmations(driver, 3)
    data = driver.answer("participant_confirmation")
    results = run_at_once([lambda: batch.complete_many(ctx, [a.id, b.id], data, CIVIL),
                           lambda: batch.complete_many(ctx, [b.id, c.id], data, CIVIL)])
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    first, second = (r["results"] for _, r in results)
    shared = [first[1], second[0]]
    assert sorted(r["ok"] for r in shared) == [False, True]
    loser = next(r for r in shared if not r["ok"])
    assert loser["code"] == "conflict" and ("已办结" in loser["error"] or "同时办理" in loser["error"])
    assert first[0]["ok"] and second[1]["ok"]
    with ctx.db.session() as s:
        done = s.scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.work_item_id == b.id, AuditRecord.action == "task_completed"))
    assert done == 1
    chain_ok(ctx, b.project_id)


def test_batchable_keyword_must_be_boolean(ctx):
    from service.domain.forms import Form, FormDefinitionError

    schema = dict(ctx.forms.get("participant_confirmation").schema)
    assert Form("participant_confirmation", schema).batchable
    with pytest.raises(FormDefinitionError):
        Form("participant_confirmation", {**schema, "x-batchable": "yes"})
