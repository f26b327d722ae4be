"""Authorization matrix: every endpoint × every role, own unit vs. foreign unit, with the exact
status, and no foreign data in any response.

Setting: 市教育局 (edu) declared project P, whose declaration carries MARKER; the open task T
belongs to 市财政局 (finance). health (another 建设单位) and cac (a reviewer not yet involved) are
foreign; designer and gov have no part in P either."""
from __future__ import annotations

import io

import pytest

from service.scenario import Driver

MARKER = "MATRIX-机密-必要性说明"
ROLES = ["edu", "edu_leader", "health", "finance", "cac", "supervisor", "auditor", "designer", "admin", "gov"]
FOREIGN = {"health", "cac", "designer", "gov"}
READ_ALL = {"supervisor", "auditor", "admin"}
SUPERVISE = {"supervisor", "admin"}  # 市审计局 reads everything and changes nothing


def _setup(api, ctx):  # type: ignore[no-untyped-def]
    data = Driver(ctx).answer("declaration", {"budget_year": 2027, "participants": [], "necessity": MARKER * 2})
    pid = api.as_("edu").post("/api/projects", json={"data": data}).json["project_id"]
    task = api.as_("supervisor").get(f"/api/projects/{pid}").json["current_tasks"][0]
    assert task["unit"] == "市财政局"
    r = api.as_("edu").post(f"/api/projects/{pid}/attachments",
                            data={"file": (io.BytesIO(MARKER.encode()), "方案.txt")},
                            content_type="multipart/form-data")
    assert r.status_code == 201
    return pid, task["id"], r.json["id"]


def expected(role: str) -> dict[str, int]:
    own_worker = role in ("edu", "edu_leader")       # the declaring unit's workers
    task_worker = role == "finance"                  # the unit holding T
    worker = role in ("edu", "edu_leader", "health", "finance", "cac", "gov")
    declarer = role in ("edu", "edu_leader", "health")  # 建设单位 only (第六条、第七条(一))
    sees_task = own_worker or task_worker or role in READ_ALL
    sees_dossier = sees_task
    act = 200 if task_worker else 403
    return {
        "GET /api/auth/me": 200,
        "GET /api/users": 200,
        "GET /api/projects": 200,
        "GET /api/projects/export.csv": 200,
        "GET /api/projects/P": 200,
        "GET /api/projects/P/audit": 200,
        "POST /api/projects (invalid)": 422 if declarer else 403,
        "GET /api/tasks": 200 if role != "designer" else 403,
        "GET /api/tasks/T": 200 if sees_task else 404,
        "GET /api/tasks/T/file": 200 if sees_task else 404,
        "GET /api/projects/P/file": 200 if sees_dossier else 403,
        "POST /api/tasks/T/opinions": 201 if task_worker else 403,
        "POST /api/tasks/T/reassign (unknown user)": 422 if task_worker else 403,
        "POST /api/tasks/T/delegate (unknown user)": 422 if task_worker else 403,
        "POST /api/tasks/T/return": 409 if task_worker else 403,
        "POST /api/tasks/T/send-back": 422 if task_worker else 403,
        "POST /api/tasks/T/complete (invalid)": 422 if task_worker else 403,
        "POST /api/tasks/T/claim": act,
        "POST /api/tasks/T/unclaim": act,
        "GET /api/projects/P/attachments": 200 if sees_dossier else 404,
        "GET /api/attachments/A": 200 if sees_dossier else 404,
        "POST /api/projects/P/attachments": (201 if sees_dossier and worker else 403 if sees_dossier else 404),
        "GET /api/processes": 200 if role in ("designer", "admin") else 403,
        "POST /api/processes/validate": 200 if role in ("designer", "admin") else 403,
        "GET /api/calendar/2027": 200,
        "PUT /api/calendar/2027 (wrong year)": 422 if role == "admin" else 403,
        "POST /api/annual-lists/2027 (P not waiting)": 422 if role in ("gov", "admin") else 403,
        "GET /api/notifications": 200 if role not in ("designer", "admin") else 403,
        "GET /api/escalations": 200 if role in READ_ALL else 403,
        "GET /api/warnings": 200 if role != "designer" else 403,
        "GET /api/warnings/summary": 200 if role in READ_ALL else 403,
        "POST /api/tasks/T/pause (empty reason)": 422 if task_worker or role in SUPERVISE else 403,
        "POST /api/tasks/T/extend (invalid days)": 422 if role in SUPERVISE else 403,
        "GET /api/late-filings": 200 if role in READ_ALL else 403,
        "GET /api/rectifications": 200 if role in READ_ALL else 403,
        "POST /api/rectifications (invalid date)": 422 if role in SUPERVISE else 403,
    }


def _call(client, key: str, pid: int, tid: int, aid: int):  # type: ignore[no-untyped-def]
    method, rest = key.split(" ", 1)
    url = rest.split(" (")[0].replace("/P", f"/{pid}").replace("/T", f"/{tid}").replace("/A", f"/{aid}")
    body: dict = {}  # type: ignore[type-arg]
    kwargs: dict = {}  # type: ignore[type-arg]
    if "/opinions" in url:
        body = {"text": "同意"}
    elif "/reassign" in url or "/delegate" in url:
        body = {"user": "nobody"}
    elif "/pause" in url:
        body = {"reason": " "}
    elif "/extend" in url:
        body = {"working_days": 0, "reason": "x"}
    elif url == "/api/rectifications":
        body = {"unit": "市教育局", "reason": "x", "due_date": "2027-13-01"}
    elif "/send-back" in url:
        body = {"to_task": "write_plan", "reason": "材料不全"}  # not a send_back_to target of this task
    elif "/complete" in url or url == "/api/projects":
        body = {"data": {"x": 1}}
    elif "/processes/validate" in url:
        body = {"files": {"a.bpmn": "<x/>"}}
    elif "/calendar" in url:
        body = {"year": 2030, "days": []}
    elif "/annual-lists" in url:
        body = {"approved": {str(pid): 1.0}}
    elif url.endswith("/attachments") and method == "POST":
        kwargs = {"data": {"file": (io.BytesIO(b"abc"), "b.txt")}, "content_type": "multipart/form-data"}
    if method == "GET":
        return client.get(url)
    if kwargs:
        return getattr(client, method.lower())(url, **kwargs)
    return getattr(client, method.lower())(url, json=body)


@pytest.mark.parametrize("role", ROLES)
def test_matrix(api, ctx, role):
    pid, tid, aid = _setup(api, ctx)
    client = api.as_(role)
    wrong = []
    for key, status in expected(role).items():
        r = _call(client, key, pid, tid, aid)
        if r.status_code != status:
            wrong.append((key, status, r.status_code, r.get_data(as_text=True)[:200]))
        if role in FOREIGN:
            assert MARKER not in r.get_data(as_text=True), (role, key)
        if r.status_code >= 400:
            assert set(r.json["error"]) >= {"code", "message"}, key
    assert not wrong, wrong
