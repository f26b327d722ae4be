"""GET /api/tasks/{id}/file, /api/projects/{id}/file and completed tasks read by involved units,
over HTTP as the demo users (docs/project-file.md)."""
from __future__ import annotations

from tests.operations.test_project_file import _at_consolidation


def test_project_file_over_the_api(api, driver):
    pid = _at_consolidation(driver)
    item = driver.item(pid, "review_consolidate")
    r = api.as_("bigdata").get(f"/api/tasks/{item.id}/file")
    assert r.status_code == 200, r.json
    assert len(r.json["branches"]["rows"]) == 4
    assert r.json["steps"][0]["completed_by_name"]
    assert api.as_("civil").get(f"/api/tasks/{item.id}/file").status_code == 404
    assert api.as_("civil").get(f"/api/projects/{pid}/file").status_code == 403
    assert api.as_("supervisor").get(f"/api/projects/{pid}/file").status_code == 200
    cac = next(row["id"] for row in r.json["branches"]["rows"] if row["task"] == "review_cac")
    assert api.as_("bigdata").get(f"/api/tasks/{cac}").status_code == 200
    assert api.as_("civil").get(f"/api/tasks/{cac}").status_code == 404
    # A completed task is read-only: completing it again is a conflict, not a second submission.
    assert api.as_("cac").post(f"/api/tasks/{cac}/complete", json={"data": {"conclusion": "同意"}}).status_code == 409
    paths = api.as_("bigdata").get("/api/openapi.json").json["paths"]
    assert "/api/tasks/{task_id}/file" in paths and "/api/projects/{project_id}/file" in paths
