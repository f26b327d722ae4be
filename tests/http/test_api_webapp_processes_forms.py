"""Web UI endpoints for designers: process versions with their sources and instance counts, and the
forms admin (read, validate, save revisions that task completion then uses)."""
from __future__ import annotations

import copy
import datetime as dt

from service.domain.deadlines import Due, local_date
from service.storage.models import WorkItem, WorkItemClock, utcnow
from tests.conftest import recorded_statements

BPMN = "lifecycle.bpmn"


def test_process_versions_with_sources_and_instance_counts(api, ctx, driver):
    running = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    ended = driver.declare("市卫生健康委员会", budget_year=2027, participants=[]).project_id
    driver.run(ended, answers={"preliminary_review": [{"preliminary_decision": "不予入库"}]})
    assert driver.open_items(ended) == [] and driver.open_items(running)

    rows = api.as_("designer").get("/api/processes").json
    (v1,) = rows
    assert v1["instances"] == {"running": 1, "total": 2}

    r = api.as_("designer").get(f"/api/processes/{v1['id']}")
    assert r.status_code == 200
    body = r.json
    assert set(body["files"]) == {BPMN, "change_rule.dmn", "preliminary_outcome.dmn", "review_outcome.dmn"}
    assert "<bpmn:definitions" in body["files"][BPMN]
    assert (body["version"], body["process_key"], body["instances"]) == (1, "govflow_lifecycle",
                                                                         {"running": 1, "total": 2})
    assert body["checksum"] == v1["checksum"] and body["deployed_by"] == "operator"
    # Supervisors read (not deploy); departments neither.
    assert api.as_("supervisor").get(f"/api/processes/{v1['id']}").status_code == 200
    assert api.as_("auditor").get(f"/api/processes/{v1['id']}").status_code == 200
    assert api.as_("edu").get(f"/api/processes/{v1['id']}").status_code == 403
    assert api.as_("edu").get("/api/processes/latest").status_code == 403
    assert api.as_("designer").get("/api/processes/999999").status_code == 404

    # A second version: "latest" follows it; the running instance stays on version 1.
    files = {name: text for name, text in body["files"].items()}
    files[BPMN] = files[BPMN].replace("</bpmn:definitions>", "<!-- v2 --></bpmn:definitions>")
    deployed = api.as_("designer").post("/api/processes", json={"files": files})
    assert deployed.status_code == 201, deployed.json
    latest = api.as_("supervisor").get("/api/processes/latest").json
    assert latest["version"] == 2 and latest["id"] == deployed.json["id"]
    assert latest["instances"] == {"running": 0, "total": 0} and "<!-- v2 -->" in latest["files"][BPMN]
    counts = {r["version"]: r["instances"] for r in api.as_("designer").get("/api/processes").json}
    assert counts == {2: {"running": 0, "total": 0}, 1: {"running": 1, "total": 2}}


def _schema(api, name):  # type: ignore[no-untyped-def]
    return copy.deepcopy(api.as_("edu").get(f"/api/forms/{name}").json["schema"])


def test_forms_list_and_read(api):
    rows = {f["name"]: f for f in api.as_("edu").get("/api/forms").json}
    assert rows["preliminary_review"] == {"name": "preliminary_review", "title": rows["preliminary_review"]["title"],
                                          "revision": 0, "source": "file", "tasks": ["preliminary_review"]}
    assert rows["participant_confirmation"]["tasks"] == ["confirm_declaration", "confirm_plan"]
    form = api.as_("finance").get("/api/forms/declaration").json
    assert form["source"] == "file" and form["revision"] == 0 and form["saved_by"] is None
    assert form["schema"]["type"] == "object" and "project_name" in form["schema"]["properties"]
    assert api.as_("edu").get("/api/forms/no_such_form").status_code == 404
    assert api.client.get("/api/forms").status_code == 401


def test_validate_checks_schema_example_and_engine_outputs(api):
    schema = _schema(api, "preliminary_review")
    ok = api.as_("designer").post("/api/forms/preliminary_review/validate", json={"schema": schema})
    assert ok.status_code == 200 and ok.json == {"valid": True, "issues": []}

    broken = {**schema, "properties": {**schema["properties"], "opinion": {"type": "text"}}}
    issues = api.as_("designer").post("/api/forms/preliminary_review/validate", json={"schema": broken}).json
    assert issues["valid"] is False and "JSON Schema" in issues["issues"][0]["message"]

    # The routing field read by the gateway (outputs of the task) may not go or change type.
    dropped = copy.deepcopy(schema)
    del dropped["properties"]["preliminary_decision"]
    dropped["required"].remove("preliminary_decision")
    dropped["examples"][0].pop("preliminary_decision")
    paths = [i["path"] for i in api.as_("designer").post("/api/forms/preliminary_review/validate",
                                                         json={"schema": dropped}).json["issues"]]
    assert paths == ["schema/properties/preliminary_decision"]
    retyped = copy.deepcopy(schema)
    retyped["properties"]["preliminary_decision"] = {"type": "boolean", "title": "初审结论"}
    retyped["examples"][0]["preliminary_decision"] = True
    issues = api.as_("designer").post("/api/forms/preliminary_review/validate", json={"schema": retyped}).json
    assert [i["path"] for i in issues["issues"]] == ["schema/properties/preliminary_decision/type"]

    # examples[0] must validate against the new schema.
    stricter = copy.deepcopy(schema)
    stricter["properties"]["meeting_no"] = {"type": "string", "title": "会议纪要编号", "minLength": 1}
    stricter["required"].append("meeting_no")
    issues = api.as_("designer").post("/api/forms/preliminary_review/validate", json={"schema": stricter}).json
    assert issues["valid"] is False and issues["issues"][0]["path"].startswith("schema/examples/0")

    assert api.as_("edu").post("/api/forms/preliminary_review/validate", json={"schema": schema}).status_code == 403
    assert api.as_("designer").post("/api/forms/nope/validate", json={"schema": schema}).status_code == 404


def test_saved_revision_is_served_to_tasks_and_enforced_on_completion(api, ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="preliminary_review")
    item = driver.item(pid, "preliminary_review")
    schema = _schema(api, "preliminary_review")
    schema["properties"]["meeting_no"] = {"type": "string", "title": "会议纪要编号", "minLength": 1, "maxLength": 50}
    schema["required"].append("meeting_no")
    schema["examples"][0]["meeting_no"] = "东大数纪〔2027〕3号"

    assert api.as_("edu").put("/api/forms/preliminary_review", json={"schema": schema}).status_code == 403
    assert api.as_("designer").put("/api/forms/no_such_form", json={"schema": schema}).status_code == 404
    bad = copy.deepcopy(schema)
    del bad["properties"]["preliminary_decision"]
    refused = api.as_("designer").put("/api/forms/preliminary_review", json={"schema": bad})
    assert refused.status_code == 422
    assert "schema/properties/preliminary_decision" in [i["path"] for i in refused.json["error"]["issues"]]
    assert api.as_("edu").get("/api/forms/preliminary_review").json["revision"] == 0  # nothing saved

    saved = api.as_("designer").put("/api/forms/preliminary_review", json={"schema": schema})
    assert saved.status_code == 200, saved.json
    assert (saved.json["revision"], saved.json["source"], saved.json["saved_by"]) == (1, "db", "designer")
    form = api.as_("edu").get("/api/forms/preliminary_review").json
    assert (form["revision"], form["source"], form["saved_by"]) == (1, "db", "designer")
    assert "meeting_no" in form["schema"]["required"]
    listed = {f["name"]: f for f in api.as_("edu").get("/api/forms").json}["preliminary_review"]
    assert (listed["revision"], listed["source"]) == (1, "db")

    # The task shows and enforces the new revision.
    worker = api.as_("bigdata")
    assert "meeting_no" in worker.get(f"/api/tasks/{item.id}").json["schema"]["properties"]
    old = driver.answer("preliminary_review", {"meeting_no": None})
    r = worker.post(f"/api/tasks/{item.id}/complete", json={"data": old})
    assert r.status_code == 422 and [e["path"] for e in r.json["error"]["errors"]] == ["meeting_no"]
    r = worker.post(f"/api/tasks/{item.id}/complete", json={"data": driver.answer("preliminary_review")})
    assert r.status_code == 200, r.json

    again = api.as_("designer").put("/api/forms/preliminary_review", json={"schema": {**schema, "title": "初审"}})
    assert again.json["revision"] == 2
    assert api.as_("edu").get("/api/forms/preliminary_review").json["schema"]["title"] == "初审"


def test_inbox_rows_carry_working_days_left_and_warning(api, ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=["市民政局", "市卫生健康委员会"]).project_id
    items = {w.unit.name: w for w in driver.open_items(pid)}
    civil, health = items["市民政局"], items["市卫生健康委员会"]
    today = local_date(utcnow())
    with ctx.db.session() as s:
        cal = ctx.calendar(s)
        # 市民政局: due ten days ago → red, negative working days; 市卫生健康委员会: far ahead → no warning.
        for wid, due, created in ((civil.id, today - dt.timedelta(days=10), today - dt.timedelta(days=30)),
                                  (health.id, today + dt.timedelta(days=60), today)):
            row = s.get(WorkItem, wid)
            row.due_date, row.due_at = due, Due(due, False, "test").at_utc
            row.created_at = dt.datetime.combine(created, dt.time(2))
            clock = s.get(WorkItemClock, wid)
            if clock is not None:
                clock.paused_at, clock.paused_days = None, 0
        overdue_days = cal.working_days_between(today - dt.timedelta(days=10), today)
        ahead = cal.working_days_between(today, today + dt.timedelta(days=60))

    (row,) = api.as_("civil").get("/api/tasks").json
    assert row["id"] == civil.id and row["warning"] == "red" and row["working_days_left"] == -overdue_days < 0
    (row,) = api.as_("health").get("/api/tasks").json
    assert row["warning"] is None and row["working_days_left"] == ahead > 30
    rows = {r["id"]: r for r in api.as_("supervisor").get(f"/api/tasks?project_id={pid}").json}
    assert rows[civil.id]["warning"] == "red" and rows[health.id]["warning"] is None

    # Yellow: past 80 % of the time, not yet due.
    with ctx.db.session() as s:
        row_ = s.get(WorkItem, health.id)
        due = today + dt.timedelta(days=1)
        row_.due_date, row_.due_at = due, Due(due, False, "test").at_utc
        row_.created_at = dt.datetime.combine(today - dt.timedelta(days=60), dt.time(2))
    (row,) = api.as_("health").get("/api/tasks").json
    assert row["warning"] == "yellow" and row["working_days_left"] in (0, 1)


def test_inbox_is_one_query_for_any_number_of_rows(api, ctx, driver):
    for _ in range(4):
        driver.declare("市教育局", budget_year=2027, participants=["市民政局"])
    api.as_("civil").get("/api/tasks")  # warm the runtime and calendar caches
    with recorded_statements(ctx.db.engine) as statements:
        few = api.as_("civil").get("/api/tasks?limit=1")
        n_few = len(statements)
        statements.clear()
        many = api.as_("civil").get("/api/tasks")
        n_many = len(statements)
    assert len(few.json) == 1 and len(many.json) == 4
    assert n_few == n_many
