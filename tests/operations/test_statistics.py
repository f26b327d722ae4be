"""Supervision statistics: overdue work by unit and stage in working days with escalation levels,
on-time rate by the Beijing completion date, the weekly trend, bounded by the period."""
from __future__ import annotations

import datetime as dt

import pytest

from service.domain.access import Actor
from service.domain.deadlines import Due
from service.domain.errors import Forbidden, ValidationFailed
from service.operations import organisation, statistics
from service.storage.models import LateFiling, Notification, WorkItem

AUDITOR = Actor("审计员", "市审计局", frozenset({"auditor"}))
SUPERVISOR = Actor("督办员", "市大数据局", frozenset({"supervisor"}))


def bj(text: str) -> dt.datetime:
    """Beijing wall time 'YYYY-MM-DD HH:MM' as naive UTC."""
    local = dt.datetime.fromisoformat(text + ":00+08:00")
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _set(ctx, item_id: int, *, due: str, created: str, completed: str | None = None) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        row = s.get(WorkItem, item_id)
        day = dt.date.fromisoformat(due)
        row.due_date, row.due_at = day, Due(day, False, "test").at_utc
        row.created_at = bj(created)
        if completed:
            row.completed_at = bj(completed)


@pytest.fixture
def scene(ctx, driver):  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, participants=["市民政局", "市卫生健康委员会"]).project_id
    driver.run(pid, until="preliminary_review")
    with ctx.db.session() as s:
        from sqlalchemy import select

        rows = {(w.task_name, w.unit.name): w for w in s.scalars(select(WorkItem).where(WorkItem.project_id == pid))}
    ids = {k: v.id for k, v in rows.items()}
    _set(ctx, ids["submit_declaration", "市教育局"], due="2026-02-01", created="2026-01-20 09:00",
         completed="2026-02-10 10:00")  # late, but before the period and the weekly window
    _set(ctx, ids["confirm_declaration", "市民政局"], due="2026-03-10", created="2026-03-09 10:00",
         completed="2026-03-10 15:00")  # on time
    _set(ctx, ids["confirm_declaration", "市卫生健康委员会"], due="2026-03-10", created="2026-03-09 10:00",
         completed="2026-03-17 10:00")  # 5 working days late
    # Completed 00:30 Beijing on 03-11 (still 03-10 in UTC): late by the Beijing date.
    _set(ctx, ids["preliminary_review_finance", "市财政局"], due="2026-03-10", created="2026-03-09 10:00",
         completed="2026-03-11 00:30")
    open_id = ids["preliminary_review", "市大数据局"]
    _set(ctx, open_id, due="2026-03-20", created="2026-03-12 10:00")
    with ctx.db.session() as s:
        unit_id = s.get(WorkItem, open_id).unit_id
        for level in (1, 2):
            s.add(Notification(work_item_id=open_id, project_id=pid, kind="escalation", level=level, unit_id=unit_id,
                               recipient_role="leader", subject="督办", body="督办", payload={}, created_at=bj(
                                   f"2026-03-2{level + 2} 09:00")))
        for key, due in ((("confirm_declaration", "市卫生健康委员会"), "2026-03-15"),
                         (("submit_declaration", "市教育局"), "2026-02-15")):
            s.add(LateFiling(work_item_id=ids[key], project_id=pid, unit_id=rows[key].unit_id, task_name=key[0],
                             article="第十二条", due_date=dt.date.fromisoformat(due)))
    organisation.open_rectification(ctx, "市教育局", "合同备案逾期", SUPERVISOR)
    return pid


def test_overview_of_a_period(ctx, scene):
    out = statistics.overview(ctx, AUDITOR, date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 31), weeks=4,
                              now=bj("2026-04-02 10:00"))
    assert out["period"] == {"from": "2026-03-01", "to": "2026-03-31"}
    by_unit = {r["unit"]: r for r in out["overdue_by_unit"]}
    assert by_unit == {
        # 03-20 (Fri) to the period's end 03-31: 7 working days; escalated to level 2.
        "市大数据局": {"unit": "市大数据局", "overdue": 1, "escalated": 1, "max_level": 2, "max_days_overdue": 7},
        "市卫生健康委员会": {"unit": "市卫生健康委员会", "overdue": 1, "escalated": 0, "max_level": 0,
                      "max_days_overdue": 5},
        "市财政局": {"unit": "市财政局", "overdue": 1, "escalated": 0, "max_level": 0, "max_days_overdue": 1},
    }
    assert out["overdue_by_unit"][0]["unit"] in by_unit
    (stage,) = out["overdue_by_stage"]
    assert (stage["overdue"], stage["escalated"], stage["max_level"], stage["max_days_overdue"]) == (3, 1, 2, 7)
    # The open task past its due date counts against its unit's 按期办结率 (docs/clocks.md).
    assert {r["unit"]: (r["completed"], r["on_time"], r["late"], r["open_overdue"], r["rate"])
            for r in out["on_time"]} == {
        "市民政局": (1, 1, 0, 0, 1.0), "市卫生健康委员会": (1, 0, 1, 0, 0.0), "市财政局": (1, 0, 1, 0, 0.0),
        "市大数据局": (0, 0, 0, 1, 0.0)}
    assert out["weekly"] == [
        {"week_start": "2026-03-09", "completed": 2, "on_time": 1, "late": 1, "opened": 4, "overdue_open_at_end": 1},
        {"week_start": "2026-03-16", "completed": 1, "on_time": 0, "late": 1, "opened": 0, "overdue_open_at_end": 1},
        {"week_start": "2026-03-23", "completed": 0, "on_time": 0, "late": 0, "opened": 0, "overdue_open_at_end": 1},
        {"week_start": "2026-03-30", "completed": 0, "on_time": 0, "late": 0, "opened": 0, "overdue_open_at_end": 1},
    ]
    assert out["open_rectifications"] == 1 and out["late_filings"] == 1


def test_period_bounds_what_is_counted(ctx, scene):
    # Before the open task was due and before any completion: nothing overdue, nothing completed.
    early = statistics.overview(ctx, SUPERVISOR, date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 9), weeks=1,
                                now=bj("2026-04-02 10:00"))
    assert early["overdue_by_unit"] == [] and early["on_time"] == [] and early["late_filings"] == 0
    assert early["weekly"] == [{"week_start": "2026-03-09", "completed": 0, "on_time": 0, "late": 0, "opened": 3,
                                "overdue_open_at_end": 0}]
    # February: only the declaration, completed late on 02-10.
    feb = statistics.overview(ctx, AUDITOR, date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 2, 28), weeks=2,
                              now=bj("2026-04-02 10:00"))
    assert [(r["unit"], r["late"]) for r in feb["on_time"]] == [("市教育局", 1)]
    assert [(r["unit"], r["max_days_overdue"]) for r in feb["overdue_by_unit"]] == [("市教育局", 7)]
    assert feb["late_filings"] == 1


def test_only_supervision_and_valid_periods(ctx, scene):
    with pytest.raises(Forbidden):
        statistics.overview(ctx, Actor("x", "市教育局", frozenset({"department"})), date_from=dt.date(2026, 3, 1),
                            date_to=dt.date(2026, 3, 31))
    today = dt.date(2026, 4, 2)
    assert statistics.parse_period(None, None, None, today) == (dt.date(2026, 1, 2), today, 8)
    for args, field in ((("2026-04-01", "2026-03-01", None), "from"), (("2026-3-1", None, None), "from"),
                        ((None, "2026-02-30", None), "to"), ((None, None, 0), "weeks"),
                        (("1999-01-01", None, None), "from")):
        with pytest.raises(ValidationFailed) as err:
            statistics.parse_period(*args, today)  # type: ignore[arg-type]
        assert err.value.errors[0].path == field


def test_open_overdue_counts_against_the_rate_unless_its_clock_is_paused(ctx, scene):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from service.operations import clocks

    period = {"date_from": dt.date(2026, 3, 1), "date_to": dt.date(2026, 3, 31), "now": bj("2026-04-02 10:00")}
    out = statistics.overview(ctx, SUPERVISOR, **period)
    [row] = [r for r in out["on_time"] if r["unit"] == "市大数据局"]
    assert (row["completed"], row["open_overdue"], row["rate"]) == (0, 1, 0.0)
    with ctx.db.session() as s:
        open_id = s.scalar(select(WorkItem.id).where(WorkItem.project_id == scene, WorkItem.state == "open",
                                                     WorkItem.task_name == "preliminary_review"))
    # 补正 before it fell due: its clock stands still, so it is overdue nowhere (docs/clocks.md).
    clocks.pause(ctx, open_id, "请补充可行性研究报告", SUPERVISOR, now=bj("2026-03-16 10:00"))
    out = statistics.overview(ctx, SUPERVISOR, **period)
    assert "市大数据局" not in {r["unit"] for r in out["on_time"]}
    assert "市大数据局" not in {r["unit"] for r in out["overdue_by_unit"]}
    assert [w["overdue_open_at_end"] for w in out["weekly"]][-1] == 0
