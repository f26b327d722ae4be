"""HTTP: deploy preview, the refusal of a lifecycle that cannot run, rollback and the deploy records."""
from __future__ import annotations

import io
from pathlib import Path

from service.operations import processes

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
CORPUS = Path(__file__).resolve().parents[1] / "engine" / "fixtures" / "dialects"


def _files(suffix: str = "") -> dict[str, str]:
    files = {n: b.decode() for n, b in processes.bundle_from_directory(PROCESSES).items()}
    files["lifecycle.bpmn"] = files["lifecycle.bpmn"].replace('name="填报入库申请"', f'name="填报入库申请{suffix}"', 1)
    return files


def test_preview_deploy_and_rollback_through_the_api(api, ctx, driver):
    designer = api.as_("designer")
    v1 = designer.get("/api/processes/latest").json["id"]
    preview = designer.post("/api/processes/preview", json={"files": _files("（二）")})
    assert preview.status_code == 200, preview.json
    body = preview.json
    assert (body["effect"], body["valid"], body["replaces"]["id"]) == ("new_version", True, v1)
    assert [c["id"] for c in body["changes"]["elements"]["changed"]] == ["submit_declaration"]

    deployed = designer.post("/api/processes", json={"files": _files("（二）"), "replaces": v1})
    assert deployed.status_code == 201 and deployed.json["replaced_version"] == 1
    stale = designer.post("/api/processes", json={"files": _files("（三）"), "replaces": v1})
    assert stale.status_code == 409 and "重新预览" in stale.json["error"]["message"]

    rows = {r["version"]: r for r in designer.get("/api/processes").json}
    assert (rows[1]["is_latest"], rows[2]["is_latest"]) == (False, True)
    back_preview = designer.get(f"/api/processes/{v1}/preview").json
    assert back_preview["valid"] and back_preview["replaces"]["version"] == 2
    assert api.as_("edu").post(f"/api/processes/{v1}/rollback", json={}).status_code == 403
    back = designer.post(f"/api/processes/{v1}/rollback", json={"replaces": deployed.json["id"], "reason": "回退"})
    assert back.status_code == 200 and (back.json["version"], back.json["promoted"]) == (1, True)
    assert designer.post(f"/api/processes/{v1}/rollback").status_code == 200  # no body: already current, no-op
    assert designer.get("/api/processes/latest").json["version"] == 1
    history = designer.get("/api/processes/deploys").json
    assert [(h["action"], h["version"]) for h in history] == [("rollback", 1), ("deploy", 2), ("deploy", 1)]
    assert history[0]["reason"] == "回退" and history[0]["action_label"] == "回退到历史版本"
    assert api.as_("edu").get("/api/processes/deploys").status_code == 403


def test_a_foreign_lifecycle_is_422_with_element_and_line_and_a_bpmn20_xml_is_read(api):
    designer = api.as_("designer")
    text = (CORPUS / "foreign_lifecycle.bpmn").read_text()
    r = designer.post("/api/processes", json={"files": {"foreign.bpmn": text}})
    assert r.status_code == 422
    issues = r.json["error"]["issues"]
    assert any(i["element_id"] == "sign_paper" and i["line"] == 5 for i in issues), issues
    checked = designer.post("/api/processes/validate", json={"files": {"foreign.bpmn": text}}).json
    assert checked["valid"] is False and checked["issues"] == issues
    assert designer.get("/api/processes/latest").json["version"] == 1

    # A .bpmn20.xml upload is accepted by its name; its Flowable extensions are explained.
    data = {"files": [(io.BytesIO((CORPUS / "flowable_extensions.bpmn20.xml").read_bytes()),
                       "flowable_extensions.bpmn20.xml")]}
    r = api.as_("designer").post("/api/processes/validate", data=data, content_type="multipart/form-data")
    assert r.status_code == 200, r.json
    messages = [i["message"] for i in r.json["issues"]]
    assert any("Flowable" in m and "assignee" in m for m in messages) and not any("只接受" in m for m in messages)
    other = {"files": [(io.BytesIO(b"<x/>"), "model.xml")]}
    refused = api.as_("designer").post("/api/processes/validate", data=other, content_type="multipart/form-data")
    assert refused.status_code == 422 and ".bpmn20.xml" in refused.json["error"]["errors"][0]["message"]
