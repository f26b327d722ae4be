"""催办 and 延期申请 on both databases: who may, the once-per-working-day limit on a fixed clock,
approval on the statutory calendar (over the 2026 May Day holiday), refusal, one pending request
per task, and two users at once."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from service.domain.access import Actor
from service.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from service.operations import clocks, extension_requests, urge
from service.storage.models import AuditRecord, Delivery, ExtensionRequest, Notification, Urge, WorkItem
from tests.operations.test_concurrency import run_at_once
from tests.operations.test_reminders import SUPERVISOR, bj, first_task

DECLARER = Actor("edu", "市教育局", frozenset({"department"}))
HOLDER = Actor("civil", "市民政局", frozenset({"department"}))
STRANGER = Actor("health", "市卫生健康委员会", frozenset({"department"}))
AUDITOR = Actor("auditor", "市审计局", frozenset({"auditor"}))


def actions(ctx, project_id: int) -> list[str]:
    with ctx.db.session() as s:
        return list(s.scalars(select(AuditRecord.action).where(AuditRecord.project_id == project_id)
                              .order_by(AuditRecord.seq)))


def due_of(ctx, item_id: int) -> dt.date:
    with ctx.db.session() as s:
        item = s.get(WorkItem, item_id)
        assert item is not None and item.due_date is not None
        return item.due_date


def test_urge_once_per_working_day_with_message_and_audit(ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    assert item.unit.name == HOLDER.unit
    first = urge.urge(ctx, item.id, "请尽快出具初审意见", DECLARER, now=bj("2026-04-28", 10))
    assert first["working_day"] == "2026-04-28" and first["count"] == 1
    with pytest.raises(Conflict) as refused:
        urge.urge(ctx, item.id, "", SUPERVISOR, now=bj("2026-04-28", 16))
    assert "今日已催办过，请于下一个工作日（2026-04-29）再催办" in refused.value.message
    assert urge.urge(ctx, item.id, "", SUPERVISOR, now=bj("2026-04-29", 9))["count"] == 2
    # 2026-05-01..05 are the May Day holiday: an urge on 05-02 counts for Wednesday 05-06.
    assert urge.urge(ctx, item.id, "", DECLARER, now=bj("2026-05-02", 10))["working_day"] == "2026-05-06"
    with pytest.raises(Conflict):
        urge.urge(ctx, item.id, "", DECLARER, now=bj("2026-05-06", 10))
    with ctx.db.session() as s:
        notes = list(s.scalars(select(Notification).where(Notification.kind == "urge").order_by(Notification.id)))
        mails = list(s.scalars(select(Delivery.target).join(Notification, Notification.id == Delivery.notification_id)
                               .where(Notification.kind == "urge")))
    assert len(notes) == 3 and {n.unit_id for n in notes} == {item.unit_id}
    assert "请尽快出具初审意见" in notes[0].body and notes[0].subject.startswith("【催办】")
    assert mails == ["office@unit.example"] * 3
    assert actions(ctx, item.project_id).count("task_urged") == 3
    summary = urge.summary(ctx, SUPERVISOR)
    assert summary["total"] == 3 and summary["by_unit"] == [{"unit": "市民政局", "urges": 3, "tasks": 1}]
    assert summary["tasks"][0]["work_item_id"] == item.id and summary["tasks"][0]["urges"] == 3
    with pytest.raises(Forbidden):
        urge.summary(ctx, DECLARER)


def test_who_may_urge(ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    with pytest.raises(Forbidden):
        urge.urge(ctx, item.id, "", HOLDER, now=bj("2026-04-28"))  # the holder does not urge itself
    with pytest.raises(NotFound):
        urge.urge(ctx, item.id, "", STRANGER, now=bj("2026-04-28"))  # another unit's task does not exist
    with pytest.raises(Forbidden):
        urge.urge(ctx, item.id, "", AUDITOR, now=bj("2026-04-28"))  # 审计 reads, changes nothing
    with pytest.raises(ValidationFailed):
        urge.urge(ctx, item.id, "长" * 501, DECLARER, now=bj("2026-04-28"))
    with ctx.db.session() as s:
        assert s.scalars(select(Urge)).all() == []


def test_request_approved_moves_due_date_over_the_holiday(ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    req = extension_requests.request(ctx, item.id, 3, "需补充跨部门数据共享材料", HOLDER, now=bj("2026-04-28"))
    assert req["state"] == "pending" and req["due_date"] == "2026-04-29"
    page = extension_requests.requests_page(ctx, SUPERVISOR)
    assert [r["id"] for r in page["items"]] == [req["id"]] and page["items"][0]["project"]["id"] == item.project_id
    with pytest.raises(Forbidden):
        extension_requests.decide(ctx, req["id"], True, "", HOLDER)
    done = extension_requests.decide(ctx, req["id"], True, "同意", SUPERVISOR, now=bj("2026-04-28", 15))
    # Three working days after Wednesday 04-29: Thursday 04-30, then 05-06 and 05-07 (May 1–5 off).
    assert done["state"] == "approved" and done["new_due_date"] == "2026-05-07"
    assert due_of(ctx, item.id) == dt.date(2026, 5, 7)
    assert clocks.clock_of(ctx, item.id).extended_days == 3
    with pytest.raises(Conflict):
        extension_requests.decide(ctx, req["id"], False, "x", SUPERVISOR)
    assert extension_requests.requests_page(ctx, SUPERVISOR)["total"] == 0
    assert actions(ctx, item.project_id)[-2:] == ["extension_requested", "deadline_extended"]
    with ctx.db.session() as s:
        extended = s.scalars(select(AuditRecord).where(AuditRecord.action == "deadline_extended")).one()
        kinds = sorted(s.scalars(select(Notification.kind).where(Notification.work_item_id == item.id)))
    assert extended.detail["extension_request_id"] == req["id"] and extended.detail["due_date"] == "2026-05-07"
    assert kinds == ["extension_decided", "extension_requested"]
    view = extension_requests.for_task(ctx, item.id, HOLDER)
    assert view["extension_requests"][0]["new_due_date"] == "2026-05-07" and view["may"]["request_extension"]


def test_request_refused_second_pending_and_wrong_people(ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    with pytest.raises(Forbidden):
        extension_requests.request(ctx, item.id, 3, "x", DECLARER)  # not the task's unit
    with pytest.raises(NotFound):
        extension_requests.request(ctx, item.id, 3, "x", STRANGER)
    for days in (0, 31, "3", True):
        with pytest.raises(ValidationFailed):
            extension_requests.request(ctx, item.id, days, "理由", HOLDER)
    with pytest.raises(ValidationFailed):
        extension_requests.request(ctx, item.id, 3, "  ", HOLDER)
    req = extension_requests.request(ctx, item.id, 5, "等待上级批复", HOLDER)
    with pytest.raises(Conflict):
        extension_requests.request(ctx, item.id, 2, "再申请", HOLDER)
    assert not extension_requests.for_task(ctx, item.id, HOLDER)["may"]["request_extension"]
    with pytest.raises(ValidationFailed):
        extension_requests.decide(ctx, req["id"], False, "", SUPERVISOR)  # refusing says why
    refused = extension_requests.decide(ctx, req["id"], False, "理由不充分", SUPERVISOR)
    assert refused["state"] == "refused" and refused["new_due_date"] is None
    assert due_of(ctx, item.id) == dt.date(2026, 4, 29)
    assert "extension_refused" in actions(ctx, item.project_id)
    # Refused, the unit may ask again.
    assert extension_requests.request(ctx, item.id, 2, "补充说明后再次申请", HOLDER)["state"] == "pending"


def test_supervisor_extends_a_task_not_yet_overdue(ctx, driver):
    item = first_task(ctx, driver, dt.date(2030, 4, 29))
    assert extension_requests.for_task(ctx, item.id, SUPERVISOR)["may"]["extend"]
    assert not extension_requests.for_task(ctx, item.id, HOLDER)["may"]["extend"]
    assert clocks.extend(ctx, item.id, 2, "提前协调", SUPERVISOR, now=bj("2030-04-01")) == dt.date(2030, 5, 1)


def test_two_urges_at_once_store_one(ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    now = bj("2026-04-28")
    out = run_at_once([lambda: urge.urge(ctx, item.id, "甲", DECLARER, now=now),
                       lambda: urge.urge(ctx, item.id, "乙", SUPERVISOR, now=now)])
    assert sorted(kind for kind, _ in out) == ["conflict", "ok"], out
    with ctx.db.session() as s:
        assert len(s.scalars(select(Urge)).all()) == 1
    assert actions(ctx, item.project_id).count("task_urged") == 1


def test_two_approvals_of_one_request_at_once(ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    req = extension_requests.request(ctx, item.id, 3, "理由", HOLDER)
    other = Actor("督办员乙", "市大数据局", frozenset({"supervisor"}))
    out = run_at_once([lambda: extension_requests.decide(ctx, req["id"], True, "", SUPERVISOR),
                       lambda: extension_requests.decide(ctx, req["id"], True, "", other)])
    assert sorted(kind for kind, _ in out) == ["conflict", "ok"], out
    assert due_of(ctx, item.id) == dt.date(2026, 5, 7)  # moved once, not twice
    with ctx.db.session() as s:
        assert s.get(ExtensionRequest, req["id"]).state == "approved"
    assert actions(ctx, item.project_id).count("deadline_extended") == 1


def test_two_requests_at_once_keep_one_pending(ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    colleague = Actor("civil2", "市民政局", frozenset({"department"}))
    out = run_at_once([lambda: extension_requests.request(ctx, item.id, 3, "甲", HOLDER),
                       lambda: extension_requests.request(ctx, item.id, 4, "乙", colleague)])
    assert sorted(kind for kind, _ in out) == ["conflict", "ok"], out
    with ctx.db.session() as s:
        assert len(s.scalars(select(ExtensionRequest)).all()) == 1
