"""Deadlines of user tasks, in China's statutory working days.

A user task carries `sla_days` (its service level, counted from task creation) and may carry a
statutory `deadline` rule that counts from a date entered earlier in the process:

    working_days_after:<field>:<n>         第十二条 contract filing, 第二十四条 acceptance report
    months_after:<field>[|<field>…]:<n>     第二十五条 self-evaluation (from the later of the dates)
    date_of_year:<field|today>:<MM-DD>      第十五条 termination filing by 30 September

"Within N working days after D" counts from the first working day after D (the start day is not
counted); a period in months ending on a holiday ends on the next working day."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from service.domain.calendar import WorkCalendar

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
_RULE = re.compile(
    r"^(?P<kind>working_days_after|months_after|date_of_year):(?P<fields>[a-z_][a-z0-9_|]*):(?P<arg>\d{1,3}|\d{2}-\d{2})$"
)


@dataclass(frozen=True)
class Rule:
    kind: str
    fields: tuple[str, ...]
    arg: str

    @property
    def text(self) -> str:
        return f"{self.kind}:{'|'.join(self.fields)}:{self.arg}"


@dataclass(frozen=True)
class Due:
    date: dt.date
    provisional: bool
    rule: str

    @property
    def at_utc(self) -> dt.datetime:
        """End of the due day, local time, as naive UTC (the storage convention)."""
        local = dt.datetime.combine(self.date, dt.time(23, 59, 59), LOCAL_TZ)
        return local.astimezone(dt.UTC).replace(tzinfo=None)


def parse_rule(text: str) -> Rule:
    m = _RULE.match(text.strip())
    if not m:
        raise ValueError(f"期限规则 {text!r} 格式不正确（应为 working_days_after:字段:天数、months_after:字段:月数 或 "
                         "date_of_year:字段:MM-DD）")
    kind, fields, arg = m["kind"], tuple(m["fields"].split("|")), m["arg"]
    if kind == "date_of_year":
        try:
            dt.date(2000, int(arg[:2]), int(arg[3:]))
        except ValueError:
            raise ValueError(f"期限规则 {text!r} 的日期 {arg} 无效") from None
    elif "-" in arg:
        raise ValueError(f"期限规则 {text!r} 的数量应为整数")
    return Rule(kind, fields, arg)


def local_date(at_utc: dt.datetime) -> dt.date:
    return at_utc.replace(tzinfo=dt.UTC).astimezone(LOCAL_TZ).date()


def _field_date(data: Mapping[str, Any], name: str, today: dt.date) -> dt.date | None:
    if name == "today":
        return today
    value = data.get(name)
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def compute_due(
    calendar: WorkCalendar,
    *,
    created_at_utc: dt.datetime,
    sla_days: int | None,
    rule_text: str | None,
    data: Mapping[str, Any],
) -> Due | None:
    today = local_date(created_at_utc)
    if rule_text:
        rule = parse_rule(rule_text)
        dates = [d for d in (_field_date(data, f, today) for f in rule.fields) if d is not None]
        if dates:
            start = max(dates)
            if rule.kind == "working_days_after":
                d = calendar.add_working_days(start, int(rule.arg))
                return Due(d.date, d.provisional, rule.text)
            if rule.kind == "months_after":
                d = calendar.add_months(start, int(rule.arg))
                return Due(d.date, d.provisional, rule.text)
            fixed = dt.date(start.year, int(rule.arg[:2]), int(rule.arg[3:]))
            if fixed >= today:
                return Due(fixed, False, rule.text)
            # 第十五条 says "原则上" before the end of Q3: a termination decided later falls back
            # to the task's service level instead of being born overdue.
    if sla_days:
        d = calendar.add_working_days(today, sla_days)
        return Due(d.date, d.provisional, f"sla_days:{sla_days}")
    return None
