"""The statutory working-day calendar.

2026 facts below were read from chinesecalendar 1.11.0 (not assumed): 春节 off 2026-02-15..02-23 with
调休 working Saturdays 02-14 and 02-28; 中秋 off 09-25..09-27; 国庆 off 10-01..10-07 with 调休
working Sunday 09-20 and Saturday 10-10. The 2027 file is an invented test sample."""
from __future__ import annotations

import copy
import json
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest

from service.domain.calendar import (
    CalendarFileError,
    Deadline,
    WorkCalendar,
    YearArrangement,
    parse_year_file,
)
from service.domain.errors import GovflowError

SAMPLE_2027 = Path(__file__).resolve().parent.parent / "data" / "calendar-2027-sample.json"


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


@pytest.fixture
def sample_text() -> str:
    return SAMPLE_2027.read_text(encoding="utf-8")


@pytest.fixture
def sample() -> YearArrangement:
    return parse_year_file(SAMPLE_2027.read_text(encoding="utf-8"))


def _days(start: str, end: str) -> list[date]:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --- the packaged facts the expectations below rely on -------------------------------------------

def test_package_2026_spring_festival_and_national_day_as_expected() -> None:
    feb_off = [d for d in _days("2026-02-01", "2026-02-28") if not chinese_calendar.is_workday(d)]
    feb_weekend_work = [d for d in _days("2026-02-01", "2026-02-28")
                        if d.weekday() >= 5 and chinese_calendar.is_workday(d)]
    weekends = [d for d in _days("2026-02-01", "2026-02-28") if d.weekday() >= 5]
    feb_weekdays_off = [d for d in feb_off if d not in weekends]
    assert feb_weekdays_off == [*_days("2026-02-16", "2026-02-20"), date(2026, 2, 23)]
    assert all(not chinese_calendar.is_workday(d) for d in _days("2026-02-15", "2026-02-23"))
    assert feb_weekend_work == [date(2026, 2, 14), date(2026, 2, 28)]

    autumn_off = [d for d in _days("2026-09-14", "2026-10-18") if d.weekday() < 5
                  and not chinese_calendar.is_workday(d)]
    assert autumn_off == [date(2026, 9, 25), *_days("2026-10-01", "2026-10-02"),
                          *_days("2026-10-05", "2026-10-07")]
    assert chinese_calendar.is_workday(date(2026, 10, 8))  # National Day 2026 ends on 7 October
    autumn_weekend_work = [d for d in _days("2026-09-14", "2026-10-18")
                           if d.weekday() >= 5 and chinese_calendar.is_workday(d)]
    assert autumn_weekend_work == [date(2026, 9, 20), date(2026, 10, 10)]
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


# --- single days ----------------------------------------------------------------------------------

def test_days_follow_the_package_including_makeup_weekends(cal: WorkCalendar) -> None:
    for d in _days("2025-01-01", "2026-12-31"):
        assert cal.is_workday(d) == chinese_calendar.is_workday(d), d
        assert cal.day_basis(d) == "official"


def test_unknown_year_is_weekends_only_and_estimated(cal: WorkCalendar) -> None:
    assert cal.is_workday(date(2027, 1, 1))  # a Friday; its holiday is unknown without data
    assert not cal.is_workday(date(2027, 1, 2))
    assert cal.day_basis(date(2027, 1, 1)) == "estimated"
    assert cal.is_workday(date(2030, 10, 1))
    assert cal.day_basis(date(2030, 10, 1)) == "estimated"
    assert cal.known_years()[2026] == "official"
    assert 2027 not in cal.known_years()


# --- add_working_days -----------------------------------------------------------------------------

def test_spring_festival_2026_skips_days_off_and_counts_makeup_saturdays(cal: WorkCalendar) -> None:
    start = date(2026, 2, 12)  # Thursday before the holiday
    assert cal.add_working_days(start, 1).date == date(2026, 2, 13)
    assert cal.add_working_days(start, 2).date == date(2026, 2, 14)  # 调休 Saturday counts
    assert cal.add_working_days(start, 3).date == date(2026, 2, 24)  # 15–23 off
    ten = cal.add_working_days(start, 10)
    # 13, 14(Sat), 24, 25, 26, 27, 28(Sat), 2 Mar, 3, 4
    assert ten == Deadline(date(2026, 3, 4), provisional=False, basis="official")


def test_national_day_2026_ten_working_days_after_28_september(cal: WorkCalendar) -> None:
    # 29, 30 Sep; 8, 9, 10(Sat, 调休), 12, 13, 14, 15, 16 Oct
    assert cal.add_working_days(date(2026, 9, 28), 10) == Deadline(date(2026, 10, 16), False, "official")
    # 中秋 25–27 Sep is skipped and the 调休 Sunday 20 Sep counts.
    assert cal.add_working_days(date(2026, 9, 18), 1).date == date(2026, 9, 20)
    assert cal.add_working_days(date(2026, 9, 24), 1).date == date(2026, 9, 28)


def test_zero_days_is_the_day_itself_or_the_next_working_day(cal: WorkCalendar) -> None:
    assert cal.add_working_days(date(2026, 9, 30), 0).date == date(2026, 9, 30)
    assert cal.add_working_days(date(2026, 10, 1), 0).date == date(2026, 10, 8)
    assert cal.add_working_days(date(2026, 10, 10), 0).date == date(2026, 10, 10)  # 调休 Saturday
    estimated = cal.add_working_days(date(2027, 1, 2), 0)
    assert estimated == Deadline(date(2027, 1, 4), provisional=True, basis="estimated")


def test_negative_days_rejected(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="不能为负数"):
        cal.add_working_days(date(2026, 1, 5), -1)


def test_deadline_into_2027_is_provisional_until_the_year_is_loaded(
        cal: WorkCalendar, sample: YearArrangement) -> None:
    start = date(2026, 12, 28)
    # Estimate: 29, 30, 31 Dec; 1 Jan (a Friday), 4–8 Jan, 11 Jan.
    before = cal.add_working_days(start, 10)
    assert before == Deadline(date(2027, 1, 11), provisional=True, basis="estimated")

    cal.load_year(sample)
    # Sample: 1–3 Jan off, so 29, 30, 31 Dec; 4–8 Jan; 11, 12 Jan.
    after = cal.add_working_days(start, 10)
    assert after == Deadline(date(2027, 1, 12), provisional=False, basis="operator")
    assert cal.known_years()[2027] == "operator"
    assert cal.day_basis(date(2027, 1, 1)) == "operator"
    assert not cal.is_workday(date(2027, 1, 1))


def test_loaded_2027_spring_festival_sample(cal: WorkCalendar, sample: YearArrangement) -> None:
    start = date(2027, 2, 4)
    assert cal.add_working_days(start, 3) == Deadline(date(2027, 2, 9), True, "estimated")
    cal.load_year(sample)
    # 5 Feb; 15–19 Feb; 20 Feb (调休 Saturday); 22, 23, 24 Feb
    assert cal.add_working_days(start, 3) == Deadline(date(2027, 2, 16), False, "operator")
    assert cal.add_working_days(start, 10) == Deadline(date(2027, 2, 24), False, "operator")


def test_estimated_year_before_a_loaded_one_keeps_the_result_provisional(sample: YearArrangement) -> None:
    next_year = YearArrangement(2028, frozenset({date(2028, 1, 3)}), frozenset())
    cal = WorkCalendar([next_year])
    # 31 Dec 2027 (estimated), then 4, 5 Jan 2028 (3 Jan is off by the loaded 2028)
    due = cal.add_working_days(date(2027, 12, 30), 3)
    assert due == Deadline(date(2028, 1, 5), provisional=True, basis="estimated")


def test_operator_year_replaces_the_package_for_that_year(cal: WorkCalendar) -> None:
    cal.add_working_days(date(2026, 2, 12), 3)  # warm the cache for 2026 first
    cal.load_year(YearArrangement(2026, frozenset({date(2026, 3, 2)}), frozenset(), note="correction"))
    assert cal.day_basis(date(2026, 2, 16)) == "operator"
    assert cal.is_workday(date(2026, 2, 16))  # the loaded file is the whole truth for 2026
    assert not cal.is_workday(date(2026, 2, 14))
    assert not cal.is_workday(date(2026, 3, 2))
    assert cal.add_working_days(date(2026, 2, 27), 1) == Deadline(date(2026, 3, 3), False, "operator")


def test_far_unknown_years_never_crash(cal: WorkCalendar) -> None:
    due = cal.add_working_days(date(2030, 6, 28), 5)  # Friday
    assert due == Deadline(date(2030, 7, 5), provisional=True, basis="estimated")
    long = cal.add_working_days(date(2026, 6, 1), 1000)
    assert long.provisional
    assert cal.working_days_between(date(2026, 6, 1), long.date) == 1000


@pytest.mark.parametrize("n", [0, 1, 2, 5, 10, 15, 20, 30, 60, 250])
def test_between_inverts_add(cal: WorkCalendar, sample: YearArrangement, n: int) -> None:
    cal.load_year(sample)
    for start in _days("2025-12-20", "2027-12-31")[::3]:
        due = cal.add_working_days(start, n).date
        assert cal.is_workday(due)
        if n:
            assert cal.working_days_between(start, due) == n
            assert cal.working_days_between(start, due - timedelta(days=1)) == n - 1


# --- add_months -----------------------------------------------------------------------------------

def test_months_ending_on_a_holiday_roll_to_the_next_working_day(cal: WorkCalendar) -> None:
    assert cal.add_months(date(2025, 10, 1), 12) == Deadline(date(2026, 10, 8), False, "official")
    assert cal.add_months(date(2025, 2, 16), 12).date == date(2026, 2, 24)
    assert cal.add_months(date(2025, 6, 6), 12).date == date(2026, 6, 8)  # a Saturday → Monday
    assert cal.add_months(date(2025, 6, 5), 12).date == date(2026, 6, 5)  # a working Friday stays


def test_months_clip_to_the_end_of_a_shorter_month(cal: WorkCalendar) -> None:
    assert cal.add_months(date(2024, 1, 31), 1).date == date(2024, 2, 29)
    assert cal.add_months(date(2025, 1, 31), 1).date == date(2025, 2, 28)
    # 28 Feb 2026 is a Saturday, but a 调休 working day: the period ends there.
    assert cal.add_months(date(2026, 1, 31), 1).date == date(2026, 2, 28)
    assert cal.add_months(date(2026, 3, 31), 1).date == date(2026, 4, 30)
    assert cal.add_months(date(2025, 8, 31), 3).date == date(2025, 12, 1)  # clipped to Sunday 30 Nov, rolled
    assert cal.add_months(date(2026, 5, 15), 0).date == date(2026, 5, 15)


def test_months_into_an_unknown_year(cal: WorkCalendar, sample: YearArrangement) -> None:
    # 31 Jan 2027 is a Sunday: estimated, it rolls to Monday; the sample makes it a 调休 working day.
    assert cal.add_months(date(2026, 12, 31), 1) == Deadline(date(2027, 2, 1), True, "estimated")
    cal.load_year(sample)
    assert cal.add_months(date(2026, 12, 31), 1) == Deadline(date(2027, 1, 31), False, "operator")


def test_negative_months_rejected(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_months(date(2026, 1, 5), -1)


# --- next_workday, working_days_between ----------------------------------------------------------

def test_next_workday(cal: WorkCalendar) -> None:
    assert cal.next_workday(date(2026, 9, 30)) == date(2026, 10, 8)
    assert cal.next_workday(date(2026, 2, 13)) == date(2026, 2, 14)  # 调休 Saturday
    assert cal.next_workday(date(2026, 3, 6)) == date(2026, 3, 9)
    assert cal.next_workday(date(2026, 3, 9)) == date(2026, 3, 10)


def test_working_days_between(cal: WorkCalendar, sample: YearArrangement) -> None:
    assert cal.working_days_between(date(2026, 3, 6), date(2026, 3, 9)) == 1  # Fri → Mon
    assert cal.working_days_between(date(2026, 3, 6), date(2026, 3, 8)) == 0
    # 14 Feb (调休 Saturday) and 24 Feb; 15–23 off
    assert cal.working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2
    # 8, 9, 10 (调休 Saturday), 12 Oct
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4
    assert cal.working_days_between(date(2026, 10, 12), date(2026, 9, 30)) == 0
    assert cal.working_days_between(date(2026, 10, 12), date(2026, 10, 12)) == 0
    assert cal.working_days_between(date(2026, 12, 31), date(2027, 1, 4)) == 2  # estimated: 1 and 4 Jan
    cal.load_year(sample)
    assert cal.working_days_between(date(2026, 12, 31), date(2027, 1, 4)) == 1


def test_is_fast_enough(cal: WorkCalendar) -> None:
    # Generous bound so the test does not flake on a busy machine; the real figure is ~1–3 µs.
    cal.add_working_days(date(2026, 1, 5), 2000)
    starts = _days("2026-01-01", "2026-12-31")
    t0 = time.perf_counter()
    for s in starts:
        cal.add_working_days(s, 250)
    per_call = (time.perf_counter() - t0) / len(starts)
    assert per_call < 500e-6


# --- the operator file ----------------------------------------------------------------------------

def test_sample_file_parses_and_round_trips(sample_text: str, sample: YearArrangement) -> None:
    assert sample.year == 2027
    assert "TEST SAMPLE" in sample.note
    assert date(2027, 2, 8) in sample.days_off
    assert date(2027, 1, 2) in sample.days_off  # a weekend listed as a holiday is accepted
    assert sample.makeup_workdays == {date(2027, 1, 31), date(2027, 2, 20), date(2027, 4, 25),
                                      date(2027, 5, 8), date(2027, 9, 26), date(2027, 10, 9)}
    assert sample.names[date(2027, 2, 8)] == "春节"
    again = parse_year_file(sample.to_json())
    assert again == sample
    assert again.names == sample.names
    assert json.loads(sample.to_json())["days"][0] == {"name": "元旦", "date": "2027-01-01", "isOffDay": True}


def test_public_dataset_shape_is_accepted() -> None:
    text = json.dumps({
        "$schema": "https://raw.githubusercontent.com/NateScarlet/holiday-cn/master/schema.json",
        "$id": "https://raw.githubusercontent.com/NateScarlet/holiday-cn/master/2027.json",
        "year": 2027, "papers": ["https://www.gov.cn/example"],
        "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": True}],
    })
    arrangement = parse_year_file("\ufeff" + text)
    assert arrangement.days_off == {date(2027, 1, 1)}
    assert arrangement.papers == ("https://www.gov.cn/example",)


def _mutated(sample_text: str, change: Any) -> str:
    doc = copy.deepcopy(json.loads(sample_text))
    change(doc)
    return json.dumps(doc, ensure_ascii=False)


def _set_day(index: int, **values: Any) -> Any:
    def change(doc: dict[str, Any]) -> None:
        doc["days"][index].update(values)
    return change


@pytest.mark.parametrize(("change", "message"), [
    (_set_day(2, date="2027-13-01"), "第3项日期 2027-13-01 无效"),
    (_set_day(0, date="2027-02-30"), "第1项日期 2027-02-30 无效"),
    (_set_day(0, date="20270101"), "第1项日期 20270101 无效"),
    (_set_day(0, date=20270101), "第1项日期 20270101 无效"),
    (_set_day(4, date="2026-10-01"), "第5项日期 2026-10-01 不属于 2027 年"),
    (_set_day(7, date="2027-02-06"), "第8项重复日期 2027-02-06（与第5项相同）"),
    (_set_day(1, isOffDay="true"), "第2项（2027-01-02）isOffDay 必须为布尔值"),
    (_set_day(1, isOffDay=1), "isOffDay 必须为布尔值"),
    (_set_day(6, isOffDay=False), "第7项 2027-02-08（星期一）标为调休上班"),
    (_set_day(0, name=""), "第1项（2027-01-01）name 必须为非空字符串"),
    (_set_day(0, holiday=True), "第1项含未知字段 holiday"),
    (lambda doc: doc["days"][0].pop("isOffDay"), "第1项（2027-01-01）缺少 isOffDay"),
    (lambda doc: doc["days"][0].pop("date"), "第1项缺少 date"),
    (lambda doc: doc["days"].__setitem__(0, "2027-01-01"), "第1项必须为对象"),
    (lambda doc: doc.update(year="2027"), "year 必须为整数年份"),
    (lambda doc: doc.update(year=True), "year 必须为整数年份"),
    (lambda doc: doc.update(year=1899), "年份 1899 超出支持范围"),
    (lambda doc: doc.pop("year"), "缺少字段 year"),
    (lambda doc: doc.pop("days"), "缺少字段 days"),
    (lambda doc: doc.update(days=[]), "days 为空"),
    (lambda doc: doc.update(days={}), "days 必须为列表"),
    (lambda doc: doc.update(papers="https://x"), "papers 必须为"),
    (lambda doc: doc.update(papers=[1]), "papers 第1项必须为非空字符串"),
    (lambda doc: doc.update(note=3), "note 必须为字符串"),
    (lambda doc: doc.update(holidays=[]), "未知字段 holidays"),
])
def test_file_errors_name_problem_and_place(sample_text: str, change: Any, message: str) -> None:
    with pytest.raises(CalendarFileError) as info:
        parse_year_file(_mutated(sample_text, change))
    assert message in str(info.value)


@pytest.mark.parametrize(("text", "message"), [
    ('{"year": 2027, "days": [', "不是有效的 JSON：第 1 行"),
    ("[]", "顶层必须是 JSON 对象"),
    ('{"year": 2027, "year": 2028, "days": []}', "字段 year 重复出现"),
])
def test_malformed_files(text: str, message: str) -> None:
    with pytest.raises(CalendarFileError, match=message):
        parse_year_file(text)


def test_file_error_is_a_value_error_with_a_user_message() -> None:
    with pytest.raises(ValueError) as info:
        parse_year_file("{}")
    assert isinstance(info.value, GovflowError)
    assert info.value.message == "缺少字段 year（年份）"


def test_arrangement_built_in_code_is_validated_too() -> None:
    with pytest.raises(CalendarFileError, match="星期一"):
        YearArrangement(2027, frozenset(), frozenset({date(2027, 2, 8)}))
    with pytest.raises(CalendarFileError, match="日期 2026-10-01 不属于 2027 年"):
        YearArrangement(2027, frozenset({date(2026, 10, 1)}), frozenset())
    with pytest.raises(CalendarFileError, match="既放假又调休上班"):
        YearArrangement(2027, frozenset({date(2027, 2, 6)}), frozenset({date(2027, 2, 6)}))
