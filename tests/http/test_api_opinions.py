"""Opinions that count over HTTP (docs/opinions.md): the refusal is a 422 in Chinese naming the
field and the article; the reasons, once given, are in the task's project file."""
from __future__ import annotations

from tests.operations.test_opinions import REASONS, _at_consolidation


def test_dissent_without_reasons_is_a_422_naming_field_and_article(api, driver, app):
    pid = _at_consolidation(driver, cac="不同意", police="不同意")
    item = driver.item(pid, "review_consolidate")
    data = driver.answer("plan_review_conclusion")
    r = api.as_("bigdata").post(f"/api/tasks/{item.id}/complete", json={"data": data})
    assert r.status_code == 422, r.json
    err = r.json["error"]
    assert err["code"] == "rule_violation" and err["field"] == "dissent_justification"
    assert err["article"] == "第七条(三)" and "不采纳意见的理由" in err["message"]

    r = api.as_("bigdata").post(f"/api/tasks/{item.id}/complete",
                                json={"data": {**data, "dissent_justification": REASONS}})
    assert r.status_code == 200, r.json
    steps = api.as_("edu").get(f"/api/projects/{pid}/file").json["steps"]
    consolidated = next(s for s in steps if s["task"] == "review_consolidate")
    assert consolidated["data"]["dissent_justification"] == REASONS
    assert {o["unit"] for o in consolidated["dissent"]["opinions"]} >= {"市委网信办", "市公安局"}

    # The printed 审批单 of 出具评审意见 carries the reasons under their label.
    from service.operations.identity import DEMO_PASSWORD

    page = app.test_client()
    assert page.post("/api/auth/login", json={"username": "edu", "password": DEMO_PASSWORD}).status_code == 200
    html = page.get(f"/tasks/{item.id}/approval").get_data(as_text=True)
    assert "不采纳意见的理由" in html and REASONS in html
