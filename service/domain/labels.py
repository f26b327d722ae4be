"""The words documents use for stored codes, and Beijing time: one mapping for the dossier, the
register exports and the 审批单 (the pages' api.js STATUS_LABELS says the same)."""
from __future__ import annotations

import datetime as dt
from typing import Any

BEIJING = dt.timezone(dt.timedelta(hours=8), "北京时间")

# Project status (projects.status) and task state (work_items.state) share one vocabulary.
STATE_LABELS = {"active": "在办", "completed": "已办结", "ended": "已终止", "open": "待办", "cancelled": "已取消"}


def state_label(code: str | None) -> str:
    if not code:
        return "—"
    return STATE_LABELS.get(code, code)


def beijing(at: dt.datetime | str | None, *, seconds: bool = False) -> str:
    """Stored naive-UTC time (or its ISO text) as Beijing wall time, to the minute by default."""
    if at is None or at == "":
        return "—"
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at.removesuffix("Z"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def yes_no(value: Any) -> str:
    return "是" if value else "否"


def money(value: Any) -> str:
    """万元 with two decimals and thousands separators, as the pages show amounts."""
    if value is None or value == "":
        return "—"
    try:
        return f"{float(value):,.2f} 万元"
    except (TypeError, ValueError):
        return str(value)
