"""撤回 through the API (both databases): can_withdraw on the task and in 已办, the action, its 409s."""
from __future__ import annotations


def _submitted_budget(api, driver) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="submit_budget")
    step = driver.item(pid, "submit_budget")
    data = driver.answer(step.form, {"notes": "第一次提交"})
    r = api.as_("edu").post(f"/api/tasks/{step.id}/complete", json={"data": data})
    assert r.status_code == 200, r.json
    return pid, step.id


def test_withdraw_through_the_api(api, ctx, driver):
    pid, step_id = _submitted_budget(api, driver)
    edu, finance = api.as_("edu"), api.as_("finance")
    assert edu.get(f"/api/tasks/{step_id}").json["can_withdraw"] is True
    assert finance.get(f"/api/tasks/{step_id}").json["can_withdraw"] is False
    done = edu.get("/api/tasks/search?view=done").json["items"]
    assert [(row["id"], row["can_withdraw"]) for row in done] == [(step_id, True)]

    r = finance.post(f"/api/tasks/{step_id}/withdraw")
    assert r.status_code == 409 and r.json["error"]["message"].startswith("该步骤不是您办理的")

    r = edu.post(f"/api/tasks/{step_id}/withdraw")
    assert r.status_code == 200, r.json
    reopened = r.json["work_item_id"]
    assert len(r.json["cancelled"]) == 1
    task = edu.get(f"/api/tasks/{reopened}").json
    assert task["state"] == "open" and task["data"]["notes"] == "第一次提交" and task["assignee"] == "edu"
    assert edu.get("/api/tasks/search?view=done").json["items"] == []
    messages = finance.get("/api/notifications/search?kind=withdrawn").json["items"]
    assert len(messages) == 1 and "撤回" in messages[0]["subject"]
    r = edu.post(f"/api/tasks/{step_id}/withdraw")
    assert r.status_code == 409 and "已撤回" in r.json["error"]["message"]
    assert "/api/tasks/{task_id}/withdraw" in edu.get("/api/openapi.json").json["paths"]


def test_refused_once_the_next_unit_claimed(api, ctx, driver):
    pid, step_id = _submitted_budget(api, driver)
    nxt = driver.item(pid, "budget_review")
    assert api.as_("finance").post(f"/api/tasks/{nxt.id}/claim").status_code == 200
    edu = api.as_("edu")
    assert edu.get(f"/api/tasks/{step_id}").json["can_withdraw"] is False
    r = edu.post(f"/api/tasks/{step_id}/withdraw")
    assert r.status_code == 409
    assert r.json["error"]["message"] == "下一步“预算评审”已由 市财政局 认领，不能撤回"
