"""加签 through the API on both databases: add, the task view's list, refusals with their status,
the signer's inbox and page, sign, 后加签 held by complete and released by the last signature."""
from __future__ import annotations


def test_countersign_through_the_api(api, ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    (item,) = driver.open_items(pid)
    fin, police, cac = api.as_("finance"), api.as_("police"), api.as_("cac")
    r = fin.post(f"/api/tasks/{item.id}/countersigns", json={"kind": "before", "signers": [{"user": "finance"}]})
    assert r.status_code == 422 and "不能加签给自己" in r.json["error"]["errors"][0]["message"]
    assert fin.post(f"/api/tasks/{item.id}/countersigns", json={"kind": "x", "signers": []}).status_code == 422
    assert police.post(f"/api/tasks/{item.id}/countersigns",
                       json={"kind": "before", "signers": [{"unit": "市委网信办"}]}).status_code == 403
    cands = fin.get(f"/api/tasks/{item.id}/countersign-candidates").json
    assert "市公安局" in cands["units"] and "市财政局" not in cands["units"]
    assert "finance" not in {p["username"] for p in cands["people"]}

    r = fin.post(f"/api/tasks/{item.id}/countersigns",
                 json={"kind": "before", "signers": [{"unit": "市公安局"}], "note": "请核实"})
    assert r.status_code == 201
    (before,) = r.json
    r = fin.post(f"/api/tasks/{item.id}/countersigns", json={"kind": "after", "signers": [{"user": "cac"}]})
    (after,) = r.json
    view = fin.get(f"/api/tasks/{item.id}").json
    assert [(c["kind"], c["signer"], c["state"]) for c in view["countersigns"]] == [
        ("before", "市公安局", "open"), ("after", "吴磊（市委网信办）", "open")]
    assert view["countersign_hold"] is None

    data = driver.answer(item.form)
    r = fin.post(f"/api/tasks/{item.id}/complete", json={"data": data})
    assert r.status_code == 409 and "尚有 1 个加签未完成：市公安局" in r.json["error"]["message"]
    assert [c["id"] for c in police.get("/api/countersigns").json["items"]] == [before["id"]]
    assert cac.get("/api/countersigns").json["items"] == []  # 后加签: not before the holder submits
    page = police.get(f"/api/countersigns/{before['id']}").json
    assert page["may_sign"] and page["host"]["id"] == item.id and page["note"] == "请核实"
    assert api.as_("crypto").get(f"/api/countersigns/{before['id']}").status_code == 404
    assert police.get(f"/api/tasks/{item.id}/file").status_code == 200
    assert cac.post(f"/api/countersigns/{after['id']}/sign", json={"decision": "同意"}).status_code == 409
    r = police.post(f"/api/countersigns/{before['id']}/sign", json={"decision": "同意", "opinion": "可行"})
    assert r.status_code == 200 and r.json["state"] == "signed"

    r = fin.post(f"/api/tasks/{item.id}/complete", json={"data": data})
    assert r.status_code == 200 and r.json["held"] is True and r.json["opened"] == []
    assert fin.get(f"/api/tasks/{item.id}").json["countersign_hold"]["data"] == data
    assert cac.get(f"/api/countersigns/{after['id']}").json["held_data"] == data
    r = cac.post(f"/api/countersigns/{after['id']}/sign", json={"decision": "同意", "opinion": "无异议"})
    assert r.status_code == 200 and r.json["host_completed"] is True
    done = fin.get(f"/api/tasks/{item.id}").json
    assert done["state"] == "completed" and done["data"] == data
    assert fin.post(f"/api/countersigns/{after['id']}/cancel").status_code in (403, 409)
