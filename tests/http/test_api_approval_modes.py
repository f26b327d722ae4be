"""审批方式 (会签) through the API on both databases: the task's `approval` line as units confirm, an
objection (有异议) that withdraws the third unit's confirmation and sends the declaration back to the
lead unit, which is told why; the withdrawn confirmation answers 409."""
from __future__ import annotations

UNITS = {"市民政局": "civil", "市卫生健康委员会": "health", "市自然资源和规划局": "nature"}
OBJECTION = "数据共享范围与本单位职责不符，请删去低保人员明细"


def _confirmations(api, pid: int) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    out = {}
    for unit, user in UNITS.items():
        rows = api.as_(user).get("/api/tasks/search?view=todo").json["items"]
        (row,) = [r for r in rows if r["project_id"] == pid]
        out[unit] = row
    return out


def test_countersign_mode_over_the_api(api, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=list(UNITS)).project_id
    rows = _confirmations(api, pid)
    civil, health, nature = (api.as_(u) for u in UNITS.values())
    first = civil.get(f"/api/tasks/{rows['市民政局']['id']}").json["approval"]
    assert (first["mode"], first["label"], first["total"], first["agreed"]) == ("all", "会签", 3, 0)
    assert first["summary"] == "会签：3 家中已有 0 家同意"

    agree = driver.answer("participant_confirmation")
    assert civil.post(f"/api/tasks/{rows['市民政局']['id']}/complete", json={"data": agree}).status_code == 200
    line = health.get(f"/api/tasks/{rows['市卫生健康委员会']['id']}").json["approval"]
    assert line["summary"] == "会签：3 家中已有 1 家同意" and line["decided"] == 1

    objection = driver.answer("participant_confirmation", {"confirmation": "有异议", "objection": OBJECTION})
    r = health.post(f"/api/tasks/{rows['市卫生健康委员会']['id']}/complete", json={"data": objection})
    assert r.status_code == 200, r.json
    # The third confirmation was withdrawn by the engine: its unit is told and its submit refused.
    r = nature.post(f"/api/tasks/{rows['市自然资源和规划局']['id']}/complete", json={"data": agree})
    assert r.status_code == 409 and "撤回" in r.json["error"]["message"]
    closed = nature.get("/api/notifications/search?kind=approval_closed").json["items"]
    assert len(closed) == 1 and "已撤销" in closed[0]["subject"]

    # The declaration is back with the lead unit, round 2, the objection on top, and 市教育局 is told.
    edu = api.as_("edu")
    (lead,) = [r for r in edu.get("/api/tasks/search?view=todo").json["items"]
               if r["project_id"] == pid]
    task = edu.get(f"/api/tasks/{lead['id']}").json
    assert task["task"] == "submit_declaration" and task["round"] == 2
    assert task["returned"]["kind"] == "objection" and task["returned"]["reason"] == OBJECTION
    told = edu.get("/api/notifications/search?kind=approval_objected").json["items"]
    assert len(told) == 1 and told[0]["work_item_id"] == lead["id"]
    assert "市卫生健康委员会" in told[0]["text"] and OBJECTION in told[0]["text"]
    # Another unit does not see the lead unit's message.
    assert civil.get("/api/notifications/search?kind=approval_objected").json["items"] == []
