"""GET /api/statistics/overview: supervisors and auditors only, validated dates, the figures."""
from __future__ import annotations

from tests.operations.test_statistics import scene  # noqa: F401 - fixture


def test_statistics_overview_over_http(api, scene):  # noqa: F811
    r = api.as_("auditor").get("/api/statistics/overview?from=2026-03-01&to=2026-03-31&weeks=4")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["period"] == {"from": "2026-03-01", "to": "2026-03-31"}
    assert {row["unit"] for row in body["overdue_by_unit"]} == {"市大数据局", "市卫生健康委员会", "市财政局"}
    assert {row["unit"]: row["rate"] for row in body["on_time"]}["市民政局"] == 1.0
    assert [w["week_start"] for w in body["weekly"]] == ["2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"]
    assert body["open_rectifications"] == 1 and body["late_filings"] == 1

    default = api.as_("supervisor").get("/api/statistics/overview").json
    assert len(default["weekly"]) == 8

    for user in ("edu", "bigdata", "designer"):
        assert api.as_(user).get("/api/statistics/overview").status_code == 403
    assert api.client.get("/api/statistics/overview").status_code == 401
    for query, field in (("from=2026-04-01&to=2026-03-01", "from"), ("to=2026-13-01", "to"), ("weeks=0", "weeks"),
                         ("weeks=abc", "weeks"), ("from=yesterday", "from")):
        bad = api.as_("supervisor").get(f"/api/statistics/overview?{query}")
        assert bad.status_code == 422, query
        assert bad.json["error"]["errors"][0]["path"] == field and "：" in bad.json["error"]["errors"][0]["message"]
