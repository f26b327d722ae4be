"""The production setup under a crowd: real gunicorn (2 processes x 8 threads) on the test database,
real HTTP clients in threads. The four departments of 方案评审 submit at the same moment on several
projects; twenty opinions and fifty claims hit one task. Nobody gets a false conflict or a 5xx."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from service.operations import identity
from service.scenario import Driver
from tests.servers import gunicorn, json_request, send_at_once

REVIEWERS = {"review_bigdata": "bigdata", "review_cac": "cac", "review_police": "police", "review_crypto": "crypto"}


@pytest.fixture
def server(ctx, tmp_path) -> Iterator[tuple[int, dict[str, str]]]:  # type: ignore[no-untyped-def]
    identity.seed_demo_users(ctx)
    tokens = {u.username: identity.issue_token(ctx, u.id)[0]
              for u in (identity.authenticate(ctx, name, identity.DEMO_PASSWORD)
                        for name in ("bigdata", "cac", "police", "crypto"))}
    with gunicorn(ctx.settings.database_url, tmp_path, workers=2, threads=8) as (port, _):
        yield port, tokens


def _post_all(port: int, requests: list[tuple[str, str, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
    """POST every (token, path, body) at the same moment, one connection each."""
    return send_at_once(port, [json_request(token, "POST", path, body) for token, path, body in requests], timeout=60)


def _at_review(driver: Driver) -> int:
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="review_bigdata")
    return pid


def test_parallel_reviews_opinions_and_claims_over_http(ctx, server):
    port, tokens = server
    driver = Driver(ctx)
    projects = [_at_review(driver) for _ in range(3)]

    reviews = [(tokens[REVIEWERS[w.task_name]], f"/api/tasks/{w.id}/complete", {"data": driver.answer(w.form)})
               for pid in projects for w in driver.open_items(pid)]
    assert len(reviews) == 12
    answers = _post_all(port, reviews)
    statuses = [status for status, _ in answers]
    assert statuses == [200] * 12, [b for s, b in answers if s != 200][:3]
    for pid in projects:
        assert [w.task_name for w in driver.open_items(pid)] == ["review_consolidate"]

    # Twenty opinions on one task, all stored.
    pid = _at_review(driver)
    police = driver.item(pid, "review_police")
    results = _post_all(port, [(tokens["police"], f"/api/tasks/{police.id}/opinions", {"text": f"意见{i}"})
                               for i in range(20)])
    assert {s for s, _ in results} <= {200, 201} and len(results) == 20, results
    texts = {o["text"] for o in _opinions(ctx, police.id)}
    assert texts == {f"意见{i}" for i in range(20)}

    # Fifty claims on one task: one holder, the rest told who holds it; no 5xx.
    cac = driver.item(pid, "review_cac")
    colleagues = [identity.create_user(ctx, f"cac{i}", unit="市委网信办", roles=["reviewer"], password=None)
                  for i in range(49)]
    claimers = [tokens["cac"]] + [identity.issue_token(ctx, u.id)[0] for u in colleagues]
    results = _post_all(port, [(t, f"/api/tasks/{cac.id}/claim", {}) for t in claimers])
    counts = Counter(status for status, _ in results)
    assert counts == {200: 1, 409: 49}, counts
    assert all("认领" in body["error"]["message"] for status, body in results if status == 409)

    from service.operations import audit

    with ctx.db.session() as s:
        for p in projects + [pid]:
            assert audit.verify(s, p) is None



def _opinions(ctx, work_item_id: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    from service.domain.access import Actor
    from service.operations import task_actions

    return task_actions.get_task(ctx, work_item_id, Actor("police", "市公安局", frozenset({"reviewer"})))["opinions"]
