"""A deadline running into a year without data is provisional, then recomputed when the year is loaded."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from service.domain.calendar import CalendarFileError
from service.domain.errors import Forbidden
from service.operations import annual_list, organisation
from service.operations.calendar import load_year
from service.scenario import worker
from service.storage.models import AuditRecord, WorkItem
from tests.conftest import OPERATOR
from tests.operations.test_lifecycle import GOV

SAMPLE_2027 = Path(__file__).resolve().parent.parent / "data" / "calendar-2027-sample.json"


def contract_filing_signed(driver, ctx, contract_date: str, year: int = 2027) -> WorkItem:
    if year != 2027:
        organisation.set_window(ctx, year, dt.date(2000, 1, 1), dt.date(2100, 1, 1), OPERATOR)
    pid = driver.declare("市教育局", budget_year=year, participants=[]).project_id
    driver.run(pid)
    annual_list.compile_cosign_approve(ctx, year, {pid: 100.0}, GOV)
    driver.run(pid, until="procurement")
    driver.complete(pid, "procurement", contract_date=contract_date)
    return driver.item(pid, "contract_filing")


def test_contract_filing_counts_working_days_across_national_day(ctx, driver):
    # 第十二条: 10 working days after signing; 2026 National Day is Oct 1-7 with Sat Oct 10 worked.
    item = contract_filing_signed(driver, ctx, "2026-09-28")
    assert (item.due_date, item.due_provisional) == (dt.date(2026, 10, 16), False)
    assert item.due_rule == "working_days_after:contract_date:10"


def test_contract_filing_across_spring_festival_counts_the_makeup_saturdays(ctx, driver):
    # 2026 春节 Feb 15-23 off; Sat Feb 14 and Sat Feb 28 are working days.
    item = contract_filing_signed(driver, ctx, "2026-02-12")
    assert item.due_date == dt.date(2026, 3, 4)


def test_deadline_into_2027_is_provisional_until_the_year_is_loaded(ctx, driver):
    item = contract_filing_signed(driver, ctx, "2026-12-28")
    # No 2027 data in chinesecalendar 1.11.0: weekends only, flagged as an estimate, no crash.
    assert (item.due_date, item.due_provisional) == (dt.date(2027, 1, 11), True)
    result = load_year(ctx, SAMPLE_2027.read_text(encoding="utf-8"), OPERATOR)
    assert result.year == 2027 and result.recomputed >= 1
    with ctx.db.session() as s:
        after = s.get(WorkItem, item.id)
        # The sample makes Jan 1-3 2027 holidays: one working day later, no longer provisional.
        assert (after.due_date, after.due_provisional) == (dt.date(2027, 1, 12), False)
        assert s.scalar(select(AuditRecord).where(AuditRecord.work_item_id == item.id,
                                                  AuditRecord.action == "deadline_recomputed")) is not None
    # New deadlines use the loaded year at once.
    item2 = contract_filing_signed(driver, ctx, "2026-12-28", year=2028)
    assert (item2.due_date, item2.due_provisional) == (dt.date(2027, 1, 12), False)


def test_loading_a_bad_file_changes_nothing(ctx, driver):
    item = contract_filing_signed(driver, ctx, "2026-12-28")
    with pytest.raises(CalendarFileError) as exc:
        load_year(ctx, '{"year": 2027, "days": [{"name": "x", "date": "2027-13-01", "isOffDay": true}]}', OPERATOR)
    assert "2027-13-01" in exc.value.message
    with ctx.db.session() as s:
        assert s.get(WorkItem, item.id).due_provisional is True


def test_only_admins_load_calendars(ctx):
    with pytest.raises(Forbidden):
        load_year(ctx, SAMPLE_2027.read_text(encoding="utf-8"), worker("市大数据局"))
