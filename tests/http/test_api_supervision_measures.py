"""Supervision measures over HTTP, on both databases: a suspended project refuses completion with
第十四条, 市大数据局 resumes it, and the 第二十二条 / 第二十六条 actions go to the body the text names."""
from __future__ import annotations

from tests.operations.test_supervision_measures import suspended


def test_suspended_project_over_http(api, ctx, driver):
    pid, item_id = suspended(driver, ctx)
    refused = api.as_("edu").post(f"/api/tasks/{item_id}/complete",
                                  json={"data": driver.answer("construction_progress")})
    assert refused.status_code == 422
    assert refused.json["error"]["article"] == "第十四条" and "暂停建设" in refused.json["error"]["message"]
    detail = api.as_("edu").get(f"/api/projects/{pid}").json
    assert (detail["suspension"], detail["suspension_label"], detail["can_resume"]) == ("construction", "暂停建设",
                                                                                        False)
    rows = api.as_("supervisor").get("/api/projects").json
    assert [r["suspension_label"] for r in rows if r["id"] == pid] == ["暂停建设"]
    board = api.as_("supervisor").get("/api/supervision/measures").json
    assert [s["project"]["id"] for s in board["suspended"]] == [pid]
    assert api.as_("edu").get("/api/supervision/measures").status_code == 403
    for who in ("edu", "auditor", "finance"):
        assert api.as_(who).post(f"/api/projects/{pid}/resume", json={}).status_code == 403
    assert api.as_("bigdata").get(f"/api/projects/{pid}").json["can_resume"] is True
    ok = api.as_("bigdata").post(f"/api/projects/{pid}/resume", json={"note": "已整改"})
    assert ok.status_code == 200 and ok.json["tasks"][0]["id"] == item_id
    assert api.as_("bigdata").post(f"/api/projects/{pid}/resume", json={}).status_code == 409
    done = api.as_("edu").post(f"/api/tasks/{item_id}/complete",
                               json={"data": driver.answer("construction_progress")})
    assert done.status_code == 200, done.json
    trail = api.as_("supervisor").get(f"/api/projects/{pid}/audit").json
    assert trail["verified"] and {"project_suspended", "project_resumed"} <= {r["action"] for r in trail["records"]}


def test_supervision_actions_over_http(api, ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027).project_id
    url = f"/api/projects/{pid}/supervision-actions"
    funds = {"kind": "om_funding_withheld", "reason": "数据资源未按要求汇聚更新",
             "grounds": ["未按要求汇聚并更新数据资源"], "from_year": 2028, "amount": 20}
    denied = api.as_("supervisor").post(url, json=funds)
    assert denied.status_code == 403 and denied.json["error"]["article"] == "第二十六条"
    assert api.as_("auditor").post(url, json=funds).status_code == 403
    made = api.as_("finance").post(url, json=funds)
    assert made.status_code == 201 and made.json["authority"] == "市财政局"
    bad = api.as_("supervisor").post(url, json={"kind": "deregister", "reason": "停用", "usage": "无人使用"})
    assert bad.status_code == 422 and bad.json["error"]["errors"][0]["path"] == "usage"
    dereg = api.as_("supervisor").post(url, json={"kind": "deregister", "reason": "停用一年", "usage": "不再使用",
                                                  "proposal": "建设单位申请注销"})
    assert dereg.status_code == 201 and dereg.json["article"] == "第二十二条"
    detail = api.as_("edu").get(f"/api/projects/{pid}").json
    assert [a["label"] for a in detail["supervision_actions"]] == ["注销", "不予安排后续运行维护经费"]
    assert detail["can_record"] == []
    assert api.as_("supervisor").get(f"/api/projects/{pid}").json["can_record"] == [
        "deregister", "merge", "operation_suspended"]
