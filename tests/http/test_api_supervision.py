"""Deadline and supervision endpoints: notifications, escalations, warnings, clocks, late filings and
rectifications, each for the roles that may and may not use them."""
from __future__ import annotations

import datetime as dt

from service.operations import reminders
from tests.operations.test_reminders import CFG, bj, first_task


def test_notifications_are_listed_for_the_unit_and_marked_read(api, ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    reminders.tick(ctx, bj("2026-04-29", 9), cfg=CFG)
    assert item.unit.name == "市民政局"
    r = api.as_("civil").get("/api/notifications?unread=true")
    assert r.status_code == 200
    (note,) = r.json
    assert note["kind"] == "remind_due" and note["work_item_id"] == item.id and "到期" in note["subject"]
    assert api.as_("health").get("/api/notifications").json == []  # another unit sees nothing of it
    assert api.as_("health").post(f"/api/notifications/{note['id']}/read").status_code == 403
    assert api.as_("civil").post(f"/api/notifications/{note['id']}/read").status_code == 200
    assert api.as_("civil").get("/api/notifications?unread=true").json == []
    assert api.as_("civil").get("/api/notifications?kind=nonsense").status_code == 422


def test_supervisor_sees_escalations_and_red_cards(api, ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    # 1, 3 and 5 working days overdue: May 1-5 are off and Sat 05-09 is a 调休 working day.
    for day in ("2026-04-30", "2026-05-07", "2026-05-09"):
        reminders.tick(ctx, bj(day), cfg=CFG)
    r = api.as_("supervisor").get("/api/escalations?unit=市民政局")
    assert r.status_code == 200 and {n["level"] for n in r.json} == {1, 2, 3}
    assert api.as_("civil").get("/api/escalations").status_code == 403
    red = api.as_("supervisor").get("/api/warnings").json
    assert [(w["work_item_id"], w["grade"]) for w in red if w["work_item_id"] == item.id] == [(item.id, "red")]
    assert api.as_("supervisor").get("/api/warnings/summary?by=unit").json["市民政局"]["red"] >= 1
    # A department sees its own unit's warnings only.
    assert all(w["unit"] == "市教育局" for w in api.as_("edu").get("/api/warnings").json)
    assert api.as_("edu").get("/api/warnings?unit=市民政局").status_code == 403
    assert api.as_("designer").get("/api/warnings").status_code == 403


def test_clock_pause_resume_and_extension(api, ctx, driver):
    item = first_task(ctx, driver, dt.date(2030, 4, 29))
    # 补正 belongs to the unit handling the task, or to supervision; never to another unit.
    assert api.as_("cac").post(f"/api/tasks/{item.id}/pause", json={"reason": "补正"}).status_code == 403
    assert api.as_("civil").post(f"/api/tasks/{item.id}/pause", json={"reason": " "}).status_code == 422
    r = api.as_("civil").post(f"/api/tasks/{item.id}/pause", json={"reason": "请补充投资估算明细"})
    assert r.status_code == 200
    assert api.as_("civil").post(f"/api/tasks/{item.id}/pause", json={"reason": "again"}).status_code == 409
    r = api.as_("civil").post(f"/api/tasks/{item.id}/resume")
    assert r.status_code == 200 and r.json["paused_working_days"] == 0
    # 延期 is granted by supervision only, in working days, with a reason.
    assert api.as_("civil").post(f"/api/tasks/{item.id}/extend",
                                   json={"working_days": 5, "reason": "x"}).status_code == 403
    assert api.as_("supervisor").post(f"/api/tasks/{item.id}/extend",
                                      json={"working_days": 0, "reason": "x"}).status_code == 422
    r = api.as_("supervisor").post(f"/api/tasks/{item.id}/extend",
                                   json={"working_days": 5, "reason": "涉及跨部门协调"})
    assert r.status_code == 200 and r.json["due_date"] == "2030-05-06"  # 2030: weekends only (no data yet)
    audit = api.as_("supervisor").get(f"/api/projects/{item.project_id}/audit").json
    actions = [a["action"] for a in audit["records"]] if isinstance(audit, dict) else [a["action"] for a in audit]
    assert {"clock_paused", "clock_resumed", "deadline_extended"} <= set(actions)


def test_rectification_blocks_declaration_until_closed(api, ctx, driver):
    data = driver.answer("declaration", {"budget_year": 2027, "participants": []})
    assert api.as_("edu").post("/api/rectifications", json={"unit": "市教育局", "reason": "x",
                                                            "due_date": "2027-01-31"}).status_code == 403
    r = api.as_("supervisor").post("/api/rectifications", json={"unit": "市教育局", "reason": "合同备案逾期",
                                                                "due_date": "2027-01-31"})
    assert r.status_code == 201
    rid = r.json["id"]
    refused = api.as_("edu").post("/api/projects", json={"data": data})
    assert refused.status_code == 422 and refused.json["error"]["article"] == "第二十七条"
    listed = api.as_("supervisor").get("/api/rectifications?open_only=true").json
    assert [(x["id"], x["unit"]) for x in listed] == [(rid, "市教育局")]
    assert api.as_("supervisor").post("/api/rectifications", json={"unit": "市教育局", "reason": "x",
                                                                   "due_date": "2027-13-01"}).status_code == 422
    assert api.as_("supervisor").post(f"/api/rectifications/{rid}/close", json={"note": "已整改"}).status_code == 200
    assert api.as_("supervisor").post(f"/api/rectifications/{rid}/close", json={}).status_code == 409
    assert api.as_("edu").post("/api/projects", json={"data": data}).status_code == 201
    assert api.as_("supervisor").get("/api/late-filings").status_code == 200
    assert api.as_("edu").get("/api/late-filings").status_code == 403


def test_auditor_reads_supervision_and_changes_nothing(api, driver):
    declared = driver.declare("市教育局", participants=[])
    item = driver.open_items(declared.project_id)[0]
    auditor = api.as_("auditor")
    for url in ("/api/escalations", "/api/warnings", "/api/warnings/summary", "/api/rectifications",
                "/api/late-filings", f"/api/projects/{declared.project_id}/audit"):
        assert auditor.get(url).status_code == 200, url
    refused = auditor.post("/api/rectifications", json={"unit": "市教育局", "reason": "x", "due_date": "2027-01-31"})
    assert refused.status_code == 403 and refused.json["error"]["message"] == "只有督办人员可以执行此操作"
    assert auditor.post(f"/api/tasks/{item.id}/extend", json={"working_days": 3, "reason": "x"}).status_code == 403
    assert auditor.post(f"/api/tasks/{item.id}/pause", json={"reason": "x"}).status_code == 403
    assert auditor.post(f"/api/tasks/{item.id}/complete", json={"data": {}}).status_code in (403, 404)
    assert api.as_("supervisor").get("/api/rectifications").status_code == 200
    assert api.as_("edu").get("/api/escalations").status_code == 403
