"""Validation, conflict, oversize, malformed: exact status and message shape."""
from __future__ import annotations

import io

from service.domain.access import Actor
from service.operations import organisation
from service.scenario import Driver


def _declare(api, ctx, user: str = "edu", **overrides) -> int:  # type: ignore[no-untyped-def]
    data = Driver(ctx).answer("declaration", {"budget_year": 2027, "participants": [], **overrides})
    r = api.as_(user).post("/api/projects", json={"data": data})
    assert r.status_code == 201, r.json
    return int(r.json["project_id"])


def _first_task(api, pid: int) -> dict:  # type: ignore[type-arg]
    return api.as_("supervisor").get(f"/api/projects/{pid}").json["current_tasks"][0]


def test_invalid_form_gives_422_with_zh_cn_field_errors(api, ctx):
    data = Driver(ctx).answer("declaration", {"budget_year": 2027, "participants": [], "investment_estimate": -5,
                                              "project_name": None})
    r = api.as_("edu").post("/api/projects", json={"data": data})
    assert r.status_code == 422
    err = r.json["error"]
    assert err["code"] == "validation_failed" and err["message"] == "表单数据不符合要求"
    paths = {e["path"]: e["message"] for e in err["errors"]}
    assert paths["project_name"] == "项目名称：必填"
    assert "investment_estimate" in paths and "不能小于" in paths["investment_estimate"]


def test_complete_validates_on_the_server(api, ctx):
    pid = _declare(api, ctx)
    task = _first_task(api, pid)
    r = api.as_("finance").post(f"/api/tasks/{task['id']}/complete", json={"data": {"opinion": 3}})
    assert r.status_code == 422
    assert all(set(e) == {"path", "message"} for e in r.json["error"]["errors"])
    assert any(e["path"] == "opinion" and "应为文本" in e["message"] for e in r.json["error"]["errors"])


def test_rule_violation_cites_the_article(api, ctx):
    organisation.open_rectification(ctx, "市卫生健康委员会", "系统未通过密评", Actor("s", None, frozenset({"admin"})))
    data = Driver(ctx).answer("declaration", {"budget_year": 2027, "participants": []})
    r = api.as_("health").post("/api/projects", json={"data": data})
    assert r.status_code == 422
    assert r.json["error"]["code"] == "rule_violation" and r.json["error"]["article"] == "第二十七条"
    assert "整改" in r.json["error"]["message"]


def test_conflicts_are_409(api, ctx):
    pid = _declare(api, ctx)
    task = _first_task(api, pid)
    data = Driver(ctx).answer(task["form"])
    assert api.as_("finance").post(f"/api/tasks/{task['id']}/claim").status_code == 200
    # A colleague of the same unit: claimed by someone else.
    ctx_user = api.as_("finance")
    from service.operations import identity

    identity.create_user(ctx, "finance2", unit="市财政局", roles=["reviewer"], password=None)
    with ctx.db.session() as s:
        from sqlalchemy import select

        from service.storage.models import User

        uid = s.scalar(select(User.id).where(User.username == "finance2"))
    other = {"Authorization": f"Bearer {identity.issue_token(ctx, uid)[0]}"}
    r = api.client.post(f"/api/tasks/{task['id']}/complete", json={"data": data}, headers=other)
    assert r.status_code == 409 and "周敏" in r.json["error"]["message"]  # the holder, by name
    assert ctx_user.post(f"/api/tasks/{task['id']}/complete", json={"data": data}).status_code == 200
    r = ctx_user.post(f"/api/tasks/{task['id']}/complete", json={"data": data})
    assert r.status_code == 409 and r.json["error"] == {"code": "conflict", "message": "该任务已办结"}


def test_malformed_requests_are_400(api, ctx):
    edu = api.as_("edu")
    r = edu.post("/api/projects", data="{not json", content_type="application/json")
    assert r.status_code == 400 and r.json["error"]["message"] == "请求格式错误"
    assert edu.post("/api/projects", json=[1, 2]).status_code == 400
    assert edu.post("/api/projects", json={"data": {"project_name": "a\u0000b"}}).status_code == 400
    r = edu.post("/api/projects", json={"data": "x"})
    assert r.status_code == 422 and r.json["error"]["errors"][0]["path"] == "data"
    assert edu.get("/api/tasks?limit=abc").status_code == 422
    assert edu.get("/api/tasks/99999999999").status_code == 404
    assert edu.get("/api/nothing-here").status_code == 404


def test_oversize_upload_is_413_and_names_are_safe(api, ctx):
    pid = _declare(api, ctx)
    edu = api.as_("edu")
    big = io.BytesIO(b"x" * (64 * 1024 + 1))
    r = edu.post(f"/api/projects/{pid}/attachments", data={"file": (big, "big.pdf")},
                 content_type="multipart/form-data")
    assert r.status_code == 413 and r.json["error"]["code"] == "too_large"
    huge = io.BytesIO(b"x" * (200 * 1024))
    r = edu.post(f"/api/projects/{pid}/attachments", data={"file": (huge, "huge.pdf")},
                 content_type="multipart/form-data")
    assert r.status_code == 413
    r = edu.post(f"/api/projects/{pid}/attachments", data={"file": (io.BytesIO(b"%PDF-1.4 plan"),
                                                                    "../../etc/建设方案.pdf")},
                 content_type="multipart/form-data")
    assert r.status_code == 201 and r.json["filename"] == "建设方案.pdf"
    got = edu.get(f"/api/attachments/{r.json['id']}")
    assert got.status_code == 200 and got.data == b"%PDF-1.4 plan"
    assert api.as_("health").get(f"/api/attachments/{r.json['id']}").status_code == 404


def test_bad_bpmn_is_rejected_with_element_errors(api, ctx):
    designer = api.as_("designer")
    bad = ('<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           'id="d"><bpmn:process id="govflow_lifecycle" isExecutable="true"><bpmn:startEvent id="s"/>'
           '<bpmn:scriptTask id="t"><bpmn:script>import os</bpmn:script></bpmn:scriptTask>'
           '</bpmn:process></bpmn:definitions>')
    r = designer.post("/api/processes", json={"files": {"x.bpmn": bad}})
    assert r.status_code == 422 and r.json["error"]["code"] == "bundle_rejected"
    assert any(i.get("element_id") == "t" for i in r.json["error"]["issues"])
    r = designer.post("/api/processes/validate", data={"files": (io.BytesIO(bad.encode()), "x.bpmn")},
                      content_type="multipart/form-data")
    assert r.status_code == 200 and r.json["valid"] is False
    assert designer.post("/api/processes", json={"files": {"x.txt": "a"}}).status_code == 422
    assert designer.post("/api/processes", json={"files": {"x.bpmn": "<not xml"}}).status_code == 422
