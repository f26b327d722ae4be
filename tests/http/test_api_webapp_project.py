"""Web UI endpoints of one project: its diagram (the instance on its BPMN) and the 第十六条 dossier
as a ZIP; the process version on the project detail."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile

from service.domain.deadlines import Due, local_date
from service.storage.models import WorkItem, utcnow


def _loop_once(driver) -> int:  # type: ignore[no-untyped-def]
    """A project sent back once from 出具评审意见 (修改后重审), now at 出具评审意见 again."""
    pid = driver.declare("市教育局", budget_year=2027, participants=["市民政局"]).project_id
    driver.run(pid, until="review_consolidate")
    driver.complete(pid, "review_consolidate", plan_review_result="修改后重审")
    driver.run(pid, until="review_consolidate")
    return pid


def test_diagram_marks_passed_elements_loops_and_overdue_tasks(api, ctx, driver):
    pid = _loop_once(driver)
    item = driver.item(pid, "review_consolidate")
    with ctx.db.session() as s:  # the open task is two days past due
        row = s.get(WorkItem, item.id)
        due = local_date(utcnow()) - dt.timedelta(days=3)
        row.due_date, row.due_at = due, Due(due, False, "test").at_utc

    r = api.as_("edu").get(f"/api/projects/{pid}/diagram")
    assert r.status_code == 200, r.json
    d = r.json
    assert d["process_key"] == "govflow_lifecycle" and d["version"] == 1
    assert 'id="govflow_lifecycle"' in d["bpmn"] and "review_consolidate" in d["bpmn"]
    assert d["active"] == ["review_consolidate"]
    assert d["overdue"] == ["review_consolidate"]
    # Gateways (incl. the parallel join of 方案评审) and events the token passed, not only user tasks.
    assert {"start", "gw_preliminary", "split_review", "join_review", "merge_plan", "submit_declaration",
            "review_police"} <= set(d["completed"])
    assert "review_consolidate" in d["completed"]  # its first pass completed (修改后重审)
    # Loop compaction dropped the first pass from the engine tree; counts come from work items.
    assert d["counts"]["write_plan"] == 2 and d["counts"]["review_bigdata"] == 2
    assert d["counts"]["review_consolidate"] == 1 and d["counts"]["submit_declaration"] == 1
    assert d["counts"]["split_review"] == 1
    assert not {"Start", "End", "Root"} & set(d["completed"] + d["active"])
    assert not [e for e in d["completed"] if f'id="{e}"' not in d["bpmn"]]

    # Same visibility as the project detail: any unit signed in reads the diagram; nobody anonymous.
    assert api.as_("nature").get(f"/api/projects/{pid}/diagram").status_code == 200
    assert api.client.get(f"/api/projects/{pid}/diagram").status_code == 401
    assert api.as_("edu").get("/api/projects/999999/diagram").status_code == 404

    detail = api.as_("edu").get(f"/api/projects/{pid}").json
    assert detail["version"] == {"id": d["version_id"], "process_key": "govflow_lifecycle", "version": 1}


def test_dossier_zip_has_everything_with_matching_manifest(api, ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="review_consolidate")
    content = "建设方案正文 v1".encode() * 100
    up = api.as_("edu").post(f"/api/projects/{pid}/attachments",
                             data={"file": (io.BytesIO(content), "建设方案.pdf")}, content_type="multipart/form-data")
    assert up.status_code == 201, up.json
    att = up.json

    r = api.as_("edu").get(f"/api/projects/{pid}/export.zip")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    code = api.as_("edu").get(f"/api/projects/{pid}").json["code"]
    assert code in r.headers["Content-Disposition"] and "attachment" in r.headers["Content-Disposition"]
    z = zipfile.ZipFile(io.BytesIO(r.data))
    names = set(z.namelist())
    attachment_name = f"attachments/{att['id']}-建设方案.pdf"
    approvals = {n for n in names if n.startswith("approvals/")}
    expected = {"summary.html", "audit.json", "audit.csv", "steps.json", "manifest.json", attachment_name}
    assert names - approvals == expected
    # One 审批单 per completed step, as HTML and PDF (tests/http/test_api_documents.py reads them).
    assert len(approvals) == 2 * len(api.as_("edu").get(f"/api/projects/{pid}").json["completed_steps"])
    assert z.read(attachment_name) == content

    manifest = json.loads(z.read("manifest.json"))
    assert manifest["code"] == code and manifest["missing"] == []
    assert set(manifest["files"]) == names - {"manifest.json"}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(z.read(name)).hexdigest() == digest, name

    steps = json.loads(z.read("steps.json"))
    completed = [s for s in api.as_("edu").get(f"/api/projects/{pid}").json["completed_steps"]]
    assert [s["id"] for s in steps] == [s["id"] for s in completed]
    assert steps[0]["task"] == "submit_declaration" and steps[0]["data"]["project_name"] == "东营市智慧教育平台"

    audit = json.loads(z.read("audit.json"))
    assert audit["verified"] is True and audit["records"][0]["seq"] == 1
    assert any(r["action"] == "attachment_added" for r in audit["records"])
    rows = list(csv.reader(io.StringIO(z.read("audit.csv").decode("utf-8-sig"))))
    assert rows[0][0] == "序号" and len(rows) == len(audit["records"]) + 1

    html = z.read("summary.html").decode()
    assert html.startswith("<!doctype html>") and 'lang="zh-CN"' in html
    assert "东营市智慧教育平台" in html and "建设方案.pdf" in html and "审计链校验通过" in html
    assert att["sha256"] in manifest["files"].values()
    assert "<th>项目名称</th>" in html  # the form data under the form's titles
    assert "http" not in html.split("</title>", 1)[1].replace("https://json-schema.org", "")  # self-contained

    # Dossier readers only: the supervisor yes, a unit with nothing to do with the project no.
    assert api.as_("supervisor").get(f"/api/projects/{pid}/export.zip").status_code == 200
    refused = api.as_("nature").get(f"/api/projects/{pid}/export.zip")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert api.as_("edu").get("/api/projects/999999/export.zip").status_code == 404
