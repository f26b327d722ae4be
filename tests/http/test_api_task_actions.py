"""Approval actions through the API."""
from __future__ import annotations

from service.operations import identity


def test_actions_through_the_api(api, ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    (item,) = driver.open_items(pid)
    identity.create_user(ctx, "finance2", unit="市财政局", roles=["reviewer"], password=None)
    fin = api.as_("finance")
    r = fin.post(f"/api/tasks/{item.id}/delegate", json={"user": "finance2"})
    assert r.status_code == 200 and r.json["assignee"] == "finance2"
    r = fin.post(f"/api/tasks/{item.id}/opinions", json={"text": "请财政2核实"})
    assert r.status_code == 201
    users = fin.get("/api/users").json
    assert {u["username"] for u in users} == {"finance", "finance2"}
    r = fin.post(f"/api/tasks/{item.id}/send-back", json={"to_task": "x", "reason": "y"})
    assert r.status_code == 409  # delegated to finance2: finance may not act on it now
