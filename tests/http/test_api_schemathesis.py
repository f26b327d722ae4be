"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis): valid and
invalid requests, signed in as a user of every role, must never get a 5xx.

Form `data` is typed where the document can say so: the declaration takes the `declaration` form's
JSON Schema, and task completion targets the open tasks of two real projects with their forms'
schemas (anyOf), so positive cases carry data the form validator and the engine actually process.
Run time stays bounded: GOVFLOW_FUZZ_POSITIVE / _NEGATIVE examples per operation (12 / 8)."""
from __future__ import annotations

import copy
import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from sqlalchemy import select

from service.operations import identity
from service.scenario import Driver
from service.storage.models import User, WorkItem

POSITIVE = int(os.environ.get("GOVFLOW_FUZZ_POSITIVE", "12"))
NEGATIVE = int(os.environ.get("GOVFLOW_FUZZ_NEGATIVE", "8"))
# One user per role: department, reviewer, leader, supervisor, auditor, designer, admin.
ROLES = {"department": "edu", "reviewer": "finance", "leader": "gov", "supervisor": "supervisor",
         "auditor": "auditor", "designer": "designer", "admin": "admin"}
JSON = "application/json"


def _form_schema(ctx: Any, name: str) -> dict[str, Any]:
    schema = copy.deepcopy(ctx.forms.get(name).schema)
    for key in ("$schema", "$id", "examples"):
        schema.pop(key, None)
    return schema


def _typed(raw: dict[str, Any], ctx: Any, open_tasks: dict[int, str]) -> dict[str, Any]:
    """The OpenAPI document with form `data` typed by the forms' JSON Schemas."""
    raw = copy.deepcopy(raw)
    declare = raw["paths"]["/api/projects"]["post"]["requestBody"]["content"][JSON]["schema"]
    declare["properties"]["data"] = _form_schema(ctx, "declaration")
    complete = raw["paths"]["/api/tasks/{task_id}/complete"]["post"]
    forms = sorted(set(open_tasks.values()))
    complete["requestBody"]["content"][JSON]["schema"]["properties"]["data"] = {
        "anyOf": [_form_schema(ctx, f) for f in forms]}
    for param in complete.get("parameters", []):
        if param.get("name") == "task_id":
            param["schema"] = {"type": "integer", "enum": sorted(open_tasks)}
    return raw


def test_no_server_error_for_any_generated_request(app, ctx):
    driver = Driver(ctx)
    # Some real rows, so generated ids sometimes hit existing projects, tasks and attachments.
    for unit in ("市教育局", "市卫生健康委员会"):
        pid = driver.declare(unit, budget_year=2027, participants=[]).project_id
        driver.run(pid, until="review_consolidate")
    with ctx.db.session() as s:
        ids = {u.username: u.id for u in s.scalars(select(User).where(User.username.in_(ROLES.values())))}
        open_tasks = {w.id: w.form for w in s.scalars(select(WorkItem).where(WorkItem.state == "open"))}
    assert set(ids) == set(ROLES.values()) and open_tasks
    raw = app.test_client().get("/api/openapi.json").json
    schema = schemathesis.openapi.from_dict(_typed(raw, ctx, open_tasks))
    schema.app = app
    users = list(ROLES.values())
    cases = 0
    statuses: dict[int, int] = {}
    roles_seen: dict[str, set[str]] = {}
    failures: list[str] = []
    current = {"operation": ""}

    for result in schema.get_all_operations():
        operation = result.ok()
        current["operation"] = f"{operation.method.upper()} {operation.path}"
        turn = 0
        for mode, count in ((schemathesis.GenerationMode.POSITIVE, POSITIVE),
                            (schemathesis.GenerationMode.NEGATIVE, NEGATIVE)):

            @settings(max_examples=count, deadline=None, suppress_health_check=list(HealthCheck),
                      phases=[Phase.generate], database=None, derandomize=True)
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):  # type: ignore[no-untyped-def]
                nonlocal cases, turn
                # Every operation is called by each role in turn; a fresh token per case, so that a
                # generated logout does not sign the next case out.
                user = users[turn % len(users)]
                turn += 1
                token = identity.issue_token(ctx, ids[user])[0]
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                cases += 1
                roles_seen.setdefault(current["operation"], set()).add(user)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code >= 500:
                    failures.append(f"{user}: {case.method} {case.formatted_path} {case.query} {case.body!r:.300}: "
                                    f"{response.status_code} {response.text[:300]}")

            try:
                run()
            except Exception as exc:  # hypothesis gives up on unsatisfiable schemas: not a server error
                if "Unsatisfiable" not in type(exc).__name__:
                    raise
    print(f"schemathesis cases: {cases}; statuses: {dict(sorted(statuses.items()))}")
    assert not failures, "\n".join(failures[:20])
    assert cases >= 500, cases
    # Nearly every operation was called by all seven roles (a few schemas allow fewer distinct cases).
    full = [op for op, seen in roles_seen.items() if len(seen) == len(ROLES)]
    assert len(full) >= 0.8 * len(roles_seen), {op: sorted(seen) for op, seen in roles_seen.items()}
    assert statuses.get(201, 0) + statuses.get(200, 0) > 0 and statuses.get(422, 0) > 0


@pytest.fixture(autouse=True)
def _quiet_logs(caplog):  # type: ignore[no-untyped-def]
    caplog.set_level("CRITICAL", logger="govflow.http")
