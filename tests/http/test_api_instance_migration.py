"""实例迁移 and 流程运行分析 over HTTP: who may call them, what a bad body gets, and the answers."""
from __future__ import annotations

from sqlalchemy import select

from service.domain.access import Actor
from service.operations import processes
from service.storage.models import ProcessInstance
from tests.operations.migration_versions import with_check_after_review
from tests.operations.test_concurrency import at_review

DESIGNER = Actor("designer", None, frozenset({"designer"}))


def test_dry_run_and_migration_over_http(api, ctx, driver):  # type: ignore[no-untyped-def]
    pid = at_review(driver)
    with ctx.db.session() as s:
        inst = s.scalars(select(ProcessInstance).where(ProcessInstance.project_id == pid)).one()
        v1, instance_id = inst.version_id, inst.id
    v2 = processes.deploy(ctx, with_check_after_review(), DESIGNER).id
    body = {"from_version_id": v1, "to_version_id": v2}
    assert api.as_("edu").post("/api/process-migrations/dry-run", json=body).status_code == 403
    assert api.as_("edu").post("/api/process-migrations/dry-run", json={"from_version_id": "x"}).status_code == 403
    assert api.as_("supervisor").post("/api/process-migrations", json={**body, "instance_ids": [instance_id]}
                                      ).status_code == 403
    bad = api.as_("designer").post("/api/process-migrations/dry-run", json={"from_version_id": "v1"})
    assert bad.status_code == 422
    assert "from_version_id" in bad.get_data(as_text=True)
    report = api.as_("designer").post("/api/process-migrations/dry-run", json=body)
    assert report.status_code == 200
    assert [(r["instance_id"], r["safe"]) for r in report.get_json()["instances"]] == [(instance_id, True)]
    done = api.as_("designer").post("/api/process-migrations", json={**body, "instance_ids": [instance_id]})
    assert done.status_code == 200 and done.get_json()["migrated"] == 1
    project = api.as_("edu").get(f"/api/projects/{pid}").get_json()
    assert project["version"]["version"] == 2
    assert project["version_changes"][0]["from_version"] == 1


def test_process_analytics_over_http(api, ctx, driver):  # type: ignore[no-untyped-def]
    at_review(driver)
    assert api.as_("edu").get("/api/process-analytics").status_code == 403
    ok = api.as_("supervisor").get("/api/process-analytics?year=2027")
    assert ok.status_code == 200
    assert ok.get_json()["elements"]["submit_declaration"]["passed"] == 1
    assert api.as_("designer").get("/api/process-analytics?unit=" + "无此单位").status_code == 422
    assert api.as_("designer").get("/api/process-analytics?year=abc").status_code == 422
