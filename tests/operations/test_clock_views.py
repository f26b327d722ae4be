"""Issue 12: every view of a task's deadline derives from one clock. Loading a calendar year keeps
granted 延期 and 补正 pauses; the dashboard's level follows the moved date; a paused task shows its
补正 reason, not an overdue grade. "now" is always injected."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from service.operations import clocks, notifications, readers, reminders, warnings
from service.operations.calendar import load_year
from service.scenario import worker
from service.storage.models import AuditRecord, WorkItem, WorkItemClock
from tests.conftest import OPERATOR
from tests.operations.test_calendar_ops import SAMPLE_2027, contract_filing_signed
from tests.operations.test_reminders import CFG, SUPERVISOR, bj, first_task, kinds


def _row(ctx, item_id: int) -> tuple[WorkItem, WorkItemClock]:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        item, clock = s.get(WorkItem, item_id), s.get(WorkItemClock, item_id)
        s.expunge_all()
        return item, clock


def test_loading_2027_keeps_extensions_and_pauses(ctx, driver):  # type: ignore[no-untyped-def]
    # 第十二条, signed Fri 2026-12-25: 10 working days, estimated 2027 → 2027-01-08; 延期 +3 → 01-13.
    a = contract_filing_signed(driver, ctx, "2026-12-25")
    assert (a.due_date, a.due_provisional) == (dt.date(2027, 1, 8), True)
    assert clocks.extend(ctx, a.id, 3, "供应商资质材料待补", SUPERVISOR, now=bj("2026-12-28")) == dt.date(2027, 1, 13)
    # Signed 2026-12-01 → 2026-12-15 on official data; 补正 from 12-30 to 2027-01-05 counts 4 estimated
    # working days (12-31, 01-01, 01-04, 01-05) → 12-21, provisional again; 延期 +3 → 12-24.
    b = contract_filing_signed(driver, ctx, "2026-12-01", year=2028)
    assert (b.due_date, b.due_provisional) == (dt.date(2026, 12, 15), False)
    clocks.pause(ctx, b.id, "合同附件不全，请补正", SUPERVISOR, now=bj("2026-12-30"))
    assert clocks.resume(ctx, b.id, SUPERVISOR, now=bj("2027-01-05")) == 4
    assert clocks.extend(ctx, b.id, 3, "需补充分包说明", SUPERVISOR, now=bj("2027-01-05", 11)) == dt.date(2026, 12, 24)
    item, clock = _row(ctx, b.id)
    assert (item.due_date, item.due_provisional, clock.paused_days) == (dt.date(2026, 12, 24), True, 4)

    result = load_year(ctx, SAMPLE_2027.read_text(encoding="utf-8"), OPERATOR)
    assert result.recomputed >= 2
    # The sample makes 2027-01-01 a holiday: base 01-11, + 3 → 01-14 (the bug gave 01-11).
    item, clock = _row(ctx, a.id)
    assert (item.due_date, item.due_provisional) == (dt.date(2027, 1, 14), False)
    assert (clock.extended_days, clock.original_due_date) == (3, dt.date(2027, 1, 11))
    # The pause now counts 3 (01-01 is off): 12-15 + 3 + 3 → 12-23 (the bug gave 12-15).
    item, clock = _row(ctx, b.id)
    assert (item.due_date, item.due_provisional) == (dt.date(2026, 12, 23), False)
    assert (clock.paused_days, clock.extended_days, clock.original_due_date) == (3, 3, dt.date(2026, 12, 15))
    with ctx.db.session() as s:
        rec = s.scalars(select(AuditRecord).where(AuditRecord.work_item_id == a.id,
                                                  AuditRecord.action == "deadline_recomputed")).one()
        assert (rec.detail["old"], rec.detail["new"], rec.detail["base"]) == ("2027-01-13", "2027-01-14", "2027-01-11")
    # Views read the same date: the reminder counts back from 01-14.
    [w] = warnings.warnings(ctx, project_id=a.project_id, grades=("green", "yellow", "red", "paused"),
                            now=bj("2027-01-14"))
    assert (w.due_date, w.grade, w.working_days_left) == (dt.date(2027, 1, 14), "yellow", 0)


def test_dashboard_level_follows_the_extended_date(ctx, driver):  # type: ignore[no-untyped-def]
    # Due Wed 2026-04-29; by Sat 05-09 (调休 working day) 5 working days overdue: levels 1, 2, 3 sent.
    item = first_task(ctx, driver, dt.date(2026, 4, 29), created=bj("2026-04-20"))
    for day in ("2026-04-30", "2026-05-07", "2026-05-09"):
        reminders.tick(ctx, bj(day), cfg=CFG)
    assert [k for k in kinds(ctx, item.id) if k[0] == "escalation"] == [("escalation", 1), ("escalation", 2),
                                                                        ("escalation", 3)]
    [w] = warnings.warnings(ctx, project_id=item.project_id, now=bj("2026-05-09"))
    assert (w.grade, w.level, w.level_label, w.overdue_working_days) == ("red", 3, "三级督办", 5)
    # 延期 +5 → due 05-09 itself: not overdue, so no level at all — the sent escalations stay history.
    assert clocks.extend(ctx, item.id, 5, "专家评审延后", SUPERVISOR, now=bj("2026-05-09")) == dt.date(2026, 5, 9)
    [w] = warnings.warnings(ctx, project_id=item.project_id, now=bj("2026-05-09", 11))
    assert (w.grade, w.level, w.level_label, w.overdue_working_days, w.working_days_left) == ("yellow", 0, None, 0, 0)
    assert max(n.level for n in notifications.escalations(ctx)) == 3
    # One working day later it is overdue again from the new date: level 1 only.
    [w] = warnings.warnings(ctx, project_id=item.project_id, now=bj("2026-05-11", 10))
    assert (w.grade, w.level, w.overdue_working_days) == ("red", 1, 1)


def test_paused_task_shows_the_reason_not_an_overdue_grade(ctx, driver):  # type: ignore[no-untyped-def]
    # Due 04-29, paused on 05-12 after 7 working days overdue (04-30, 05-06 … 05-09, 05-11, 05-12).
    item = first_task(ctx, driver, dt.date(2026, 4, 29), created=bj("2026-04-20"))
    unit = item.unit.name
    before = [r for r in readers.inbox(ctx, worker(unit), now=bj("2026-05-12")) if r["id"] == item.id][0]
    assert (before["working_days_left"], before["warning"], before["paused"]) == (-7, "red", False)
    clocks.pause(ctx, item.id, "缺少等保测评报告，请补正", worker(unit), now=bj("2026-05-12", 11))
    row = [r for r in readers.inbox(ctx, worker(unit), now=bj("2026-05-20")) if r["id"] == item.id][0]
    assert (row["paused"], row["warning"], row["paused_reason"]) == (True, None, "缺少等保测评报告，请补正")
    assert row["clock_label"] == "已暂停计时（补正：缺少等保测评报告，请补正）"
    [w] = warnings.warnings(ctx, unit=unit, now=bj("2026-05-20"))
    assert (w.grade, w.label, w.overdue_working_days, w.level) == ("paused", row["clock_label"], 0, 0)
    assert warnings.summary(ctx, now=bj("2026-05-20")) == {}  # neither 黄牌 nor 红牌 while stopped
    # No reminder or escalation while stopped.
    sent = len(kinds(ctx, item.id))
    reminders.tick(ctx, bj("2026-05-20"), cfg=CFG)
    assert len(kinds(ctx, item.id)) == sent


def test_a_date_moved_outside_the_clock_is_the_base_of_the_next_extension(ctx, driver):  # type: ignore[no-untyped-def]
    from service.domain.deadlines import Due

    item = first_task(ctx, driver, dt.date(2026, 4, 29), created=bj("2026-04-20"))
    with ctx.db.session() as s:  # an old row: the date moved, the clock's base not
        row = s.get(WorkItem, item.id)
        row.due_date, row.due_at = dt.date(2026, 6, 1), Due(dt.date(2026, 6, 1), False, "test").at_utc
    assert clocks.extend(ctx, item.id, 2, "补充论证", SUPERVISOR, now=bj("2026-05-20")) == dt.date(2026, 6, 3)
    _, clock = _row(ctx, item.id)
    assert (clock.original_due_date, clock.extended_days) == (dt.date(2026, 6, 1), 2)
