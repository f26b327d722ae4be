"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis): valid and
invalid requests, authenticated as users of every role, must never get a 5xx."""
from __future__ import annotations

import itertools
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from sqlalchemy import select

from service.operations import identity
from service.scenario import Driver
from service.storage.models import User

POSITIVE = int(os.environ.get("GOVFLOW_FUZZ_POSITIVE", "12"))
NEGATIVE = int(os.environ.get("GOVFLOW_FUZZ_NEGATIVE", "8"))
STATUSES: dict[int, int] = {}
USERS = ["edu", "finance", "bigdata", "gov", "supervisor", "designer", "admin"]


def test_no_server_error_for_any_generated_request(app, ctx):
    driver = Driver(ctx)
    # Some real rows, so generated ids sometimes hit existing projects, tasks and attachments.
    for unit in ("市教育局", "市卫生健康委员会"):
        pid = driver.declare(unit, budget_year=2027, participants=[]).project_id
        driver.run(pid, until="review_consolidate")
    with ctx.db.session() as s:
        ids = {u.username: u.id for u in s.scalars(select(User).where(User.username.in_(USERS)))}
    users = itertools.cycle(USERS)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    cases = 0
    failures: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, count in ((schemathesis.GenerationMode.POSITIVE, POSITIVE),
                            (schemathesis.GenerationMode.NEGATIVE, NEGATIVE)):

            @settings(max_examples=count, deadline=None, suppress_health_check=list(HealthCheck),
                      phases=[Phase.generate], database=None, derandomize=True)
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):  # type: ignore[no-untyped-def]
                nonlocal cases
                # A fresh token per case: a generated logout must not sign the next case out.
                token = identity.issue_token(ctx, ids[next(users)])[0]
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                cases += 1
                STATUSES[response.status_code] = STATUSES.get(response.status_code, 0) + 1
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r:.300}: "
                                    f"{response.status_code} {response.text[:300]}")

            try:
                run()
            except Exception as exc:  # hypothesis gives up on unsatisfiable schemas: not a server error
                if "Unsatisfiable" not in type(exc).__name__:
                    raise
    print(f"schemathesis cases: {cases}; statuses: {dict(sorted(STATUSES.items()))}")
    assert not failures, "\n".join(failures[:20])
    assert cases >= 500, cases


@pytest.fixture(autouse=True)
def _quiet_logs(caplog):  # type: ignore[no-untyped-def]
    caplog.set_level("CRITICAL", logger="govflow.http")
