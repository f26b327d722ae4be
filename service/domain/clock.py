"""The legal clock of one task, as a pure function of its inputs.

A clock's due date is always *derived*, never edited in place:

    due = base rule (sla_days from creation, or a statutory rule from a form date)
          + the working days of every closed 补正 pause
          + every granted 延期

so that loading a calendar year, resuming a pause and granting an extension all give the same
answer from the same inputs (`clock_due`). Every view of the clock — the inbox's days left, the
黄牌/红牌 grade, the escalation level the dashboard shows, the on-time rate — reads it through
`read_clock`, so none of them can disagree with the reminders the tick sends from the same date.

A pause counts the working days in (pause day, resume day] (Beijing dates): the day the material
is asked for still counts, the day it arrives does not."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.domain.calendar import WorkCalendar
from service.domain.deadlines import LOCAL_TZ, Due, compute_due, local_date

ALARM_TIME = dt.time(9, 0)
DEFAULT_ESCALATE_DAYS = (1, 3, 5)

GREEN, YELLOW, RED, PAUSED = "green", "yellow", "red", "paused"
LABELS = {GREEN: "正常", YELLOW: "黄牌", RED: "红牌", PAUSED: "已暂停计时"}
LEVEL_LABELS = {1: "一级督办", 2: "二级督办", 3: "三级督办"}


@dataclass(frozen=True)
class Pause:
    """One 补正 pause. `end` is None while the clock stands still. `days` is set for a pause known
    only by its count (carried over from an earlier occurrence of the task by 撤回)."""

    start: dt.date
    end: dt.date | None
    days: int | None = None


def pause_days(calendar: WorkCalendar, pause: Pause) -> tuple[int, bool]:
    """Working days a closed pause adds, and whether that count rests on an estimated year."""
    if pause.days is not None:
        return pause.days, False
    if pause.end is None or pause.end <= pause.start:
        return 0, False
    n = calendar.working_days_between(pause.start, pause.end)
    estimated = any(calendar.day_basis(dt.date(y, 1, 1)) == "estimated"
                    for y in range(pause.start.year, pause.end.year + 1))
    return n, estimated


def shift_due(calendar: WorkCalendar, base: Due, pauses: Iterable[Pause] = (),
              extensions: Iterable[int] = ()) -> Due:
    """The base due day moved by every closed pause and every extension, in working days."""
    provisional = base.provisional
    total = 0
    for p in pauses:
        n, estimated = pause_days(calendar, p)
        total += n
        provisional = provisional or (estimated and n > 0)
    total += sum(int(e) for e in extensions)
    if total <= 0:
        return Due(base.date, provisional, base.rule)
    # "n-th working day after" composes: k days then m days is k + m days, so one addition of the
    # total gives what any order of pauses and extensions gives.
    moved = calendar.add_working_days(base.date, total)
    return Due(moved.date, provisional or moved.provisional, base.rule)


def clock_due(calendar: WorkCalendar, *, created_at_utc: dt.datetime, sla_days: int | None,
              rule_text: str | None, data: Mapping[str, Any], pauses: Iterable[Pause] = (),
              extensions: Iterable[int] = ()) -> tuple[Due, Due] | None:
    """(base, effective) due of a clock from its base rule, start, pauses, extensions and calendar.
    None when the task has no deadline."""
    base = compute_due(calendar, created_at_utc=created_at_utc, sla_days=sla_days, rule_text=rule_text, data=data)
    if base is None:
        return None
    return base, shift_due(calendar, base, pauses, extensions)


# -- reading the clock --------------------------------------------------------------------------


def alarm_at(day: dt.date, time: dt.time = ALARM_TIME) -> dt.datetime:
    """09:00 Beijing on `day`, as naive UTC: when reminders and escalations of that day fire."""
    return dt.datetime.combine(day, time, LOCAL_TZ).astimezone(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Reading:
    """What every view shows of one clock at one moment."""

    due_date: dt.date | None
    provisional: bool
    paused: bool
    paused_reason: str | None
    grade: str  # green | yellow | red | paused
    label: str  # 正常 / 黄牌 / 红牌 / 已暂停计时（补正：…）
    working_days_left: int | None  # negative once overdue; frozen while paused
    overdue_working_days: int
    used_working_days: int
    total_working_days: int
    escalation_level: int  # 0–3, the level the escalation plan has reached on the current due date
    escalation_label: str | None


def days_left(calendar: WorkCalendar, today: dt.date, due: dt.date | None) -> int | None:
    if due is None:
        return None
    if due >= today:
        return calendar.working_days_between(today, due)
    return -calendar.working_days_between(due, today)


def read_clock(calendar: WorkCalendar, *, created_at_utc: dt.datetime, due_date: dt.date | None,
               due_at_utc: dt.datetime | None, provisional: bool, paused_at_utc: dt.datetime | None,
               paused_reason: str | None, paused_days: int, now: dt.datetime, share: float,
               escalate_days: Sequence[int] = DEFAULT_ESCALATE_DAYS) -> Reading:
    paused = paused_at_utc is not None
    # A stopped clock is read at the moment it stopped: nothing after that counts against the unit.
    moment = min(now, paused_at_utc) if paused_at_utc is not None else now
    today = local_date(moment)
    start = local_date(created_at_utc)
    total = used = overdue = level = 0
    grade = GREEN
    left = days_left(calendar, today, due_date)
    if due_date is not None and due_at_utc is not None:
        total = max(calendar.working_days_between(start, due_date) - paused_days, 1)
        used = max(calendar.working_days_between(start, today) - paused_days, 0)
        if moment > due_at_utc:
            overdue = calendar.working_days_between(due_date, today)
        if not paused:
            if now > due_at_utc:
                grade = RED
                level = sum(1 for d in escalate_days[:3]
                            if now >= alarm_at(calendar.add_working_days(due_date, d).date))
            elif used >= share * total:
                grade = YELLOW
    if paused:
        grade = PAUSED
        overdue = level = 0
        reason = (paused_reason or "").strip() or "未说明理由"
        # A project suspension (service.domain.suspension) stops the clock too, under its own name.
        suspended = reason.startswith(("暂停建设", "暂停运行"))
        label = f"已暂停计时（{reason}）" if suspended else f"已暂停计时（补正：{reason}）"
    else:
        label = LABELS[grade]
    return Reading(due_date, provisional, paused, paused_reason if paused else None, grade, label, left, overdue,
                   used, total, level, LEVEL_LABELS.get(level))
