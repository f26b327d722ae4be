"""PRC statutory working days: which days are worked, and deadlines counted in them.

Each day is answered from the first source that knows its year:

1. `operator`  — a year's 国务院放假安排 loaded by an operator at run time (see
   docs/calendar-file-format.md). It wins even over the package so that a correction or a year
   published after our release takes effect without a deploy.
2. `official`  — the `chinese_calendar` package (official data for the years it ships).
3. `estimated` — weekends only. Holidays of an unpublished year are unknown, so any result that
   looked at such a day is marked provisional and gets recomputed once the year is loaded.

Periods follow 民法典 第二百零一条至第二百零三条: the start day is not counted, a period in months
ends on the corresponding day of the final month (or its last day), and a period ending on a day
off ends on the next working day."""
from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as dt
import json
import re
import threading
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import chinese_calendar

from service.domain.errors import GovflowError

Basis = Literal["operator", "official", "estimated"]

MIN_YEAR = 2000
MAX_YEAR = 2100
_WEEKDAY_NAMES = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
# date.fromisoformat also takes "20270101" and week dates; operator files must be unambiguous.
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# "$schema"/"$id" appear in the public holiday-cn dataset files, which we accept as they are.
_TOP_KEYS = frozenset({"year", "days", "papers", "note", "$schema", "$id"})
_DAY_KEYS = frozenset({"name", "date", "isOffDay"})


class CalendarFileError(GovflowError, ValueError):
    """An operator's year file (or a hand-built arrangement) is invalid; `message` is zh-CN and says
    what is wrong and where."""

    code = "calendar_file_invalid"


def _weekday_name(d: dt.date) -> str:
    return _WEEKDAY_NAMES[d.weekday()]


@dataclass(frozen=True)
class YearArrangement:
    """One year's 放假安排: the days off (public holidays, possibly on weekends) and the 调休 weekend
    days worked instead. Days in neither set follow the weekend rule."""

    year: int
    days_off: frozenset[dt.date]
    makeup_workdays: frozenset[dt.date]
    papers: tuple[str, ...] = ()
    note: str = ""
    # Holiday names only round-trip to the file; they play no part in equality.
    names: Mapping[dt.date, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Safety net for arrangements built in code; parse_year_file reports the same problems
        # earlier, with the position in the file.
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise CalendarFileError(f"年份必须为整数，而不是 {self.year!r}")
        if not MIN_YEAR <= self.year <= MAX_YEAR:
            raise CalendarFileError(f"年份 {self.year} 超出支持范围（{MIN_YEAR}–{MAX_YEAR}）")
        object.__setattr__(self, "days_off", frozenset(self.days_off))
        object.__setattr__(self, "makeup_workdays", frozenset(self.makeup_workdays))
        object.__setattr__(self, "papers", tuple(self.papers))
        object.__setattr__(self, "names", MappingProxyType(dict(self.names)))
        for d in sorted(self.days_off | self.makeup_workdays):
            if d.year != self.year:
                raise CalendarFileError(f"日期 {d.isoformat()} 不属于 {self.year} 年")
        both = sorted(self.days_off & self.makeup_workdays)
        if both:
            raise CalendarFileError(f"日期 {both[0].isoformat()} 不能既放假又调休上班")
        for d in sorted(self.makeup_workdays):
            if d.weekday() < 5:
                raise CalendarFileError(
                    f"日期 {d.isoformat()}（{_weekday_name(d)}）本来就是工作日，不能标为调休上班")

    def to_json(self) -> str:
        """The operator file format; parse_year_file(a.to_json()) == a."""
        days = [
            {"name": self.names.get(d) or ("调休上班" if d in self.makeup_workdays else "放假"),
             "date": d.isoformat(), "isOffDay": d in self.days_off}
            for d in sorted(self.days_off | self.makeup_workdays)
        ]
        payload: dict[str, Any] = {"year": self.year}
        if self.note:
            payload["note"] = self.note
        payload["papers"] = list(self.papers)
        payload["days"] = days
        return json.dumps(payload, ensure_ascii=False, indent=2)


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads silently keeps the last of two equal keys, which would hide an operator's typo.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise CalendarFileError(f"字段 {key} 重复出现")
        out[key] = value
    return out


def parse_year_file(text: str) -> YearArrangement:
    """Parse and strictly validate an operator year file (JSON, see docs/calendar-file-format.md)."""
    try:
        raw = json.loads(text.lstrip("\ufeff"), object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise CalendarFileError(
            f"放假安排文件不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}") from None
    if not isinstance(raw, dict):
        raise CalendarFileError("放假安排文件的顶层必须是 JSON 对象")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise CalendarFileError(f"未知字段 {unknown[0]}（允许的字段：year、days、papers、note）")

    if "year" not in raw:
        raise CalendarFileError("缺少字段 year（年份）")
    year = raw["year"]
    if isinstance(year, bool) or not isinstance(year, int):
        raise CalendarFileError(f"year 必须为整数年份，而不是 {year!r}")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CalendarFileError(f"年份 {year} 超出支持范围（{MIN_YEAR}–{MAX_YEAR}）")

    papers = raw.get("papers", [])
    if not isinstance(papers, list):
        raise CalendarFileError("papers 必须为国务院文件网址的列表")
    for k, paper in enumerate(papers, start=1):
        if not isinstance(paper, str) or not paper.strip():
            raise CalendarFileError(f"papers 第{k}项必须为非空字符串")
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise CalendarFileError("note 必须为字符串")

    if "days" not in raw:
        raise CalendarFileError("缺少字段 days（放假与调休日期列表）")
    items = raw["days"]
    if not isinstance(items, list):
        raise CalendarFileError("days 必须为列表")
    if not items:
        # The public dataset publishes an empty year before the State Council's notice; loading it
        # would turn an estimate into a wrong "operator" answer.
        raise CalendarFileError(f"days 为空：{year} 年的放假安排可能尚未发布，不能载入")

    off: set[dt.date] = set()
    makeup: set[dt.date] = set()
    names: dict[dt.date, str] = {}
    seen: dict[dt.date, int] = {}
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            example = f'{{"name": "春节", "date": "{year}-02-06", "isOffDay": true}}'
            raise CalendarFileError(f"第{i}项必须为对象，形如 {example}")
        extra = sorted(set(item) - _DAY_KEYS)
        if extra:
            raise CalendarFileError(f"第{i}项含未知字段 {extra[0]}（允许的字段：name、date、isOffDay）")
        if "date" not in item:
            raise CalendarFileError(f"第{i}项缺少 date（日期）")
        text_date = item["date"]
        if not isinstance(text_date, str) or not _ISO_DATE.match(text_date):
            raise CalendarFileError(f"第{i}项日期 {text_date} 无效（应为 YYYY-MM-DD）")
        try:
            day = dt.date.fromisoformat(text_date)
        except ValueError:
            raise CalendarFileError(f"第{i}项日期 {text_date} 无效") from None
        if day.year != year:
            raise CalendarFileError(f"第{i}项日期 {text_date} 不属于 {year} 年")
        if day in seen:
            raise CalendarFileError(f"第{i}项重复日期 {text_date}（与第{seen[day]}项相同）")
        seen[day] = i
        if "isOffDay" not in item:
            raise CalendarFileError(f"第{i}项（{text_date}）缺少 isOffDay")
        is_off = item["isOffDay"]
        if not isinstance(is_off, bool):
            raise CalendarFileError(
                f"第{i}项（{text_date}）isOffDay 必须为布尔值 true 或 false，而不是 {is_off!r}")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise CalendarFileError(f"第{i}项（{text_date}）name 必须为非空字符串，例如 \"春节\"")
        if is_off:
            # A holiday listed on a weekend changes nothing but is how some notices read; allowed.
            off.add(day)
        else:
            if day.weekday() < 5:
                raise CalendarFileError(
                    f"第{i}项 {text_date}（{_weekday_name(day)}）标为调休上班（isOffDay 为 false），"
                    "但该日本来就是工作日；调休上班日只能是周六或周日")
            makeup.add(day)
        names[day] = name.strip()
    return YearArrangement(year, frozenset(off), frozenset(makeup), tuple(papers), note, names)


@dataclass(frozen=True)
class Deadline:
    """A computed due day. `provisional` is True when any day looked at rested on the weekend-only
    estimate; `basis` is then "estimated", otherwise the source of the due day's year."""

    date: dt.date
    provisional: bool
    basis: Basis


@dataclass(frozen=True, slots=True)
class _YearTable:
    basis: Basis
    first: int  # ordinal of 1 January
    flags: bytes  # flags[ordinal - first] == 1 on a working day
    workdays: tuple[int, ...]  # ordinals of the working days, ascending, for bisect


def _package_years() -> tuple[int, int]:
    # Read from the package's own data so that upgrading it extends the official range by itself.
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


_PACKAGE_MIN, _PACKAGE_MAX = _package_years()


def _build_table(year: int, basis: Basis, off: Iterable[dt.date], makeup: Iterable[dt.date]) -> _YearTable:
    first = dt.date(year, 1, 1).toordinal()
    length = 366 if _stdlib_calendar.isleap(year) else 365
    jan1_weekday = dt.date(year, 1, 1).weekday()
    flags = bytearray(1 if (jan1_weekday + i) % 7 < 5 else 0 for i in range(length))
    for d in off:
        flags[d.toordinal() - first] = 0
    for d in makeup:
        flags[d.toordinal() - first] = 1
    workdays = tuple(first + i for i, f in enumerate(flags) if f)
    return _YearTable(basis, first, bytes(flags), workdays)


class WorkCalendar:
    """Working-day arithmetic over operator-loaded years, the packaged official data and a
    weekend-only estimate, in that order of priority. Safe to share between threads."""

    def __init__(self, years: Iterable[YearArrangement] = ()) -> None:
        self._loaded: dict[int, YearArrangement] = {}
        self._tables: dict[int, _YearTable] = {}
        self._lock = threading.Lock()
        for arrangement in years:
            self.load_year(arrangement)

    def load_year(self, arrangement: YearArrangement) -> None:
        with self._lock:
            self._loaded[arrangement.year] = arrangement
            self._tables.pop(arrangement.year, None)

    def known_years(self) -> dict[int, Basis]:
        """Years answered from data rather than estimated, with their source."""
        known: dict[int, Basis] = {y: "official" for y in range(_PACKAGE_MIN, _PACKAGE_MAX + 1)}
        known.update({y: "operator" for y in self._loaded})
        return dict(sorted(known.items()))

    def _table(self, year: int) -> _YearTable:
        table = self._tables.get(year)
        if table is None:
            table = self._make_table(year)
            # Two threads may both build a year; the results are equal, so the race is harmless.
            self._tables[year] = table
        return table

    def _make_table(self, year: int) -> _YearTable:
        arrangement = self._loaded.get(year)
        if arrangement is not None:
            return _build_table(year, "operator", arrangement.days_off, arrangement.makeup_workdays)
        if _PACKAGE_MIN <= year <= _PACKAGE_MAX:
            # The package's public dicts hold exactly what its is_workday consults; reading them
            # once per year avoids its per-call range scan over all its data.
            off = [d for d in chinese_calendar.holidays if d.year == year]
            makeup = [d for d in chinese_calendar.workdays if d.year == year]
            return _build_table(year, "official", off, makeup)
        return _build_table(year, "estimated", (), ())

    def is_workday(self, d: dt.date) -> bool:
        table = self._table(d.year)
        return table.flags[d.toordinal() - table.first] == 1

    def day_basis(self, d: dt.date) -> Basis:
        return self._table(d.year).basis

    def _nth_after(self, ordinal: int, n: int) -> Deadline:
        """The n-th (n >= 1) working day strictly after the day `ordinal`."""
        year = dt.date.fromordinal(ordinal + 1).year
        provisional = False
        while True:
            table = self._table(year)
            if table.basis == "estimated":
                provisional = True
            workdays = table.workdays
            i = bisect_right(workdays, ordinal)
            if i + n - 1 < len(workdays):
                due = dt.date.fromordinal(workdays[i + n - 1])
                return Deadline(due, provisional, "estimated" if provisional else table.basis)
            n -= len(workdays) - i
            year += 1

    def add_working_days(self, start: dt.date, n: int) -> Deadline:
        """"Within n working days after start": the n-th working day after start (start itself is
        not counted). n = 0 gives start if it is a working day, else the next working day."""
        if n < 0:
            raise ValueError(f"工作日数不能为负数：{n}")
        if n == 0:
            return self._nth_after(start.toordinal() - 1, 1)
        return self._nth_after(start.toordinal(), n)

    def add_months(self, start: dt.date, months: int) -> Deadline:
        """The corresponding day `months` calendar months later (clipped to the month's last day),
        moved to the next working day if it is a day off (民法典 第二百零二条、第二百零三条)."""
        if months < 0:
            raise ValueError(f"月数不能为负数：{months}")
        index = start.year * 12 + start.month - 1 + months
        year, month = divmod(index, 12)
        month += 1
        day = min(start.day, _stdlib_calendar.monthrange(year, month)[1])
        target = dt.date(year, month, day)
        # Only the final day (and any days rolled over) depend on the calendar, so only they can
        # make the result provisional.
        return self._nth_after(target.toordinal() - 1, 1)

    def next_workday(self, d: dt.date) -> dt.date:
        """The first working day strictly after d."""
        return self._nth_after(d.toordinal(), 1).date

    def working_days_between(self, a: dt.date, b: dt.date) -> int:
        """Working days in (a, b]: how many working days b is past a (0 when b <= a)."""
        if b <= a:
            return 0
        lo, hi = a.toordinal(), b.toordinal()
        total = 0
        for year in range(a.year, b.year + 1):
            workdays = self._table(year).workdays
            total += bisect_right(workdays, hi) - bisect_right(workdays, lo)
        return total
