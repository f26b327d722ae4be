"""暂存 through the API: GET/PUT/DELETE /api/tasks/{id}/draft, and the second round on GET /api/tasks/{id}."""
from __future__ import annotations

from service.operations import task_actions
from service.scenario import worker


def test_draft_round_trip_permissions_and_completion(api, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="submit_budget")
    item = driver.item(pid, "submit_budget")
    url = f"/api/tasks/{item.id}/draft"
    edu = api.as_("edu")
    assert edu.get(url).json == {"draft": None}
    r = edu.put(url, json={"data": {"notes": "先写一半", "budget_amount": 100}})
    assert r.status_code == 200 and r.json["data"] == {"notes": "先写一半", "budget_amount": 100}
    assert edu.get(url).json["draft"]["data"]["notes"] == "先写一半"
    assert api.as_("edu_leader").get(url).json == {"draft": None}  # per user
    assert api.as_("health").put(url, json={"data": {}}).status_code == 404  # another unit
    assert api.as_("health").get(url).status_code == 404
    assert api.as_("supervisor").put(url, json={"data": {}}).status_code == 403
    r = edu.put(url, json={"data": "text"})
    assert r.status_code == 422 and r.json["error"]["errors"][0]["path"] == "data", r.json
    assert edu.put(url, json={"data": {"nested": [[[]]]}}).status_code == 200
    r = edu.delete(url)
    assert r.json == {"ok": True, "deleted": True}
    assert edu.get(url).json == {"draft": None}
    edu.put(url, json={"data": {"notes": "再写"}})
    driver.complete(pid, "submit_budget")
    assert edu.get(url).json == {"draft": None}
    r = edu.put(url, json={"data": {"notes": "晚了"}})
    assert r.status_code == 409 and r.json["error"]["message"] == "该任务已办结，不能再暂存"


def test_round_two_carries_the_previous_round_and_the_reason(api, driver, ctx):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="budget_review")
    review = driver.item(pid, "budget_review")
    task_actions.send_back(ctx, review.id, worker("市财政局"), "submit_budget", "请补充测算依据")
    again = driver.item(pid, "submit_budget")
    body = api.as_("edu").get(f"/api/tasks/{again.id}").json
    assert body["round"] == 2 and body["returned_reason"] == "请补充测算依据"
    assert body["previous_round"]["data"]["budget_amount"] == driver.answer("budget_submission")["budget_amount"]


def test_the_draft_routes_are_in_the_openapi_document(api):
    paths = api.as_("edu").get("/api/openapi.json").json["paths"]
    assert set(paths["/api/tasks/{task_id}/draft"]) == {"get", "put", "delete"}
