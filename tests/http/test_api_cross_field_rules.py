"""Cross-field rules over HTTP: a 422 shaped like every form error, with the field and the article."""
from __future__ import annotations

from service.scenario import Driver


def test_declaration_total_not_matching_its_rows_is_a_422_with_field_and_article(api, ctx):
    data = Driver(ctx).answer("declaration", {"budget_year": 2027, "participants": [], "investment_estimate": 500.0,
                                              "investment_breakdown": [{"category": "软件开发", "amount": 480.0}]})
    r = api.as_("edu").post("/api/projects", json={"data": data})
    assert r.status_code == 422
    err = r.json["error"]
    assert (err["code"], err["field"], err["article"]) == ("validation_failed", "investment_estimate", "第七条(一)")
    (only,) = err["errors"]
    assert set(only) == {"path", "message"} and only["path"] == "investment_estimate"
    assert "投资估算" in only["message"] and "480.00 万元" in only["message"] and "第七条(一)" in only["message"]
    data["investment_estimate"] = 480.0
    assert api.as_("edu").post("/api/projects", json={"data": data}).status_code == 201
