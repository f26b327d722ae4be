"""代理 through the service layer, on both databases: within the period the substitute works the
absent user's claimed and assigned tasks (audited on_behalf_of), not before and not after; naming
and cancelling are audited on the unit's chain and told to the substitute."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from service.domain.access import Actor
from service.domain.errors import BadField, Conflict, NotFound
from service.operations import audit, drafts, identity, substitutes, task_actions, tasks, worklists
from service.storage.models import AuditRecord, Notification, Substitute, Unit, WorkItem
from tests.operations.test_concurrency import run_at_once

ALICE = Actor("alice", "市民政局", frozenset({"department"}))
BOB = Actor("bob", "市民政局", frozenset({"department"}))
CAROL = Actor("carol", "市教育局", frozenset({"department"}))


@pytest.fixture
def people(ctx):  # type: ignore[no-untyped-def]
    identity.create_user(ctx, "alice", unit="市民政局", roles=["department"], password=None, display_name="赵文静")
    identity.create_user(ctx, "bob", unit="市民政局", roles=["department"], password=None, display_name="钱伟")
    identity.create_user(ctx, "dan", unit="市民政局", roles=["department"], password=None, display_name="孙丽")
    identity.create_user(ctx, "carol", unit="市教育局", roles=["department"], password=None)


def _today() -> dt.date:
    return substitutes.today()


def _period(who: str = "bob", start: int = 0, end: int = 3) -> dict[str, str]:
    t = _today()
    return {"substitute": who, "starts_on": (t + dt.timedelta(days=start)).isoformat(),
            "ends_on": (t + dt.timedelta(days=end)).isoformat()}


def _claimed(ctx, driver) -> WorkItem:  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, participants=["市民政局"]).project_id
    item = driver.item(pid, "confirm_declaration")
    tasks.claim(ctx, item.id, ALICE)
    return item


def test_substitute_completes_the_absent_users_task_within_the_period(ctx, driver, people):
    item = _claimed(ctx, driver)
    data = driver.answer(item.form)
    with pytest.raises(Conflict, match="赵文静 认领"):
        tasks.complete(ctx, item.id, data, BOB)
    row = substitutes.name_substitute(ctx, ALICE, _period())
    assert (row["state"], row["substitute_name"], row["username_name"]) == ("running", "钱伟", "赵文静")
    # 待办: the substitute finds it under 只看我认领的, marked as done for alice.
    page = worklists.tasks_page(ctx, BOB, view="todo", assigned_to_me=True)
    assert [(r["id"], r["on_behalf_of"]) for r in page["items"]] == [(item.id, "alice")]
    assert page["total"] == 1
    assert worklists.tasks_page(ctx, Actor("dan", "市民政局", frozenset({"department"})), view="todo",
                                assigned_to_me=True)["total"] == 0
    drafts.save(ctx, item.id, BOB, {"responsibilities": "代为确认"})
    tasks.complete(ctx, item.id, data, BOB)
    with ctx.db.session() as s:
        done = s.get(WorkItem, item.id)
        assert (done.state, done.completed_by, done.assignee) == ("completed", "bob", "alice")
        record = s.scalars(select(AuditRecord).where(AuditRecord.work_item_id == item.id,
                                                     AuditRecord.action == "task_completed")).one()
        assert record.actor == "bob" and record.detail["on_behalf_of"] == "alice"
        assert audit.verify(s, item.project_id) is None


def test_not_before_and_not_after_the_period(ctx, driver, people):
    item = _claimed(ctx, driver)
    data = driver.answer(item.form)
    planned = substitutes.name_substitute(ctx, ALICE, _period(start=1, end=5))
    assert planned["state"] == "planned"
    with pytest.raises(Conflict):
        tasks.complete(ctx, item.id, data, BOB)
    assert worklists.tasks_page(ctx, BOB, view="todo", assigned_to_me=True)["total"] == 0
    with ctx.db.session() as s:  # the period is over: yesterday was its last day
        s.execute(update(Substitute).values(starts_on=_today() - dt.timedelta(days=4),
                                            ends_on=_today() - dt.timedelta(days=1)))
    with pytest.raises(Conflict):
        tasks.complete(ctx, item.id, data, BOB)
    with pytest.raises(Conflict):
        tasks.unclaim(ctx, item.id, BOB)


def test_cancelled_substitute_no_longer_works_and_both_are_audited(ctx, driver, people):
    item = _claimed(ctx, driver)
    row = substitutes.name_substitute(ctx, ALICE, _period())
    tasks.unclaim(ctx, item.id, BOB)  # the substitute may release it back to the unit
    tasks.claim(ctx, item.id, ALICE)
    with pytest.raises(NotFound):
        substitutes.cancel(ctx, BOB, row["id"])
    substitutes.cancel(ctx, ALICE, row["id"])
    with pytest.raises(Conflict):
        substitutes.cancel(ctx, ALICE, row["id"])
    with pytest.raises(Conflict):
        tasks.complete(ctx, item.id, driver.answer(item.form), BOB)
    with ctx.db.session() as s:
        unit = s.scalar(select(Unit).where(Unit.name == "市民政局"))
        actions = list(s.scalars(select(AuditRecord.action).where(AuditRecord.unit_id == unit.id)
                                 .order_by(AuditRecord.seq)))
        assert actions[-2:] == ["substitute_named", "substitute_cancelled"]
        assert audit.verify_unit(s, unit.id) is None
        unclaimed = s.scalars(select(AuditRecord).where(AuditRecord.work_item_id == item.id,
                                                        AuditRecord.action == "task_unclaimed")).one()
        assert unclaimed.actor == "bob" and unclaimed.detail["on_behalf_of"] == "alice"
        notes = list(s.scalars(select(Notification).where(Notification.kind == "substitute")
                               .order_by(Notification.id)))
        assert [n.project_id for n in notes] == [None, None] and notes[0].unit_id == unit.id
        assert "钱伟" in notes[0].subject and "赵文静" in notes[0].subject


def test_delegated_task_the_substitute_hands_back_not_submits(ctx, driver, people):
    pid = driver.declare("市教育局", budget_year=2027, participants=["市民政局"]).project_id
    item = driver.item(pid, "confirm_declaration")
    task_actions.delegate(ctx, item.id, BOB, "alice")  # bob delegates to alice, who is away
    substitutes.name_substitute(ctx, ALICE, _period("dan"))
    dan = Actor("dan", "市民政局", frozenset({"department"}))
    with pytest.raises(Conflict, match="交回"):
        tasks.complete(ctx, item.id, driver.answer(item.form), dan)
    view = task_actions.return_delegation(ctx, item.id, dan)
    assert view["assignee"] == "bob"


@pytest.mark.parametrize("change, field", [
    ({"substitute": "alice"}, "substitute"), ({"substitute": "carol"}, "substitute"),
    ({"substitute": "nobody"}, "substitute"), ({"starts_on": "2000-01-01"}, "starts_on"),
    ({"ends_on": "2000-01-01"}, "ends_on"), ({"starts_on": "2027-02-30"}, "starts_on"),
])
def test_refusals_name_the_field(ctx, people, change, field):
    with pytest.raises(BadField) as exc:
        substitutes.name_substitute(ctx, ALICE, {**_period(), **change})
    assert exc.value.errors[0].path == field


def test_period_at_most_ninety_days_and_no_overlap(ctx, people):
    with pytest.raises(BadField, match="90"):
        substitutes.name_substitute(ctx, ALICE, _period(end=90))
    substitutes.name_substitute(ctx, ALICE, _period(end=89))
    with pytest.raises(Conflict, match="重叠"):
        substitutes.name_substitute(ctx, ALICE, _period("dan", start=10, end=20))
    with pytest.raises(Conflict, match="本人也不在岗"):
        substitutes.name_substitute(ctx, Actor("dan", "市民政局", frozenset({"department"})), _period("alice"))
    with pytest.raises(BadField):  # alice is no colleague of carol's
        substitutes.name_substitute(ctx, CAROL, _period("alice"))


def test_two_overlapping_definitions_at_once_one_wins(ctx, people):
    results = run_at_once([lambda: substitutes.name_substitute(ctx, ALICE, _period("bob", 0, 5)),
                           lambda: substitutes.name_substitute(ctx, ALICE, _period("dan", 3, 8))])
    assert sorted(kind for kind, _ in results) == ["conflict", "ok"], results
    with ctx.db.session() as s:
        assert len(list(s.scalars(select(Substitute)))) == 1
        unit_id = s.scalar(select(Unit.id).where(Unit.name == "市民政局"))
        assert audit.verify_unit(s, unit_id) is None
