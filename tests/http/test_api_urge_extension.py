"""催办 and 延期申请 over HTTP, on both databases, with the app's clock fixed."""
from __future__ import annotations

import datetime as dt

from service.domain.access import Actor
from service.operations import approvals
from tests.operations.test_reminders import bj, first_task


def test_urge_over_http(api, app, ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    app.config["GOVFLOW_CLOCK"] = lambda: bj("2026-04-28")
    r = api.as_("edu").post(f"/api/tasks/{item.id}/urge", json={"note": "请加快办理"})
    assert r.status_code == 201 and r.json["count"] == 1
    again = api.as_("supervisor").post(f"/api/tasks/{item.id}/urge", json={})
    assert again.status_code == 409 and again.json["error"]["code"] == "already_urged"
    assert "今日已催办过，请于下一个工作日" in again.json["error"]["message"]
    assert api.as_("civil").post(f"/api/tasks/{item.id}/urge", json={}).status_code == 403
    assert api.as_("auditor").post(f"/api/tasks/{item.id}/urge", json={}).status_code == 403
    assert api.as_("health").post(f"/api/tasks/{item.id}/urge", json={}).status_code == 404
    app.config["GOVFLOW_CLOCK"] = lambda: bj("2026-04-29")
    assert api.as_("supervisor").post(f"/api/tasks/{item.id}/urge", json={}).status_code == 201
    # The holding unit sees the urge in its messages.
    notes = [n for n in api.as_("civil").get("/api/notifications").json if n["kind"] == "urge"]
    assert len(notes) == 2 and any("请加快办理" in n["text"] for n in notes)
    summary = api.as_("supervisor").get("/api/supervision/urges/summary?from=2026-04-01&to=2026-04-30")
    assert summary.status_code == 200 and summary.json["by_unit"][0] == {"unit": "市民政局", "urges": 2, "tasks": 1}
    assert api.as_("edu").get("/api/supervision/urges/summary").status_code == 403
    actions = api.as_("edu").get(f"/api/tasks/{item.id}/deadline-actions").json
    assert len(actions["urges"]) == 2 and actions["urges"][0]["by_user_name"] == "王晓燕"
    assert actions["may"]["urge"] and not actions["may"]["request_extension"]


def test_extension_request_approve_and_refuse_over_http(api, app, ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    app.config["GOVFLOW_CLOCK"] = lambda: bj("2026-04-28")
    url = f"/api/tasks/{item.id}/extension-requests"
    assert api.as_("edu").post(url, json={"days": 3, "reason": "x"}).status_code == 403
    bad = api.as_("civil").post(url, json={"days": 31, "reason": "x"})
    assert bad.status_code == 422 and bad.json["error"]["errors"][0]["path"] == "days"
    assert api.as_("civil").post(url, json={"days": 3}).status_code == 422
    r = api.as_("civil").post(url, json={"days": 3, "reason": "需补充材料"})
    assert r.status_code == 201 and r.json["state"] == "pending"
    rid = r.json["id"]
    assert api.as_("civil").post(url, json={"days": 2, "reason": "again"}).status_code == 409
    listed = api.as_("supervisor").get("/api/supervision/extension-requests?state=pending&per_page=10")
    assert listed.status_code == 200 and [x["id"] for x in listed.json["items"]] == [rid]
    assert listed.json["items"][0]["requested_by_name"] == "赵文静"
    assert api.as_("civil").get("/api/supervision/extension-requests").status_code == 403
    assert api.as_("supervisor").get("/api/supervision/extension-requests?state=nonsense").status_code == 422
    assert api.as_("civil").post(f"/api/supervision/extension-requests/{rid}/approve", json={}).status_code == 403
    ok = api.as_("supervisor").post(f"/api/supervision/extension-requests/{rid}/approve", json={"note": "同意"})
    assert ok.status_code == 200 and ok.json["new_due_date"] == "2026-05-07"
    assert api.as_("civil").get(f"/api/tasks/{item.id}").json["due_date"] == "2026-05-07"
    assert api.as_("supervisor").post(f"/api/supervision/extension-requests/{rid}/refuse",
                                      json={"note": "x"}).status_code == 409
    second = api.as_("civil").post(url, json={"days": 2, "reason": "再延两天"}).json["id"]
    assert api.as_("supervisor").post(f"/api/supervision/extension-requests/{second}/refuse",
                                      json={}).status_code == 422
    no = api.as_("supervisor").post(f"/api/supervision/extension-requests/{second}/refuse", json={"note": "不同意"})
    assert no.status_code == 200 and no.json["state"] == "refused"
    history = api.as_("edu").get(f"/api/projects/{item.project_id}").json["history"]
    seen = [h["action"] for h in history]
    assert {"extension_requested", "deadline_extended", "extension_refused"} <= set(seen)
    decided = api.as_("civil").get(f"/api/tasks/{item.id}/deadline-actions").json["extension_requests"]
    assert [(x["state"], x["new_due_date"]) for x in decided] == [("approved", "2026-05-07"), ("refused", None)]
    assert api.as_("supervisor").post("/api/supervision/extension-requests/999999/approve",
                                      json={}).status_code == 404


def test_request_decision_and_urge_are_in_the_approval_document(api, app, ctx, driver):
    item = first_task(ctx, driver, dt.date(2026, 4, 29))
    app.config["GOVFLOW_CLOCK"] = lambda: bj("2026-04-28")
    rid = api.as_("civil").post(f"/api/tasks/{item.id}/extension-requests",
                                json={"days": 3, "reason": "等待数据共享批复"}).json["id"]
    api.as_("supervisor").post(f"/api/supervision/extension-requests/{rid}/approve", json={"note": "同意"})
    api.as_("edu").post(f"/api/tasks/{item.id}/urge", json={"note": "请尽快确认"})
    driver.complete(item.project_id, item.task_name)
    # The 审批单 (web and dossier ZIP render the same document).
    text, _ = approvals.approval_html(ctx, item.id, Actor("edu", "市教育局", frozenset({"department"})))
    assert "延期与催办" in text and "申请延期 3 个工作日（原期限 2026-04-29）：等待数据共享批复" in text
    assert "新期限 2026-05-07" in text and "请尽快确认" in text and "赵文静" in text
