"""A request id from HTTP to the Celery task it causes: a 催办 over HTTP queues an e-mail in the
outbox stamped with the request's id; the tick hands it to `govflow.deliver` in a task header; the
worker's JSON log line for that send carries the same id. Real Redis, worker, beat and SMTP."""
from __future__ import annotations

import http.client
import io
import json
import logging

from sqlalchemy import update

from service.http.app import create_app
from service.observability import logs
from service.operations import identity, reminders
from service.scenario import Driver
from service.storage.models import WorkItemClock
from tests.http.test_observability import sample
from tests.workers.conftest import free_port, wait_for

REQUEST_ID = "urge-4c1e0f27-request"


def test_request_id_reaches_the_delivery_task_log(wctx, smtp_sink, celery_env, celery_procs, tmp_path,
                                                   monkeypatch):
    sink, _ = smtp_sink
    monkeypatch.setenv("GOVFLOW_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    identity.seed_demo_users(wctx)
    token = identity.issue_token(wctx, identity.authenticate(wctx, "supervisor", identity.DEMO_PASSWORD).id)[0]
    driver = Driver(wctx)
    pid = driver.declare("市教育局").project_id
    item = driver.open_items(pid)[0]
    with wctx.db.session() as s:  # no deadline mail in the way: only the urge is sent
        s.execute(update(WorkItemClock).values(fire_at=None))
    reminders.set_contact(wctx, item.unit.name, "assignee", "office@unit.example")
    app = create_app(wctx, secret_key="test")
    web_log = io.StringIO()
    handler = logging.StreamHandler(web_log)
    handler.setFormatter(logs.json_formatter())
    handler.addFilter(logs.RequestIdFilter("web"))
    access = logging.getLogger("govflow.http.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        answer = app.test_client().post(f"/api/tasks/{item.id}/urge", json={"note": "请加快办理"},
                                        headers={"Authorization": f"Bearer {token}", "X-Request-ID": REQUEST_ID})
    finally:
        access.removeHandler(handler)
    assert answer.status_code == 201, answer.get_json()
    assert answer.headers["X-Request-ID"] == REQUEST_ID
    web_line = json.loads(web_log.getvalue().splitlines()[-1])
    assert web_line["request_id"] == REQUEST_ID and web_line["route"] == "/api/tasks/<id:task_id>/urge"
    assert web_line["status"] == 201 and web_line["user_id"] is not None

    celery_env["GOVFLOW_LOG_FORMAT"] = "json"
    metrics_port = free_port()
    celery_env["GOVFLOW_WORKER_METRICS_PORT"] = str(metrics_port)
    celery_procs.start_worker(concurrency=2)
    celery_procs.start_beat()
    assert wait_for(lambda: len(sink.messages) >= 1, 60), celery_procs.log("worker")[-3000:]
    assert "催办" in sink.messages[0]["subject"]

    def delivery_lines() -> list[dict]:
        out = []
        for line in celery_procs.log("worker").splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("logger") == "govflow.workers" and "delivery_id" in record:
                    out.append(record)
        return out

    assert wait_for(lambda: any(r["status"] == "sent" for r in delivery_lines()), 20), \
        celery_procs.log("worker")[-3000:]
    sent = [r for r in delivery_lines() if r["status"] == "sent"]
    assert [r["request_id"] for r in sent] == [REQUEST_ID]
    assert sent[0]["component"] == "worker" and sent[0]["logger"] == "govflow.workers"
    # Celery's own lines are JSON too (its banner aside, which is not logging).
    assert any(json.loads(line)["message"].startswith("Task govflow.tick[")
               for line in celery_procs.log("worker").splitlines() if line.startswith("{"))
    # No personal data: the address and the note stay out of the worker's log.
    assert "office@unit.example" not in celery_procs.log("worker") and "请加快办理" not in celery_procs.log("worker")
    # The worker's own /metrics: its ticks were timed.
    conn = http.client.HTTPConnection("127.0.0.1", metrics_port, timeout=10)
    conn.request("GET", "/metrics")
    scraped = conn.getresponse().read().decode()
    conn.close()
    assert sample(scraped, "govflow_deadline_tick_duration_seconds_count") >= 1
