"""Deadline rules of user tasks: service levels and the statutory periods."""
from __future__ import annotations

import datetime as dt

import pytest

from service.domain.calendar import WorkCalendar
from service.domain.deadlines import compute_due, local_date, parse_rule

CAL = WorkCalendar()
# 2026-03-02 09:00 in Dongying is 01:00 UTC.
CREATED = dt.datetime(2026, 3, 2, 1, 0)


def test_service_level_counts_from_the_first_working_day_after_creation():
    due = compute_due(CAL, created_at_utc=CREATED, sla_days=5, rule_text=None, data={})
    assert (due.date, due.rule, due.provisional) == (dt.date(2026, 3, 9), "sla_days:5", False)


def test_local_date_uses_beijing_time():
    assert local_date(dt.datetime(2026, 3, 1, 17, 0)) == dt.date(2026, 3, 2)


def test_working_days_after_a_form_date():
    due = compute_due(CAL, created_at_utc=CREATED, sla_days=10, rule_text="working_days_after:contract_date:10",
                      data={"contract_date": "2026-09-28"})
    assert due.date == dt.date(2026, 10, 16)


def test_months_after_the_later_of_two_dates_rolls_to_a_working_day():
    # 第二十五条: 12 months after acceptance and operation; 2026-10-01 is National Day → Oct 8.
    rule = "months_after:acceptance_date|operation_date:12"
    due = compute_due(CAL, created_at_utc=CREATED, sla_days=None, rule_text=rule,
                      data={"acceptance_date": "2025-09-20", "operation_date": "2025-10-01"})
    assert due.date == dt.date(2026, 10, 8)


def test_date_of_year_before_and_after_the_date():
    rule = "date_of_year:today:09-30"
    before = compute_due(CAL, created_at_utc=CREATED, sla_days=10, rule_text=rule, data={})
    assert (before.date, before.rule) == (dt.date(2026, 9, 30), rule)
    after = compute_due(CAL, created_at_utc=dt.datetime(2026, 11, 2, 1), sla_days=10, rule_text=rule, data={})
    assert after.rule == "sla_days:10" and after.date == dt.date(2026, 11, 16)


def test_missing_date_falls_back_to_the_service_level():
    due = compute_due(CAL, created_at_utc=CREATED, sla_days=3, rule_text="working_days_after:contract_date:10", data={})
    assert due.rule == "sla_days:3"


def test_due_at_is_end_of_day_beijing_in_utc():
    due = compute_due(CAL, created_at_utc=CREATED, sla_days=1, rule_text=None, data={})
    assert due.at_utc == dt.datetime(2026, 3, 3, 15, 59, 59)


@pytest.mark.parametrize("text", ["working_days_after:contract_date", "weeks_after:x:2", "date_of_year:x:13-01",
                                  "months_after:Contract:1", "working_days_after:x:1-2"])
def test_bad_rules_are_refused_in_chinese(text):
    with pytest.raises(ValueError) as exc:
        parse_rule(text)
    assert "期限规则" in str(exc.value)
