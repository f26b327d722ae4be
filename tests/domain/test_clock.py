"""One function for a clock's due date (base rule + pauses + extensions + calendar) and one reading
of it for every view. Real chinese-calendar data for 2026; the invented 2027 test sample."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from service.domain.calendar import WorkCalendar, parse_year_file
from service.domain.clock import Pause, clock_due, read_clock, shift_due
from service.domain.deadlines import Due

SAMPLE_2027 = Path(__file__).resolve().parent.parent / "data" / "calendar-2027-sample.json"
RULE = "working_days_after:contract_date:10"


def bj(day: str, hour: int = 10) -> dt.datetime:
    local = dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00")
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def loaded() -> WorkCalendar:
    return WorkCalendar([parse_year_file(SAMPLE_2027.read_text(encoding="utf-8"))])


def due(cal: WorkCalendar, contract: str, pauses=(), extensions=()) -> Due:  # type: ignore[no-untyped-def]
    result = clock_due(cal, created_at_utc=bj("2026-12-01"), sla_days=5, rule_text=RULE,
                       data={"contract_date": contract}, pauses=pauses, extensions=extensions)
    assert result is not None
    return result[1]


def test_extension_survives_loading_the_year() -> None:
    # The case: signed Fri 2026-12-25, 延期 +3. Estimated 2027 (Jan 1 a working Friday):
    # base 2027-01-08, +3 → 01-13. The sample makes Jan 1 a holiday: base 01-11, +3 → 01-14.
    assert due(WorkCalendar(), "2026-12-25") == Due(dt.date(2027, 1, 8), True, RULE)
    assert due(WorkCalendar(), "2026-12-25", extensions=[3]) == Due(dt.date(2027, 1, 13), True, RULE)
    assert due(loaded(), "2026-12-25", extensions=[3]) == Due(dt.date(2027, 1, 14), False, RULE)


def test_pause_across_an_unknown_year_is_recounted_and_provisional_until_loaded() -> None:
    # Signed 2026-12-01: base 2026-12-15 on official 2026 data. 补正 from Wed 12-30 to Tue 2027-01-05
    # counts (12-30, 01-05]: estimated 12-31, 01-01, 01-04, 01-05 = 4; with the sample 3.
    pause = Pause(dt.date(2026, 12, 30), dt.date(2027, 1, 5))
    assert due(WorkCalendar(), "2026-12-01") == Due(dt.date(2026, 12, 15), False, RULE)
    assert due(WorkCalendar(), "2026-12-01", [pause]) == Due(dt.date(2026, 12, 21), True, RULE)
    assert due(WorkCalendar(), "2026-12-01", [pause], [3]) == Due(dt.date(2026, 12, 24), True, RULE)
    assert due(loaded(), "2026-12-01", [pause], [3]) == Due(dt.date(2026, 12, 23), False, RULE)


def test_open_pause_adds_nothing_and_order_does_not_matter() -> None:
    cal = WorkCalendar()
    base = Due(dt.date(2026, 4, 29), False, "sla_days:7")
    open_pause = Pause(dt.date(2026, 4, 27), None)
    assert shift_due(cal, base, [open_pause]) == base
    closed = Pause(dt.date(2026, 4, 27), dt.date(2026, 4, 30))  # 04-28, 04-29, 04-30
    assert shift_due(cal, base, [closed], [2]).date == dt.date(2026, 5, 9)  # 05-09 is a 调休 Saturday
    carried = Pause(dt.date.min, None, days=3)
    assert shift_due(cal, base, [carried], [2]) == shift_due(cal, base, [closed], [2])


def _read(cal: WorkCalendar, due_day: dt.date, now: dt.datetime, **kw):  # type: ignore[no-untyped-def]
    return read_clock(cal, created_at_utc=bj("2026-04-20"), due_date=due_day,
                      due_at_utc=Due(due_day, False, "x").at_utc, provisional=False,
                      paused_at_utc=kw.get("paused_at"), paused_reason=kw.get("reason"),
                      paused_days=kw.get("paused_days", 0), now=now, share=0.8)


def test_reading_grades_levels_and_pause() -> None:
    cal = WorkCalendar()
    due_day = dt.date(2026, 4, 29)
    r = _read(cal, due_day, bj("2026-05-09", 10))  # overdue 04-30, 05-06, 07, 08, 09 (调休 Saturday) = 5
    assert (r.grade, r.label, r.overdue_working_days, r.working_days_left) == ("red", "红牌", 5, -5)
    assert (r.escalation_level, r.escalation_label) == (3, "三级督办")
    assert _read(cal, due_day, bj("2026-05-09", 8)).escalation_level == 2  # level 3 fires at 09:00
    # 延期 +5 moves the due day to 05-09: the same moment is no longer overdue at all.
    later = cal.add_working_days(due_day, 5).date
    assert later == dt.date(2026, 5, 9)
    r = _read(cal, later, bj("2026-05-09", 10))
    assert (r.grade, r.escalation_level, r.overdue_working_days, r.working_days_left) == ("yellow", 0, 0, 0)
    # Paused after it fell overdue: no grade, no level, the reason; days left frozen at the pause.
    r = _read(cal, due_day, bj("2026-05-20"), paused_at=bj("2026-05-06"), reason="缺少等保测评报告")
    assert (r.grade, r.label) == ("paused", "已暂停计时（补正：缺少等保测评报告）")
    assert (r.overdue_working_days, r.escalation_level, r.working_days_left) == (0, 0, -2)
