"""暂存 and the second round after 退回, through the service layer (SQLite and PostgreSQL)."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from service.domain.access import Actor
from service.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from service.operations import attachments, drafts, task_actions, tasks
from service.scenario import worker
from service.storage.models import AuditRecord, TaskDraft
from tests.operations.test_concurrency import run_at_once

EDU = worker("市教育局")
EDU_2 = Actor("edu2", "市教育局", frozenset({"department"}))
SUPERVISOR = Actor("督办员", "市大数据局", frozenset({"supervisor"}))


def _declared(driver) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A project at 报送预算资料 (市教育局's task): its project and work item ids."""
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="submit_budget")
    return pid, driver.item(pid, "submit_budget").id


def _drafts(ctx) -> int:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(TaskDraft)) or 0


def test_a_draft_is_kept_per_task_and_user_without_checking_required_fields(ctx, driver):
    _, item_id = _declared(driver)
    assert drafts.load(ctx, item_id, EDU) is None
    saved = drafts.save(ctx, item_id, EDU, {"notes": "只写了一半"})  # budget_amount etc. are required
    assert saved["data"] == {"notes": "只写了一半"}
    assert drafts.load(ctx, item_id, EDU)["data"] == {"notes": "只写了一半"}
    drafts.save(ctx, item_id, EDU, {"notes": "第二次", "budget_amount": 12.5})
    assert drafts.load(ctx, item_id, EDU)["data"] == {"notes": "第二次", "budget_amount": 12.5}
    # A colleague of the same unit has their own (empty) draft, and keeps it apart.
    assert drafts.load(ctx, item_id, EDU_2) is None
    drafts.save(ctx, item_id, EDU_2, {"notes": "同事的"})
    assert drafts.load(ctx, item_id, EDU)["data"]["notes"] == "第二次"
    assert drafts.discard(ctx, item_id, EDU) is True
    assert drafts.load(ctx, item_id, EDU) is None
    assert drafts.load(ctx, item_id, EDU_2)["data"] == {"notes": "同事的"}
    # Drafts are not records of the project: nothing entered the audit chain.
    with ctx.db.session() as s:
        actions = set(s.scalars(select(AuditRecord.action)))
    assert not {a for a in actions if "draft" in a}


def test_only_who_may_work_the_task_saves_a_draft(ctx, driver):
    _, item_id = _declared(driver)
    with pytest.raises(NotFound):
        drafts.save(ctx, item_id, worker("市卫生健康委员会"), {"notes": "x"})  # unrelated unit
    with pytest.raises(NotFound):
        drafts.load(ctx, item_id, worker("市卫生健康委员会"))
    with pytest.raises(Forbidden):
        drafts.save(ctx, item_id, SUPERVISOR, {"notes": "x"})  # reads everything, works nothing
    tasks.claim(ctx, item_id, EDU_2)
    with pytest.raises(Conflict) as exc:
        drafts.save(ctx, item_id, EDU, {"notes": "x"})
    assert "认领" in exc.value.message
    with pytest.raises(ValidationFailed):
        drafts.save(ctx, item_id, EDU_2, ["not", "an", "object"])
    with pytest.raises(ValidationFailed) as exc:
        drafts.save(ctx, item_id, EDU_2, {"notes": "长" * (drafts.MAX_DRAFT_BYTES // 3 + 1)})
    assert "暂存内容" in exc.value.errors[0].message


def test_the_draft_goes_when_the_task_is_completed_and_a_later_save_is_refused(ctx, driver):
    pid, item_id = _declared(driver)
    drafts.save(ctx, item_id, EDU, {"notes": "暂存"})
    drafts.save(ctx, item_id, EDU_2, {"notes": "同事暂存"})
    driver.complete(pid, "submit_budget")
    assert _drafts(ctx) == 0
    with pytest.raises(Conflict) as exc:
        drafts.save(ctx, item_id, EDU, {"notes": "晚了"})
    assert exc.value.message == "该任务已办结，不能再暂存"
    assert drafts.load(ctx, item_id, EDU) is None


def test_a_draft_saved_while_its_task_is_completed_never_outlives_the_task(ctx, driver):
    # On SQLite the completion learns in its read that there is no draft and skips the DELETE
    # (drafts.none_exist): only exact because no save can commit inside its transaction.
    for _ in range(4):
        pid, item_id = _declared(driver)
        item = driver.item(pid, "submit_budget")
        saved, completed = run_at_once([
            lambda item_id=item_id: drafts.save(ctx, item_id, EDU, {"notes": "同时暂存"}),
            lambda item=item: tasks.complete(ctx, item.id, driver.answer(item.form), EDU)])
        assert completed[0] == "ok", completed
        assert saved[0] in ("ok", "conflict"), saved
        with ctx.db.session() as s:
            assert s.scalar(select(func.count()).select_from(TaskDraft).where(TaskDraft.work_item_id == item_id)) == 0


def test_two_saves_of_one_user_at_once_the_last_wins_and_nothing_fails(ctx, driver):
    _, item_id = _declared(driver)
    results = run_at_once([lambda i=i: drafts.save(ctx, item_id, EDU, {"notes": f"第{i}次"}) for i in range(6)])
    assert [kind for kind, _ in results] == ["ok"] * 6, results
    assert _drafts(ctx) == 1
    assert drafts.load(ctx, item_id, EDU)["data"]["notes"] in {f"第{i}次" for i in range(6)}


def test_a_task_sent_back_opens_with_the_last_round_and_the_reason(ctx, driver):
    pid, item_id = _declared(driver)
    ids = {}
    for field in ("plan_attachment", "budget_attachment", "review_opinion_attachment"):
        ids[field] = str(attachments.upload(ctx, pid, f"{field}.pdf", io.BytesIO(b"%PDF " + field.encode()),
                                            "application/pdf", EDU, work_item_id=item_id)["id"])
    first = driver.answer("budget_submission", {**ids, "other_attachments": None, "budget_amount": 455.5})
    tasks.complete(ctx, item_id, first, EDU)
    round_one = task_actions.get_task(ctx, item_id, EDU)
    assert round_one["previous_round"] is None and round_one["returned_reason"] is None
    review = driver.item(pid, "budget_review")
    task_actions.send_back(ctx, review.id, worker("市财政局"), "submit_budget", "预算明细不完整，请补充测算依据")
    again = driver.item(pid, "submit_budget")
    view = task_actions.get_task(ctx, again.id, EDU)
    assert view["round"] == 2
    assert view["returned_reason"] == "预算明细不完整，请补充测算依据"
    assert view["returned"]["unit"] == "市财政局" and view["returned"]["kind"] == "send_back"
    prev = view["previous_round"]
    assert prev["work_item_id"] == item_id and prev["round"] == 1
    assert prev["data"]["budget_amount"] == 455.5
    assert {k: prev["data"][k] for k in ids} == ids  # the same files, still linked
    # Round 2 completes with what was prefilled, untouched.
    drafts.save(ctx, again.id, EDU, {**prev["data"], "notes": "已补充"})
    tasks.complete(ctx, again.id, {**prev["data"], "notes": "已补充"}, EDU)
    assert _drafts(ctx) == 0


def test_a_plan_sent_round_again_by_the_review_decision_shows_its_opinion(ctx, driver):
    # 修改后重审 (第七条(三)) routes back to 编制建设方案 through the gateway, not through 退回.
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="write_plan")
    first = driver.item(pid, "write_plan")
    driver.run(pid, until="review_consolidate")
    driver.complete(pid, "review_consolidate", plan_review_result="修改后重审",
                    opinion="等保定级依据不足，请补充后重审")
    again = driver.item(pid, "write_plan")
    view = task_actions.get_task(ctx, again.id, EDU)
    assert view["round"] == 2 and view["previous_round"]["work_item_id"] == first.id
    assert view["returned"]["kind"] == "decision"
    assert view["returned_reason"] == "等保定级依据不足，请补充后重审"


def test_migration_0008_matches_the_model_and_downgrades(ctx, tmp_path):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine, inspect

    from service.storage.migrate import alembic_config, upgrade
    from service.storage.models import Base

    with ctx.db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "task_drafts" in repr(d)] == []
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "0007")
    engine = create_engine(url)
    try:
        assert "task_drafts" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    try:
        assert {c["name"] for c in inspect(engine).get_columns("task_drafts")} == {
            "id", "work_item_id", "username", "data", "updated_at"}
    finally:
        engine.dispose()
