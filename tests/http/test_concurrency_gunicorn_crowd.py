"""Every task write path at once on one task, over HTTP, under real gunicorn (2 processes x 8
threads) on both databases: 认领, 取消认领, 转办, 委派, 交回, 办理, 退回, 意见, 补正 pause/resume, 延期 and an
attachment upload, on three projects at the same moment. Whatever loses gets a 4xx; no 5xx, no
traceback in the server's log, and every audit chain verifies."""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from service.operations import audit, identity
from service.scenario import Driver
from tests.servers import Request, gunicorn, json_request, send_at_once


@pytest.fixture
def server(ctx, tmp_path) -> Iterator[tuple[int, dict[str, str]]]:  # type: ignore[no-untyped-def]
    identity.seed_demo_users(ctx)
    for name in ("fin1", "fin2", "fin3"):
        identity.create_user(ctx, name, unit="市财政局", roles=["reviewer"], password=None)
    tokens = {name: identity.issue_token(ctx, _id(ctx, name))[0]
              for name in ("finance", "fin1", "fin2", "fin3", "supervisor")}
    with gunicorn(ctx.settings.database_url, tmp_path, workers=2, threads=8) as (port, _):
        yield port, tokens


def _id(ctx, username: str) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from service.storage.models import User

    with ctx.db.session() as s:
        return int(s.scalar(select(User.id).where(User.username == username)))


def _json(token: str, path: str, body: dict[str, Any]) -> Request:
    return json_request(token, "POST", path, body)


def _upload(token: str, project_id: int, work_item_id: int) -> Request:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"work_item_id\"\r\n\r\n{work_item_id}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"意见.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n%PDF-1.4 crowd\r\n"
            f"--{boundary}--\r\n").encode()
    return token, "POST", f"/api/projects/{project_id}/attachments", body, f"multipart/form-data; boundary={boundary}"


def test_every_task_write_path_at_once_over_http(ctx, server):
    port, tokens = server
    driver = Driver(ctx)
    fin, sup = tokens["finance"], tokens["supervisor"]
    crowd: list[tuple[str, Request]] = []
    projects = []
    for _ in range(3):
        pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
        (item,) = driver.open_items(pid)
        assert item.task_name == "preliminary_review_finance"
        projects.append(pid)
        base = f"/api/tasks/{item.id}"
        data = {"data": driver.answer(item.form)}
        crowd += [
            ("claim", _json(fin, f"{base}/claim", {})),
            ("claim", _json(tokens["fin3"], f"{base}/claim", {})),
            ("unclaim", _json(fin, f"{base}/unclaim", {})),
            ("reassign", _json(fin, f"{base}/reassign", {"user": "fin1"})),
            ("delegate", _json(fin, f"{base}/delegate", {"user": "fin2"})),
            ("return", _json(tokens["fin2"], f"{base}/return", {})),
            ("complete", _json(fin, f"{base}/complete", data)),
            ("complete", _json(tokens["fin1"], f"{base}/complete", data)),
            ("send-back", _json(fin, f"{base}/send-back", {"to_task": "submit_declaration", "reason": "材料不全"})),
            ("opinion", _json(fin, f"{base}/opinions", {"text": "同意"})),
            ("opinion", _json(tokens["fin1"], f"{base}/opinions", {"text": "请补充"})),
            ("pause", _json(fin, f"{base}/pause", {"reason": "补正材料"})),
            ("resume", _json(fin, f"{base}/resume", {})),
            ("extend", _json(sup, f"{base}/extend", {"working_days": 2, "reason": "材料复杂"})),
            ("upload", _upload(fin, pid, item.id)),
        ]
    results = send_at_once(port, [request for _, request in crowd])
    by_action: dict[str, Counter[int]] = {}
    for (action, _), (status, _) in zip(crowd, results, strict=True):
        by_action.setdefault(action, Counter())[status] += 1
    server_errors = [(action, status, body) for (action, _), (status, body) in zip(crowd, results, strict=True)
                     if status >= 500 or status == 0]
    assert server_errors == [], (server_errors, by_action)
    # Each project's task ended at most once: completed or sent back, never both.
    for i in range(3):
        ends = [status for (action, _), (status, _) in zip(crowd[i * 15:(i + 1) * 15], results[i * 15:(i + 1) * 15],
                                                        strict=True) if action in ("complete", "send-back")]
        assert ends.count(200) <= 1, (ends, by_action)
    with ctx.db.session() as s:
        for pid in projects:
            assert audit.verify(s, pid) is None
    print({action: dict(counts) for action, counts in by_action.items()})
