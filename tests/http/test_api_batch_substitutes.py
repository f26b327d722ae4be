"""批量办理 and 代理 through the API, on both databases."""
from __future__ import annotations

import datetime as dt

import pytest

from service.operations import identity, substitutes


@pytest.fixture
def colleague(app, ctx):  # type: ignore[no-untyped-def]
    # Before `api`, so a token is issued for them too.
    identity.create_user(ctx, "civil2", unit="市民政局", roles=["department"], password=None, display_name="钱伟")


def _confirmations(driver, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        pid = driver.declare("市教育局", budget_year=2027, participants=["市民政局"]).project_id
        out.append(driver.item(pid, "confirm_declaration").id)
    return out


def test_batch_complete_reports_each_item(api, driver):
    ids = _confirmations(driver, 3)
    civil = api.as_("civil")
    assert civil.post(f"/api/tasks/{ids[2]}/complete", json={"data": driver.answer("participant_confirmation")}
                      ).status_code == 200
    r = civil.post("/api/tasks/batch-complete", json={"ids": ids, "data": driver.answer("participant_confirmation")})
    assert r.status_code == 200
    assert (r.json["succeeded"], r.json["failed"]) == (2, 1)
    assert [x["ok"] for x in r.json["results"]] == [True, True, False]
    assert r.json["results"][2]["error"] == "该任务已办结"
    assert r.json["results"][0]["project_code"].startswith("DY")
    # The inbox marks batchable rows.
    pid = driver.declare("市教育局", budget_year=2027, participants=["市民政局"]).project_id
    rows = civil.get("/api/tasks/search?view=todo").json["items"]
    assert [x["batchable"] for x in rows if x["project_id"] == pid] == [True]
    fin = api.as_("finance").get("/api/tasks/search?view=todo").json["items"]
    assert fin and not any(x["batchable"] for x in fin)


@pytest.mark.parametrize("body", [{"ids": list(range(1, 52)), "data": {}}, {"ids": "1", "data": {}},
                                  {"ids": [1], "data": []}, {"ids": [], "data": {}}])
def test_batch_complete_refuses_malformed_requests(api, body):
    r = api.as_("civil").post("/api/tasks/batch-complete", json=body)
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"


def _period(start: int = 0, end: int = 3, who: str = "civil2") -> dict[str, str]:
    t = substitutes.today()
    return {"substitute": who, "starts_on": (t + dt.timedelta(days=start)).isoformat(),
            "ends_on": (t + dt.timedelta(days=end)).isoformat()}


def test_substitute_works_the_absent_users_task(colleague, api, driver):
    (item_id,) = _confirmations(driver, 1)
    civil, civil2 = api.as_("civil"), api.as_("civil2")
    assert civil.post(f"/api/tasks/{item_id}/claim").status_code == 200
    data = {"data": driver.answer("participant_confirmation")}
    r = civil2.post(f"/api/tasks/{item_id}/complete", json=data)
    assert r.status_code == 409 and "赵文静" in r.json["error"]["message"]
    r = civil.post("/api/me/substitutes", json=_period())
    assert r.status_code == 201 and r.json["substitute_name"] == "钱伟" and r.json["state"] == "running"
    assert civil.post("/api/me/substitutes", json=_period(2, 4)).status_code == 409
    assert civil.post("/api/me/substitutes", json=_period(who="civil")).status_code == 400
    assert civil.post("/api/me/substitutes", json=_period(who="edu")).status_code == 400
    over = civil2.get("/api/me/substitutes").json
    assert [x["username_name"] for x in over["for_me"]] == ["赵文静"]
    assert over["covering_today"] == [{"username": "civil", "name": "赵文静"}]
    assert [c["username"] for c in civil.get("/api/me/substitutes").json["candidates"]] == ["civil2"]
    rows = civil2.get("/api/tasks/search?view=todo&mine=true").json["items"]
    assert [(x["id"], x["on_behalf_of"]) for x in rows] == [(item_id, "civil")]
    r = civil2.post(f"/api/tasks/{item_id}/complete", json=data)
    assert r.status_code == 200
    pid = r.json["project_id"]
    trail = civil.get(f"/api/projects/{pid}/audit").json
    records = trail["records"] if isinstance(trail, dict) else trail
    done = [x for x in records if x["action"] == "task_completed" and x["work_item_id"] == item_id]
    assert done[0]["actor"] == "civil2" and done[0]["detail"]["on_behalf_of"] == "civil"
    assert done[0]["on_behalf_of_name"] == "赵文静"
    notes = civil2.get("/api/notifications/search").json["items"]
    assert any(n["kind"] == "substitute" and "钱伟" in n["text"] for n in notes)
    # Cancelled: nothing more on civil's behalf.
    sid = civil.get("/api/me/substitutes").json["mine"][0]["id"]
    assert civil2.post(f"/api/me/substitutes/{sid}/cancel").status_code == 404
    r = civil.post(f"/api/me/substitutes/{sid}/cancel")
    assert r.status_code == 200 and r.json["state"] == "cancelled"
    assert civil2.get("/api/me/substitutes").json["covering_today"] == []


def test_only_workers_name_substitutes(api):
    assert api.as_("supervisor").get("/api/me/substitutes").status_code == 403
    assert api.as_("designer").post("/api/me/substitutes", json=_period()).status_code == 403
