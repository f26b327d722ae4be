"""撤回 racing the next unit over real gunicorn (2 processes x 4 threads) on PostgreSQL: the step's
completer takes it back while 市财政局 claims, comments on or starts typing the next task at the
same moment. Both writers lock the project row (service.storage.locks), so every round ends in one
consistent state — either the step is reopened and the next task is cancelled, or the next unit
holds it and the 撤回 is refused — with one 200, one 409 and never a 5xx; the audit chain stays whole."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from service.domain.access import Actor
from service.operations import audit, identity, tasks
from service.scenario import Driver
from tests.conftest import POSTGRESQL_ONLY
from tests.servers import gunicorn, json_request, send_at_once

pytestmark = POSTGRESQL_ONLY  # row-lock queues of several server processes are PostgreSQL's

EDU = Actor("edu", "市教育局", frozenset({"department"}))


@pytest.fixture
def server(ctx, tmp_path) -> Iterator[tuple[int, dict[str, str]]]:  # type: ignore[no-untyped-def]
    identity.seed_demo_users(ctx)
    tokens = {name: identity.issue_token(ctx, identity.authenticate(ctx, name, identity.DEMO_PASSWORD).id)[0]
              for name in ("edu", "finance")}
    with gunicorn(ctx.settings.database_url, tmp_path, workers=2, threads=4) as (port, _):
        yield port, tokens


def _at_once(port: int, requests: list[tuple[str, str, str, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
    """Send every (method, token, path, body) at the same moment, one connection each."""
    return send_at_once(port, [json_request(token, method, path, body) for method, token, path, body in requests],
                        timeout=60)


def _submitted_budget(driver: Driver) -> tuple[int, int, int]:
    """(project, submit_budget completed by edu, budget_review open and untouched)."""
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="submit_budget")
    step = driver.item(pid, "submit_budget")
    tasks.complete(driver.ctx, step.id, driver.answer(step.form), EDU)
    return pid, step.id, driver.item(pid, "budget_review").id


# What the next unit does at the moment of the 撤回, and the words its refusal of 撤回 names.
NEXT_UNIT_ACTIONS = [
    ("POST", "/api/tasks/{id}/claim", {}, "认领"),
    ("POST", "/api/tasks/{id}/opinions", {"text": "已开始审核"}, "办理意见"),
    ("PUT", "/api/tasks/{id}/draft", {"data": {}}, "暂存"),
]


def test_withdraw_racing_the_next_unit_over_http_one_consistent_outcome(ctx, server):
    port, tokens = server
    driver = Driver(ctx)
    outcomes = set()
    for _ in range(3):
        for method, path, body, words in NEXT_UNIT_ACTIONS:
            pid, step_id, next_id = _submitted_budget(driver)
            (w_status, w_body), (n_status, n_body) = _at_once(port, [
                ("POST", tokens["edu"], f"/api/tasks/{step_id}/withdraw", {}),
                (method, tokens["finance"], path.format(id=next_id), body)])
            assert sorted([w_status, n_status]) in ([200, 409], [201, 409]), (w_status, w_body, n_status, n_body)
            open_now = driver.open_items(pid)
            if w_status == 200:
                outcomes.add("withdrawn")
                assert [(w.task_name, w.assignee) for w in open_now] == [("submit_budget", "edu")]
                assert w_body["cancelled"] == [next_id]
                assert n_body["error"]["code"] == "conflict" and "撤回" in n_body["error"]["message"]
            else:
                outcomes.add("next unit first")
                assert [w.id for w in open_now] == [next_id]
                assert words in w_body["error"]["message"] and "不能撤回" in w_body["error"]["message"]
            with ctx.db.session() as s:
                assert audit.verify(s, pid) is None
    assert outcomes  # which side wins is the scheduler's; each round was one of the two
