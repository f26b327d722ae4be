"""Process analytics (流程运行分析): passes, waits and working days per element, and the stage
table, checked against a scripted set of projects with known dates."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from service.domain.access import Actor
from service.domain.errors import Forbidden, ValidationFailed
from service.operations import process_analytics
from service.operations.process_analytics import quantile
from service.storage.models import WorkItem

SUPERVISOR = Actor("督办员", "市大数据局", frozenset({"supervisor"}))
DESIGNER = Actor("designer", None, frozenset({"designer"}))
EDU = Actor("edu", "市教育局", frozenset({"department"}))


def bj(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text + ":00+08:00").astimezone(dt.UTC).replace(tzinfo=None)


# (submit_declaration opened, completed, working days): a plain week, one with a weekend, and one
# across 清明 (2026-04-04..06 off: Friday to Tuesday is 1 working day, not 4 calendar days).
SUBMITS = [("2026-03-02 09:00", "2026-03-04 16:00", 2), ("2026-03-02 09:00", "2026-03-12 11:00", 8),
           ("2026-04-03 09:00", "2026-04-07 10:00", 1)]
NOW = bj("2026-04-10 12:00")


@pytest.fixture
def scripted(ctx, driver):  # type: ignore[no-untyped-def]
    pids = []
    for opened, done, _ in SUBMITS:
        pid = driver.declare("市教育局", budget_year=2027, participants=["市民政局"]).project_id
        driver.run(pid, until="preliminary_review")
        with ctx.db.session() as s:
            rows = {w.task_name: w for w in s.scalars(select(WorkItem).where(WorkItem.project_id == pid))}
            rows["submit_declaration"].created_at, rows["submit_declaration"].completed_at = bj(opened), bj(done)
            # Waiting at 初审结论 since Wednesday 04-08: 2 working days by Friday 04-10.
            rows["preliminary_review"].created_at = bj("2026-04-08 09:00")
        pids.append(pid)
    return pids


def test_each_element_counts_passes_waits_and_working_days(ctx, scripted) -> None:  # type: ignore[no-untyped-def]
    result = process_analytics.analytics(ctx, SUPERVISOR, now=NOW)
    submit = result["elements"]["submit_declaration"]
    assert submit == {"passed": 3, "completed": 3, "median_days": 2, "p90_days": 8, "waiting": 0,
                      "waiting_median_days": None}
    review = result["elements"]["preliminary_review"]
    assert (review["passed"], review["waiting"], review["waiting_median_days"]) == (0, 3, 2)
    assert review["median_days"] is None
    assert result["elements"]["confirm_declaration"]["passed"] == 3
    assert "review_bigdata" not in result["elements"]  # nobody got there


def test_the_stage_table_groups_by_year_unit_and_stage(ctx, scripted) -> None:  # type: ignore[no-untyped-def]
    result = process_analytics.analytics(ctx, DESIGNER, year=2027, unit="市教育局", now=NOW)
    rows = result["stages"]
    assert [(r["year"], r["unit"]) for r in rows] == [(2027, "市教育局")] * len(rows)
    (declared,) = [r for r in rows if r["completed"] == 3]
    assert (declared["median_days"], declared["p90_days"], declared["total_days"]) == (2, 8, 11)
    assert set(result["elements"]) == {"submit_declaration"}  # the unit filter applies to elements too
    assert process_analytics.analytics(ctx, DESIGNER, year=2031, now=NOW)["stages"] == []


def test_only_designers_and_overseers_read_it_and_bad_filters_are_named(ctx, scripted) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        process_analytics.analytics(ctx, EDU)
    with pytest.raises(ValidationFailed) as refused:
        process_analytics.analytics(ctx, SUPERVISOR, unit="不存在的单位")
    assert [e.path for e in refused.value.errors] == ["unit"]
    assert "不存在的单位" in refused.value.errors[0].message


def test_quantiles_are_nearest_rank_over_weighted_values() -> None:
    assert quantile([], 0.5) is None
    assert quantile([(5, 1)], 0.9) == 5
    assert quantile([(1, 9), (30, 1)], 0.9) == 1
    assert quantile([(1, 8), (30, 2)], 0.9) == 30
    assert quantile([(3, 2), (1, 2)], 0.5) == 1
