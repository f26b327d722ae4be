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


def make_helpers(calendar: Callable[[], WorkCalendar]) -> dict[str, Callable[..., Any]]:
    def working_days_after(date_iso: str, n: int) -> str:
        return calendar().add_working_days(dt.date.fromisoformat(date_iso), int(n)).date.isoformat()

    def months_after(date_iso: str, n: int) -> str:
        return calendar().add_months(dt.date.fromisoformat(date_iso), int(n)).date.isoformat()

    def is_workday(date_iso: str) -> bool:
        return calendar().is_workday(dt.date.fromisoformat(date_iso))

    return {
        "ceil_div": ceil_div,
        "working_days_after": working_days_after,
        "months_after": months_after,
        "is_workday": is_workday,
    }
