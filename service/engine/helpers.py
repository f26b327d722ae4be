"""Functions offered to BPMN scripts, conditions and timer expressions (the only ones besides a
small set of safe builtins). They take and return JSON-friendly values: ISO date strings, numbers."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from service.domain.calendar import WorkCalendar


def ceil_div(a: int, b: int) -> int:
    """Integer division rounded up: exact percentage checks without float error (第十三条 15%)."""
    if b == 0:
        raise ZeroDivisionError("除数不能为 0")
    return -(-int(a) // int(b))


# These run in the service process (an evaluator child calls back for them), so their cost must be
# bounded by their arguments: 36,600 working days (about 140 years) cost a few milliseconds.
MAX_COUNT = 36_600


def _count(n: Any, unit: str) -> int:
    n = int(n)
    if abs(n) > MAX_COUNT:
        raise ValueError(f"{unit}过大：{n}（限 {MAX_COUNT}）")
    return n


def make_helpers(calendar: Callable[[], WorkCalendar]) -> dict[str, Callable[..., Any]]:
    def working_days_after(date_iso: str, n: int) -> str:
        days = _count(n, "工作日数")
        return calendar().add_working_days(dt.date.fromisoformat(date_iso), days).date.isoformat()

    def months_after(date_iso: str, n: int) -> str:
        months = _count(n, "月数")
        return calendar().add_months(dt.date.fromisoformat(date_iso), months).date.isoformat()

    def is_workday(date_iso: str) -> bool:
        return calendar().is_workday(dt.date.fromisoformat(date_iso))

    return {
        "ceil_div": ceil_div,
        "working_days_after": working_days_after,
        "months_after": months_after,
        "is_workday": is_workday,
    }
