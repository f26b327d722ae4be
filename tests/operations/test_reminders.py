"""Reminders, escalation levels across working days, late statutory filings, rectification,
legal clocks (补正/延期), graded warnings, calendar reschedule. "now" is always injected."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from service.channels.config import ChannelSettings
from service.domain.access import Actor
from service.domain.deadlines import Due
from service.domain.errors import RuleViolation
from service.operations import audit, clocks, late_filings, notifications, organisation, reminders, warnings
from service.operations.calendar import load_year
from service.scenario import worker
from service.storage.models import AuditRecord, Delivery, LateFiling, Notification, WorkItem, WorkItemClock
from tests.conftest import OPERATOR
from tests.operations.test_calendar_ops import SAMPLE_2027, contract_filing_signed

SUPERVISOR = Actor("督办员", "市大数据局", frozenset({"supervisor"}))
CFG = ChannelSettings(webhook_url="", base_url="https://govflow.example")


def bj(day: str, hour: int = 10) -> dt.datetime:
    """Beijing wall time as naive UTC (the storage convention)."""
    local = dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00")
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def set_due(ctx, item_id: int, due: dt.date, created: dt.datetime | None = None) -> None:
    with ctx.db.session() as s:
        item = s.get(WorkItem, item_id)
        item.due_date, item.due_at, item.due_provisional = due, Due(due, False, "test").at_utc, False
        if created:
            item.created_at = created
        clocks.rearm(ctx, s, item, bj("2000-01-01"), moved=False)
        s.get(WorkItemClock, item_id).original_due_date = due


def first_task(ctx, driver, due: dt.date, created: dt.datetime | None = None) -> WorkItem:
    pid = driver.declare("市教育局").project_id
    item = driver.open_items(pid)[0]
    set_due(ctx, item.id, due, created)
    with ctx.db.session() as s:  # the project's other open tasks stay out of the way
        for clock in s.scalars(select(WorkItemClock).where(WorkItemClock.work_item_id != item.id)):
            clock.fire_at = None
    for unit, role, mail in [(item.unit.name, "assignee", "office@unit.example"),
                             (item.unit.name, "leader", "leader@unit.example"),
                             ("市大数据局", "supervision", "duban@bigdata.example"),
                             ("市政府", "superior", "ducha@gov.example")]:
        reminders.set_contact(ctx, unit, role, mail)
    return item


def kinds(ctx, item_id: int) -> list[tuple[str, int]]:
    with ctx.db.session() as s:
        return [(n.kind, n.level) for n in s.scalars(select(Notification).where(Notification.work_item_id == item_id)
                                                      .order_by(Notification.id))]


def test_reminder_before_due_and_on_due_day_in_app_and_by_mail(ctx, driver):
    # Due Wednesday 2026-04-29: default remind_days 2 → Monday 04-27 09:00, and 04-29 09:00.
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    assert reminders.tick(ctx, bj("2026-04-27", 8), cfg=CFG).notifications == 0
    r = reminders.tick(ctx, bj("2026-04-27", 9), cfg=CFG)
    assert (r.notifications, r.deliveries) == (1, 1)
    assert reminders.tick(ctx, bj("2026-04-27", 15), cfg=CFG).notifications == 0  # not due again: idempotent
    assert reminders.tick(ctx, bj("2026-04-29", 9), cfg=CFG).notifications == 1
    assert kinds(ctx, item.id) == [("remind_before", 0), ("remind_due", 0)]
    unit = item.unit.name
    inbox = notifications.inbox(ctx, worker(unit), unread_only=True)
    assert [n.kind for n in inbox] == ["remind_due", "remind_before"]
    assert "今日（2026-04-29）到期" in inbox[0].subject and "https://govflow.example/tasks/" in inbox[0].body
    assert "已逾期" not in inbox[0].body  # a reminder is not about lateness
    notifications.mark_read(ctx, inbox[0].id, worker(unit))
    assert len(notifications.inbox(ctx, worker(unit), unread_only=True)) == 1
    with ctx.db.session() as s:
        targets = sorted(s.scalars(select(Delivery.target)))
    assert targets == ["office@unit.example", "office@unit.example"]


def test_escalation_levels_count_working_days_over_weekend_and_may_day(ctx, driver):
    # Due Wed 04-29. May 1-5 off (holiday + weekend), Sat 05-09 a 调休 working day.
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    reminders.tick(ctx, bj("2026-04-29"), cfg=CFG)
    reminders.tick(ctx, bj("2026-04-30"), cfg=CFG)  # 1 working day overdue → level 1
    reminders.tick(ctx, bj("2026-05-05"), cfg=CFG)  # still 1: the holiday does not count
    assert [k for k in kinds(ctx, item.id) if k[0] == "escalation"] == [("escalation", 1)]
    reminders.tick(ctx, bj("2026-05-06"), cfg=CFG)  # 2
    assert len(notifications.escalations(ctx)) == 1
    reminders.tick(ctx, bj("2026-05-07"), cfg=CFG)  # 3 → level 2
    reminders.tick(ctx, bj("2026-05-08"), cfg=CFG)  # 4
    reminders.tick(ctx, bj("2026-05-09"), cfg=CFG)  # 5 (Saturday worked) → level 3
    esc = notifications.escalations(ctx)
    assert [(n.level, n.payload["recipient_unit"], n.payload["overdue_working_days"]) for n in esc] == [
        (3, "市政府", 5), (2, "市大数据局", 3), (1, item.unit.name, 1)]
    assert "已逾期 3 个工作日" in esc[1].subject
    # A supervisor sees them by unit and stage; nothing is due any more.
    assert len(notifications.escalations(ctx, unit=item.unit.name, stage=item.stage)) == 3
    assert notifications.escalations(ctx, unit="市审计局") == []
    with ctx.db.session() as s:
        assert s.get(WorkItemClock, item.id).fire_at is None
        mails = sorted(s.scalars(select(Delivery.target).join(Notification)
                                 .where(Notification.kind == "escalation")))
    assert mails == ["duban@bigdata.example", "ducha@gov.example", "leader@unit.example"]
    assert reminders.tick(ctx, bj("2026-06-01"), cfg=CFG).clocks == 0


def test_tick_reads_only_due_clocks_and_skips_completed_tasks(ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    # The re-armed clock is read once, planned, and not again until its next alarm.
    assert reminders.tick(ctx, bj("2026-04-20"), cfg=CFG) == reminders.TickResult(1, 0, 0, 0)
    assert reminders.tick(ctx, bj("2026-04-21"), cfg=CFG).clocks == 0
    assert reminders.next_due(ctx) == clocks.local_at(dt.date(2026, 4, 27))
    with ctx.db.session() as s:
        s.get(WorkItem, item.id).state = "completed"
    assert reminders.tick(ctx, bj("2026-05-20"), cfg=CFG).notifications == 0
    assert reminders.next_due(ctx) is None


def test_late_statutory_filing_recorded_and_rectification_blocks_declaration(ctx, driver):
    item = contract_filing_signed(driver, ctx, "2026-09-28")  # 第十二条: due 2026-10-16
    assert item.due_date == dt.date(2026, 10, 16)
    reminders.tick(ctx, bj("2026-10-16", 23), cfg=CFG)
    assert late_filings.list_late(ctx) == []
    r = reminders.tick(ctx, bj("2026-10-17", 0), cfg=CFG)
    assert r.late_filings == 1
    [late] = late_filings.list_late(ctx, unit="市教育局")
    assert (late.task_name, late.article, late.due_date) == ("contract_filing", "第十二条", dt.date(2026, 10, 16))
    assert ("late_filing", 0) in kinds(ctx, item.id)
    reminders.tick(ctx, bj("2026-10-19"), cfg=CFG)
    assert len(late_filings.list_late(ctx)) == 1  # recorded once
    rect = late_filings.open_from_late(ctx, [late.id], SUPERVISOR, due_date=dt.date(2026, 11, 30))
    with pytest.raises(RuleViolation) as exc:
        driver.declare("市教育局")
    assert exc.value.article == "第二十七条"
    late_filings.close(ctx, rect, SUPERVISOR, note="已补办备案")
    driver.declare("市教育局")
    with ctx.db.session() as s:
        actions = list(s.scalars(select(AuditRecord.action).where(AuditRecord.project_id == item.project_id)))
        assert "rectification_opened" in actions and "rectification_closed" in actions
        assert audit.verify(s, item.project_id) is None


def test_manual_rectification_blocks_declaration(ctx, driver):
    rid = organisation.open_rectification(ctx, "市卫生健康委员会", "未按期报送自评报告", SUPERVISOR,
                                          due_date=dt.date(2026, 12, 31))
    with pytest.raises(RuleViolation):
        driver.declare("市卫生健康委员会", participants=[])
    late_filings.close(ctx, rid, SUPERVISOR)
    driver.declare("市卫生健康委员会", participants=[])


def test_paused_clock_and_extension_move_reminders_and_escalations(ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29), created=bj("2026-04-20"))
    reminders.tick(ctx, bj("2026-04-27"), cfg=CFG)  # remind_before sent
    clocks.pause(ctx, item.id, "缺少可行性研究报告，请补正", SUPERVISOR, now=bj("2026-04-27", 11))
    assert reminders.tick(ctx, bj("2026-04-29"), cfg=CFG).notifications == 0  # stopped: no due-day reminder
    [w] = warnings.warnings(ctx, grades=("green", "yellow", "red", "paused"), now=bj("2026-05-06"))
    # Frozen at 5 of 7 while stopped, and never graded: the reason instead (docs/clocks.md).
    assert w.paused and (w.grade, w.used_working_days) == ("paused", 5)
    assert w.label == "已暂停计时（补正：缺少可行性研究报告，请补正）" and w.overdue_working_days == 0
    # Resumed Thursday 04-30: 04-28, 04-29, 04-30 did not count → due 04-29 + 3 = 05-07.
    assert clocks.resume(ctx, item.id, SUPERVISOR, now=bj("2026-04-30")) == 3
    with ctx.db.session() as s:
        assert s.get(WorkItem, item.id).due_date == dt.date(2026, 5, 7)
    assert clocks.extend(ctx, item.id, 2, "需补充专家论证", SUPERVISOR, now=bj("2026-04-30", 12)) == dt.date(2026, 5, 9)
    with pytest.raises(RuleViolation):
        clocks.extend(ctx, item.id, 1, " ", SUPERVISOR)
    reminders.tick(ctx, bj("2026-05-07"), cfg=CFG)  # 2 working days before 05-09 → a new reminder
    reminders.tick(ctx, bj("2026-05-09"), cfg=CFG)
    reminders.tick(ctx, bj("2026-05-11"), cfg=CFG)  # 1 working day overdue
    assert kinds(ctx, item.id) == [("remind_before", 0), ("remind_before", 2), ("remind_due", 2), ("escalation", 1)]
    esc = notifications.escalations(ctx)[0]
    assert esc.payload["due_date"] == "2026-05-09" and esc.payload["overdue_working_days"] == 1
    clock = clocks.clock_of(ctx, item.id)
    assert (clock.paused_days, clock.extended_days, clock.original_due_date) == (3, 2, dt.date(2026, 4, 29))
    with ctx.db.session() as s:
        actions = set(s.scalars(select(AuditRecord.action).where(AuditRecord.work_item_id == item.id)))
    assert {"clock_paused", "clock_resumed", "deadline_extended"} <= actions


def test_graded_warnings_per_task_unit_and_stage(ctx, driver):
    # Created Mon 04-20, due Wed 04-29: 7 working days.
    item = first_task(ctx, driver, dt.date(2026, 4, 29), created=bj("2026-04-20"))
    unit, stage = item.unit.name, item.stage
    assert warnings.warnings(ctx, now=bj("2026-04-24")) == []  # 4/7: green
    [w] = warnings.warnings(ctx, unit=unit, now=bj("2026-04-28"))  # 6/7 ≥ 80 %
    assert (w.grade, w.label, w.used_working_days, w.total_working_days) == ("yellow", "黄牌", 6, 7)
    [w] = warnings.warnings(ctx, stage=stage, now=bj("2026-05-06"))
    assert (w.grade, w.label, w.overdue_working_days) == ("red", "红牌", 2)
    assert warnings.warnings(ctx, unit="市审计局", now=bj("2026-05-06")) == []
    assert warnings.summary(ctx, by="unit", now=bj("2026-05-06")) == {unit: {"yellow": 0, "red": 1}}
    assert warnings.summary(ctx, by="stage", now=bj("2026-04-28")) == {stage: {"yellow": 1, "red": 0}}


def test_loading_a_year_reschedules_reminders(ctx, driver):
    item = contract_filing_signed(driver, ctx, "2026-12-28")  # provisional 2027-01-11
    with ctx.db.session() as s:
        before = s.get(WorkItemClock, item.id)
        assert before.revision == 0 and before.fire_at == clocks.local_at(dt.date(2027, 1, 7))
    load_year(ctx, SAMPLE_2027.read_text(encoding="utf-8"), OPERATOR)
    with ctx.db.session() as s:
        after = s.get(WorkItemClock, item.id)
        assert after.revision == 1
    # The reminder now counts back from 2027-01-12: two working days → Fri 2027-01-08.
    reminders.tick(ctx, bj("2027-01-07"), cfg=CFG)
    assert kinds(ctx, item.id) == []
    reminders.tick(ctx, bj("2027-01-08"), cfg=CFG)
    with ctx.db.session() as s:
        n = s.scalar(select(Notification).where(Notification.work_item_id == item.id))
        assert (n.kind, n.level, n.payload["due_date"]) == ("remind_before", 1, "2027-01-12")
        assert s.scalar(select(LateFiling)) is None
