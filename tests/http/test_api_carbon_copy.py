"""抄送 through the HTTP API on both databases: send (task and project), 抄送我的 paged, read,
the recipient's file view, refusals with the field named, and the OpenAPI document."""
from __future__ import annotations


def _task(api, driver) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="write_plan")
    task = next(w.id for w in driver.open_items(pid) if w.task_name == "write_plan")
    return pid, task


def test_send_list_read_and_file_view(api, driver):  # type: ignore[no-untyped-def]
    pid, task = _task(api, driver)
    assert api.as_("civil").get(f"/api/tasks/{task}/file").status_code == 404
    assert api.as_("civil").get(f"/api/cc/recipients?task_id={task}").status_code == 404
    choices = api.as_("edu").get(f"/api/cc/recipients?task_id={task}").json
    assert "市民政局" in choices["units"] and "市教育局" not in choices["units"]
    assert "edu" not in [u["username"] for u in choices["users"]]

    body = {"units": ["市民政局"], "users": ["health"], "note": "请知悉"}
    r = api.as_("edu").post(f"/api/tasks/{task}/cc", json=body)
    assert r.status_code == 200, r.json
    assert [c["to_unit"] or c["to_user"] for c in r.json["sent"]] == ["市民政局", "health"]
    r = api.as_("edu").post(f"/api/projects/{pid}/cc", json={"users": ["nature"]})
    assert r.status_code == 200, r.json

    page = api.as_("civil").get("/api/cc?per_page=1").json
    assert page["total"] == 1 and page["unread"] == 1 and page["view"] == "cc"
    row = page["items"][0]
    assert row["sent_by_name"] == "王晓燕" and row["note"] == "请知悉" and row["task"]["title"] == "编制建设方案"
    assert api.as_("civil").get(f"/api/tasks/{task}/file").status_code == 200
    assert api.as_("civil").get(f"/api/tasks/{task}").json["state"] == "open"
    assert api.as_("civil").get(f"/api/projects/{pid}/file").status_code == 200
    assert api.as_("police").get(f"/api/projects/{pid}/file").status_code == 403
    # Searching 抄送我的 by project code.
    code = row["project"]["code"]
    assert api.as_("civil").get(f"/api/cc?q={code}").json["total"] == 1
    assert api.as_("civil").get("/api/cc?q=无此项目").json["total"] == 0

    assert api.as_("police").post(f"/api/cc/{row['id']}/read").status_code == 404
    read = api.as_("civil").post(f"/api/cc/{row['id']}/read")
    assert read.status_code == 200 and read.json["read_by"] == "civil"
    assert api.as_("civil").get("/api/cc?unread=true").json["total"] == 0
    # The message in 消息, kind 抄送.
    msgs = api.as_("civil").get("/api/notifications/search?kind=cc").json
    assert msgs["total"] == 1 and "请知悉" in msgs["items"][0]["text"] and msgs["items"][0]["read_at"]
    nature = api.as_("nature").get("/api/notifications/search?kind=cc").json["items"][0]
    assert nature["work_item_id"] is None and f"/projects/{pid}?cc=" in nature["link"]


def test_refusals_name_the_field(api, driver):  # type: ignore[no-untyped-def]
    pid, task = _task(api, driver)
    cases = [({}, "units"), ({"units": ["市教育局"]}, "units"), ({"users": ["edu"]}, "users"),
             ({"units": ["火星局"]}, "units"), ({"units": ["市民政局"], "note": "长" * 501}, "note"),
             ({"units": "市民政局"}, "units"), ({"units": ["市民政局"], "note": 5}, "note")]
    for body, field in cases:
        r = api.as_("edu").post(f"/api/tasks/{task}/cc", json=body)
        assert r.status_code in (400, 422), (body, r.status_code)
        if r.status_code == 422:
            named = {e["path"] for e in r.json["error"].get("errors") or []} | {r.json["error"].get("field")}
            assert field in named, r.json
    assert api.as_("police").post(f"/api/tasks/{task}/cc", json={"units": ["市民政局"]}).status_code == 404
    assert api.as_("police").post(f"/api/projects/{pid}/cc", json={"units": ["市民政局"]}).status_code == 403
    assert api.as_("edu").post("/api/projects/999999/cc", json={"units": ["市民政局"]}).status_code == 404
    assert api.as_("civil").get("/api/cc/999999").status_code == 404


def test_openapi_lists_the_routes(api):  # type: ignore[no-untyped-def]
    paths = api.as_("edu").get("/api/openapi.json").json["paths"]
    for path in ("/api/tasks/{task_id}/cc", "/api/projects/{project_id}/cc", "/api/cc", "/api/cc/{copy_id}/read"):
        assert path in paths, path
