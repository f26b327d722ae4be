"""Beijing dates of stored timestamps, computed in SQL so rows can be grouped by day."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, cast, func, literal_column
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement


def local_day(session: Session, column: Any) -> ColumnElement[Any]:
    """The Beijing date of a naive-UTC timestamp. China keeps no daylight saving time, so it is
    UTC+8 all year. Literal SQL (no bound parameter), so a GROUP BY on it renders exactly like the
    selected expression on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(column + literal_column("interval '8 hours'"), Date)
    return func.date(column, literal_column("'+8 hours'"))


def as_date(value: Any) -> dt.date:
    """A selected day as a date: drivers hand back a date, a datetime or (SQLite) a string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
