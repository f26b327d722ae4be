"""Paged, searchable lists (docs/lists.md): 待办 / 已办 / 我发起的, the 项目库 register, messages and
their unread count, and the "next step" a submit reports, on both databases."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from service.operations import identity, reminders
from service.storage.models import WorkItem
from tests.operations.test_reminders import CFG, bj, first_task

# The first demo worker of each unit (edu for 市教育局, civil for 市民政局 …).
USER_OF = {unit: name for name, unit, roles, _ in reversed(identity.DEMO_USERS)
           if unit and {"department", "reviewer"} & set(roles)}


def _declare(driver, unit: str, name: str) -> int:  # type: ignore[no-untyped-def]
    return driver.declare(unit, project_name=name, budget_year=2027).project_id


def _first(api, user: str, pid: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    rows = api.as_(user).get(f"/api/tasks?project_id={pid}").json
    return rows[0]


def test_todo_searches_by_code_and_name_with_literal_wildcards_and_pages(api, driver):
    pids = [_declare(driver, "市教育局", f"智慧教育平台{i}") for i in range(3)]
    odd = _declare(driver, "市教育局", "教育_数据%中心")
    unit = _first(api, "supervisor", pids[0])["unit"]
    user = USER_OF[unit]
    page = api.as_(user).get("/api/tasks/search?view=todo&per_page=2").json
    assert page["total"] == 4 and page["page"] == 1 and page["per_page"] == 2 and page["pages"] == 2
    assert len(page["items"]) == 2
    second = api.as_(user).get("/api/tasks/search?per_page=2&page=2").json
    assert len(second["items"]) == 2
    assert {r["id"] for r in page["items"]}.isdisjoint({r["id"] for r in second["items"]})
    beyond = api.as_(user).get("/api/tasks/search?per_page=2&page=9").json
    assert beyond["items"] == [] and beyond["total"] == 4

    code = api.as_(user).get(f"/api/projects/{pids[1]}").json["code"]
    found = api.as_(user).get(f"/api/tasks/search?q={code.lower()}").json  # case-insensitive
    assert found["total"] == 1 and found["items"][0]["project"]["code"] == code
    by_name = api.as_(user).get("/api/tasks/search?q=智慧教育").json
    assert by_name["total"] == 3
    # % and _ are the characters typed, not wildcards.
    assert [r["project_id"] for r in api.as_(user).get("/api/tasks/search?q=_数据%").json["items"]] == [odd]
    assert api.as_(user).get("/api/tasks/search?q=%").json["total"] == 1
    assert api.as_(user).get("/api/tasks/search?q=教_").json["total"] == 0


def test_bounds_are_refused_in_chinese(api):
    r = api.as_("edu").get("/api/tasks/search?per_page=100000")
    assert r.status_code == 422 and "per_page" in r.get_data(as_text=True) and "须在" in r.get_data(as_text=True)
    assert api.as_("edu").get("/api/tasks/search?page=0").status_code == 422
    assert api.as_("edu").get("/api/tasks/search?view=all").status_code == 422
    assert api.as_("edu").get("/api/tasks/search?due=late").status_code == 422
    assert api.as_("edu").get("/api/tasks/search?view=done&due=due_soon").status_code == 422
    assert api.as_("edu").get("/api/projects/search?per_page=101").status_code == 422
    assert api.as_("edu").get("/api/notifications/search?per_page=0").status_code == 422
    assert api.as_("designer").get("/api/tasks/search").status_code == 403


def test_filters_cannot_widen_a_unit_s_view(api, driver):
    pid = _declare(driver, "市教育局", "教育云")
    unit = _first(api, "supervisor", pid)["unit"]
    assert unit != "市卫生健康委员会"
    # health asks for the reviewing unit's tasks, by unit and by the project's code: nothing.
    code = api.as_("supervisor").get(f"/api/projects/{pid}").json["code"]
    for query in (f"unit={unit}", f"q={code}", f"unit={unit}&q={code}", "unit=市教育局"):
        assert api.as_("health").get(f"/api/tasks/search?{query}").json["total"] == 0, query
    # The supervisor reads every unit's tasks and narrows by unit.
    sup = api.as_("supervisor").get(f"/api/tasks/search?unit={unit}&q={code}").json
    assert sup["total"] >= 1 and all(r["unit"] == unit for r in sup["items"])
    # 我发起的 of health does not list 市教育局's project even when searched by its code.
    assert api.as_("health").get(f"/api/tasks/search?view=mine&q={code}").json["total"] == 0


def test_done_lists_what_i_completed_with_its_decision_and_mine_shows_who_acts(api, ctx, driver):
    pid = _declare(driver, "市教育局", "教育资源公共服务平台")
    _declare(driver, "市卫生健康委员会", "全民健康信息平台")
    row = _first(api, "supervisor", pid)
    user = USER_OF[row["unit"]]
    task = api.as_(user).get(f"/api/tasks/{row['id']}").json
    data = driver.answer(task["form"])
    r = api.as_(user).post(f"/api/tasks/{row['id']}/complete", json={"data": data})
    assert r.status_code == 200, r.json
    nxt = r.json["next"]
    assert nxt and all(n["unit"] and n["title"] for n in nxt)
    assert {n["id"] for n in nxt} == set(r.json["opened"]) or r.json["opened"] == []

    done = api.as_(user).get("/api/tasks/search?view=done").json
    assert done["total"] == 1
    (item,) = done["items"]
    assert item["id"] == row["id"] and item["completed_by"] == user and item["state"] == "completed"
    decision_keys = [k for k in data if k.endswith(("decision", "result", "conclusion"))]
    if decision_keys:
        assert item["decision"] == data[decision_keys[0]]
    assert api.as_(user).get("/api/tasks/search?view=done&due=overdue").json["total"] == 0
    assert api.as_(user).get("/api/tasks/search?view=done&due=ok").json["total"] == 1
    # Someone else of another unit has done nothing.
    assert api.as_("health").get("/api/tasks/search?view=done").json["total"] == 0

    mine = api.as_("edu").get("/api/tasks/search?view=mine").json
    assert mine["total"] == 1  # health's project is not 市教育局's
    (project,) = mine["items"]
    assert project["id"] == pid and project["current_tasks"]
    assert {t["unit"] for t in project["current_tasks"]} == {n["unit"] for n in nxt}
    dues = [t["due_date"] for t in project["current_tasks"] if t["due_date"]]
    assert project["due_date"] == (min(dues) if dues else None)
    acting = nxt[0]["unit"]
    assert api.as_("edu").get(f"/api/tasks/search?view=mine&unit={acting}").json["total"] == 1
    assert api.as_("edu").get("/api/tasks/search?view=mine&unit=市审计局").json["total"] == 0


def test_due_filter_splits_overdue_soon_and_ok(api, ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))  # long past: overdue
    other = driver.open_items(item.project_id)
    user = USER_OF[item.unit.name]
    overdue = api.as_(user).get("/api/tasks/search?due=overdue").json
    assert item.id in {r["id"] for r in overdue["items"]}
    ok = api.as_(user).get("/api/tasks/search?due=ok").json
    assert item.id not in {r["id"] for r in ok["items"]}
    with ctx.db.session() as s:
        row = s.get(WorkItem, item.id)
        today = dt.datetime.now(dt.UTC).date()
        row.due_date = today + dt.timedelta(days=1)
        row.due_at = dt.datetime.combine(row.due_date, dt.time(16))
    soon = api.as_(user).get("/api/tasks/search?due=due_soon").json
    assert item.id in {r["id"] for r in soon["items"]}
    total = api.as_(user).get("/api/tasks/search").json["total"]
    parts = sum(api.as_(user).get(f"/api/tasks/search?due={d}").json["total"] for d in ("overdue", "due_soon", "ok"))
    assert parts == total and other


def test_register_pages_searches_and_offers_choices(api, driver):
    for i in range(5):
        _declare(driver, "市教育局", f"教育项目{i}")
    _declare(driver, "市卫生健康委员会", "健康码升级")
    page = api.as_("health").get("/api/projects/search?per_page=4").json
    assert page["total"] == 6 and len(page["items"]) == 4 and page["pages"] == 2
    assert page["items"][0]["name"] == "健康码升级"  # newest first
    assert api.as_("health").get("/api/projects/search?q=教育项目&per_page=4&page=2").json["items"][0]["name"] \
        == "教育项目0"
    assert api.as_("edu").get("/api/projects/search?unit=市卫生健康委员会").json["total"] == 1
    assert api.as_("edu").get("/api/projects/search?year=2030").json["total"] == 0
    assert api.as_("edu").get("/api/projects/search?status=active&q=健康").json["total"] == 1
    choices = api.as_("edu").get("/api/projects/choices").json
    assert choices["years"] == [2027] and choices["units"] == sorted(["市教育局", "市卫生健康委员会"])
    assert choices["stages"]
    # The old array endpoint is unchanged for its callers.
    assert len(api.as_("edu").get("/api/projects").json) == 6


def test_messages_page_search_and_unread_count(api, ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    reminders.tick(ctx, bj("2026-04-29", 9), cfg=CFG)
    reminders.tick(ctx, bj("2026-04-30"), cfg=CFG)
    assert item.unit.name == "市民政局"
    count = api.as_("civil").get("/api/notifications/unread-count").json["unread"]
    assert count >= 2
    assert api.as_("health").get("/api/notifications/unread-count").json["unread"] == 0
    assert api.as_("designer").get("/api/notifications/unread-count").json["unread"] == 0
    page = api.as_("civil").get("/api/notifications/search?per_page=1").json
    assert page["total"] == count and len(page["items"]) == 1
    code = api.as_("civil").get(f"/api/projects/{item.project_id}").json["code"]
    assert api.as_("civil").get(f"/api/notifications/search?q={code}").json["total"] == count
    assert api.as_("civil").get("/api/notifications/search?q=没有这个项目").json["total"] == 0
    assert api.as_("health").get(f"/api/notifications/search?q={code}").json["total"] == 0
    first = page["items"][0]["id"]
    assert api.as_("civil").post(f"/api/notifications/{first}/read").status_code == 200
    assert api.as_("civil").get("/api/notifications/unread-count").json["unread"] == count - 1
    assert api.as_("civil").get("/api/notifications/search?unread=true").json["total"] == count - 1


def test_a_page_costs_the_same_statements_for_any_number_of_rows(api, ctx, driver):
    for i in range(6):
        _declare(driver, "市教育局", f"项目{i}")
    api.as_("edu").get("/api/tasks/search?view=mine")  # warm caches
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    def run(url: str) -> int:
        statements.clear()
        assert api.as_("edu").get(url).status_code == 200
        return len(statements)

    event.listen(ctx.db.engine, "before_cursor_execute", count)
    try:
        for view in ("mine", "done"):
            assert run(f"/api/tasks/search?view={view}&per_page=1") == run(f"/api/tasks/search?view={view}&per_page=50")
        assert run("/api/projects/search?per_page=1") == run("/api/projects/search?per_page=50")
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", count)


def test_dashboard_tables_page_with_the_unit_named(api):
    units = ["市教育局", "市民政局", "市卫生健康委员会"]
    for unit in units:
        r = api.as_("supervisor").post("/api/rectifications", json={"unit": unit, "reason": f"{unit}备案逾期",
                                                                    "due_date": "2027-01-31"})
        assert r.status_code == 201
    page = api.as_("supervisor").get("/api/rectifications/search?per_page=2").json
    assert page["total"] == 3 and len(page["items"]) == 2 and page["pages"] == 2
    assert [r["unit"] for r in page["items"]] == units[::-1][:2]  # newest first, with the unit's name
    rest = api.as_("auditor").get("/api/rectifications/search?per_page=2&page=2").json
    assert [r["unit"] for r in rest["items"]] == [units[0]]
    assert api.as_("supervisor").get("/api/rectifications/search?unit=市民政局").json["total"] == 1
    closed = page["items"][0]["id"]
    assert api.as_("supervisor").post(f"/api/rectifications/{closed}/close", json={"note": "已整改"}).status_code == 200
    assert api.as_("supervisor").get("/api/rectifications/search?open_only=true").json["total"] == 2
    assert api.as_("edu").get("/api/rectifications/search").status_code == 403
    late = api.as_("supervisor").get("/api/late-filings/search").json
    assert late["total"] == 0 and late["items"] == []
    assert api.as_("edu").get("/api/late-filings/search").status_code == 403
    assert api.as_("supervisor").get("/api/late-filings/search?per_page=500").status_code == 422


def test_declaring_says_who_acts_next(api, driver):
    data = driver.answer("declaration", {"budget_year": 2027, "participants": []})
    r = api.as_("edu").post("/api/projects", json={"data": data})
    assert r.status_code == 201
    nxt = r.json["next"]
    assert [n["id"] for n in nxt] == sorted(r.json["open_tasks"]) and nxt
    assert all(n["unit"] != "市教育局" and n["title"] for n in nxt)


def test_dashboard_overdue_tasks_page_on_the_server(api, ctx, driver):
    """逾期与督办任务 (GET /api/warnings/search): graded, filtered and sorted by the server, a page at a
    time with the total; the most overdue first; the project named on each row."""
    from tests.operations.test_reminders import set_due

    items = []
    for due in (dt.date(2026, 4, 29), dt.date(2026, 3, 2), dt.date(2026, 6, 1)):
        pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
        item = driver.open_items(pid)[0]
        set_due(ctx, item.id, due)
        items.append(item)
    full = api.as_("supervisor").get("/api/warnings/search?per_page=100").json
    ours = [w for w in full["items"] if w["work_item_id"] in {i.id for i in items}]
    assert len(ours) == 3 and full["total"] >= 3
    days = [w["overdue_working_days"] for w in ours]
    assert days == sorted(days, reverse=True) and ours[0]["work_item_id"] == items[1].id  # March first
    assert ours[0]["project_code"].startswith("DY") and ours[0]["project_name"]
    first = api.as_("supervisor").get("/api/warnings/search?per_page=2").json
    second = api.as_("auditor").get("/api/warnings/search?per_page=2&page=2").json
    assert first["total"] == second["total"] == full["total"] and len(first["items"]) == 2
    assert [w["work_item_id"] for w in first["items"] + second["items"]][:full["total"]] == \
        [w["work_item_id"] for w in full["items"]][:len(first["items"]) + len(second["items"])]
    assert api.as_("supervisor").get("/api/warnings/search?unit=市民政局").json["total"] == \
        sum(1 for w in full["items"] if w["unit"] == "市民政局")
    assert api.as_("supervisor").get("/api/warnings/search?min_level=9").json["total"] == 0
    assert api.as_("supervisor").get("/api/warnings/search?min_level=10").status_code == 422
    assert api.as_("edu").get("/api/warnings/search").status_code == 403
