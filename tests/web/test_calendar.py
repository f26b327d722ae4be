"""工作日历: the year as deadlines count it (holidays, 调休 working weekends), where its data comes
from, and an admin loading a year's arrangement through the page."""
from __future__ import annotations

import datetime as dt
import json

import chinese_calendar
from playwright.sync_api import expect

from tests.web.conftest import no_js_errors, shot

ESTIMATED_YEAR = 2031  # no official arrangement shipped for it


def makeup_days(year: int) -> list[str]:
    """The official 调休 working Saturdays and Sundays of a year (chinesecalendar's data)."""
    day, out = dt.date(year, 1, 1), []
    while day.year == year:
        if day.weekday() >= 5 and chinese_calendar.is_workday(day):
            out.append(day.isoformat())
        day += dt.timedelta(days=1)
    return out


def test_admin_sees_holidays_and_make_up_days_and_loads_a_years_arrangement(sessions):
    page = sessions.as_("admin")
    page.goto("/admin/calendar?year=2026")
    root = page.locator("#calendar-root")
    expect(root).to_have_attribute("data-year", "2026")
    expect(page.locator("#basis-label")).to_have_text("官方安排")
    expect(page.locator("[data-date='2026-10-01']")).to_have_attribute("data-kind", "holiday")
    expect(page.locator("[data-date='2026-10-01']")).to_have_class("cal-day holiday")
    makeups = makeup_days(2026)
    assert "2026-10-10" in makeups  # Saturday worked for 国庆节
    for day in makeups:
        expect(page.locator(f"[data-date='{day}']")).to_have_attribute("data-kind", "makeup")
    expect(page.locator("[data-date='2026-10-03']")).to_have_attribute("data-kind", "weekend")
    expect(page.locator("[data-date='2026-10-09']")).to_have_attribute("data-kind", "work")
    shot(page, "calendar")

    # A year without an official arrangement: estimated, flagged.
    page.fill("#year-input", str(ESTIMATED_YEAR))
    page.get_by_role("button", name="查看").click()
    expect(root).to_have_attribute("data-year", str(ESTIMATED_YEAR))
    expect(page.locator("#basis-label")).to_have_text("按周末估算（该年安排未发布）")
    expect(page.locator("#cal-notice")).to_have_text(f"{ESTIMATED_YEAR}年放假安排未发布，期限为预估")
    expect(page.locator(f"[data-date='{ESTIMATED_YEAR}-10-01']")).to_have_attribute("data-kind", "work")

    # A wrong file: the server's message is shown next to the form, nothing changes.
    wrong = {"year": ESTIMATED_YEAR, "days": [{"name": "国庆节", "date": "2030-10-01", "isOffDay": True}]}
    page.fill("#cal-text", json.dumps(wrong, ensure_ascii=False))
    page.get_by_role("button", name=f"载入 {ESTIMATED_YEAR} 年放假安排").click()
    expect(page.locator("#cal-load-error")).to_contain_text(f"不属于 {ESTIMATED_YEAR} 年")
    page.fill("#cal-text", "{\"year\": 2031,")
    page.get_by_role("button", name=f"载入 {ESTIMATED_YEAR} 年放假安排").click()
    expect(page.locator("#cal-load-error")).to_contain_text("不是有效的 JSON")
    expect(page.locator("#basis-label")).to_have_text("按周末估算（该年安排未发布）")

    # The arrangement (invented for the test) loads; the days and the source change.
    days = [{"name": "国庆节", "date": f"{ESTIMATED_YEAR}-10-0{d}", "isOffDay": True} for d in range(1, 8)]
    days.append({"name": "国庆节", "date": f"{ESTIMATED_YEAR}-09-28", "isOffDay": False})  # a Sunday worked
    arrangement = {"year": ESTIMATED_YEAR, "note": "测试用虚构安排", "days": days}
    page.fill("#cal-text", json.dumps(arrangement, ensure_ascii=False, indent=2))
    page.get_by_role("button", name=f"载入 {ESTIMATED_YEAR} 年放假安排").click()
    expect(page.locator("#cal-load-result")).to_contain_text(f"已载入 {ESTIMATED_YEAR} 年放假安排；重新计算了")
    expect(page.locator("#cal-load-error")).to_be_hidden()
    expect(page.locator("#basis-label")).to_have_text("运营方录入")
    expect(page.locator("#cal-notice")).to_have_count(0)
    expect(page.locator(f"[data-date='{ESTIMATED_YEAR}-10-01']")).to_have_attribute("data-kind", "holiday")
    expect(page.locator(f"[data-date='{ESTIMATED_YEAR}-10-07']")).to_have_attribute("data-kind", "holiday")
    expect(page.locator(f"[data-date='{ESTIMATED_YEAR}-09-28']")).to_have_attribute("data-kind", "makeup")
    expect(page.locator(".cal-summary")).to_contain_text("工作日放假 5 天 · 调休上班 1 天")
    no_js_errors(page)


def test_a_supervisor_reads_the_calendar_without_the_load_form(sessions):
    page = sessions.as_("supervisor")
    page.goto("/admin/calendar?year=2026")
    expect(page.locator("#calendar-root")).to_have_attribute("data-year", "2026")
    expect(page.locator("[data-date='2026-10-01']")).to_have_attribute("data-kind", "holiday")
    expect(page.locator("#cal-load")).to_have_count(0)
    page.get_by_role("button", name="下一年").click()
    expect(page.locator("#calendar-root")).to_have_attribute("data-year", "2027")
    expect(page.locator("#basis-label")).to_have_text("按周末估算（该年安排未发布）")
    no_js_errors(page)
