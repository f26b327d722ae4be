"""Scale-out on one machine, production-shaped: two gunicorn instances (their own ports, one
process each so each holds its own workflow cache), two Celery workers and one beat on Redis, one
PostgreSQL database and an SMTP listener, all on loopback.

Four projects go from 申报 past the parallel 方案评审 to 预算评审, every step on the other web
instance than the one before (a stale cached workflow in either would complete the wrong state:
each step's answer and the other instance's reading of the project are checked). Midway one web
instance and one worker are SIGKILLed; the rest goes on through the survivors. Two deadline
reminders, one before and one after the kills, each arrive exactly once; every audit chain verifies.

The deadline clock is the workers' test clock (GOVFLOW_CLOCK_OFFSET_SECONDS, as in test_workers).
The kills happen with no e-mail in flight: a worker killed inside a send may resend it under the
same Message-ID (README "Exactly once"), which test_workers' burst test covers."""
from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import signal
from contextlib import ExitStack
from typing import Any

import pytest
from sqlalchemy import select

from service.operations import audit, identity, reminders
from service.scenario import Driver
from service.storage.models import Delivery, WorkItem
from tests.conftest import BACKENDS
from tests.operations.test_reminders import bj, set_due
from tests.servers import gunicorn
from tests.workers.conftest import Celery, fixed_now_env, wait_for

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="scale-out is proved on PostgreSQL")

DUE = dt.date(2026, 4, 29)
USERS = {"市教育局": "edu", "市财政局": "finance", "市大数据局": "bigdata", "市委网信办": "cac", "市公安局": "police",
         "市密码管理局": "crypto"}
# The steps of each project (one completion each), and where it ends.
STEPS = ["preliminary_review_finance", "preliminary_review", "write_plan", "review_bigdata", "review_cac",
         "review_police", "review_crypto", "review_consolidate", "submit_budget"]
END = ["budget_review"]
KILL_AFTER = 5  # steps done on every project before the kills: inside the parallel review
FINANCE_MAIL = "office@finance.example"


class Web:
    def __init__(self, name: str, port: int, proc: Any, tokens: dict[str, str]) -> None:
        self.name, self.port, self.proc, self.tokens = name, port, proc, tokens

    def call(self, method: str, path: str, user: str, body: dict[str, Any] | None = None,
             ) -> tuple[int, dict[str, Any] | list[Any]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path, body=json.dumps(body, ensure_ascii=False).encode() if body is not None else None,
                     headers={"Authorization": f"Bearer {self.tokens[user]}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        return resp.status, json.loads(raw) if raw else {}


def open_ids(web: Web, pid: int, user: str) -> list[int]:
    status, body = web.call("GET", f"/api/tasks?project_id={pid}", user)
    assert status == 200, body
    return sorted(t["id"] for t in body)  # type: ignore[index]


def step(driver: Driver, web: Web, other: Web | None, pid: int, name: str) -> None:
    item = driver.item(pid, name)
    user = USERS[item.unit.name]
    status, body = web.call("POST", f"/api/tasks/{item.id}/complete", user, {"data": driver.answer(item.form)})
    assert status == 200, (web.name, name, body)
    after = driver.open_items(pid)
    assert name not in [w.task_name for w in after] and after
    # The other instance reads what this one just wrote (never its own older copy), as the unit
    # that holds the next step sees it.
    if other is not None:
        reader = USERS[after[0].unit.name]
        assert open_ids(other, pid, reader) == sorted(w.id for w in after if USERS[w.unit.name] == reader)


def reminder_for(ctx, pid: int, name: str) -> int:  # type: ignore[no-untyped-def]
    item = Driver(ctx).item(pid, name)
    set_due(ctx, item.id, DUE, bj("2026-04-20"))
    return item.id


def sent_ids(ctx) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        rows = s.execute(select(Delivery.id, Delivery.status)).all()
    return {f"<govflow-delivery-{i}@govflow>": status for i, status in rows}


def ticks(celery: Celery) -> int:
    return sum(1 for line in celery.log("worker").splitlines() if "govflow.tick[" in line and "succeeded" in line)


def test_two_webs_two_workers_one_beat_survive_kills(wctx, redis_server, smtp_sink, tmp_path):
    sink, smtp_port = smtp_sink
    identity.seed_demo_users(wctx)
    tokens = {u: identity.issue_token(wctx, identity.authenticate(wctx, u, identity.DEMO_PASSWORD).id)[0]
              for u in USERS.values()}
    reminders.set_contact(wctx, "市财政局", "assignee", FINANCE_MAIL)
    env = {**os.environ, "GOVFLOW_DATABASE_URL": wctx.settings.database_url, "GOVFLOW_BROKER_URL": redis_server.url,
           "GOVFLOW_SMTP_HOST": "127.0.0.1", "GOVFLOW_SMTP_PORT": str(smtp_port), "GOVFLOW_TICK_SECONDS": "0.5",
           "GOVFLOW_DELIVERY_LEASE_SECONDS": "3", "GOVFLOW_DELIVERY_BACKOFF_SECONDS": "0.5",
           "GOVFLOW_WEBHOOK_URL": "", "GOVFLOW_LOG_FORMAT": "json"}
    fixed_now_env(env, bj("2026-04-29"))
    driver = Driver(wctx)
    celeries = []
    with ExitStack() as stack:
        webs = []
        for name in ("A", "B"):
            (tmp_path / name).mkdir()
            port, proc = stack.enter_context(gunicorn(wctx.settings.database_url, tmp_path / name, workers=1,
                                                      threads=4, env={"GOVFLOW_BROKER_URL": redis_server.url}))
            webs.append(Web(name, port, proc, tokens))
        a, b = webs
        for i in (1, 2):
            (tmp_path / f"w{i}").mkdir()
            celery = Celery(env, tmp_path / f"w{i}")
            stack.callback(celery.stop)
            celery.start_worker(concurrency=2)
            celeries.append(celery)
        celeries[0].start_beat()
        for web in webs:
            status, body = web.call("GET", "/readyz", "edu")
            assert status == 200, body

        # Four projects declared alternately on A and B, plus one left waiting for its reminder.
        projects = []
        for i in range(5):
            web = webs[i % 2]
            status, body = web.call("POST", "/api/projects", "edu",
                                    {"data": driver.answer("declaration", {"budget_year": 2027, "participants": []})})
            assert status == 201, body
            projects.append(body["project_id"])  # type: ignore[index]
        waiting = projects.pop()
        first_reminder = reminder_for(wctx, waiting, "preliminary_review_finance")

        for k, name in enumerate(STEPS):
            if k == KILL_AFTER:
                # Before the kills, the first reminder has been sent and nothing is in flight.
                assert wait_for(lambda: len(sink.messages) >= 1, 60), celeries[0].log("worker")[-3000:]
                assert wait_for(lambda: set(sent_ids(wctx).values()) == {"sent"}, 30), sent_ids(wctx)
                os.killpg(b.proc.pid, signal.SIGKILL)
                b.proc.wait(10)
                celeries[0].kill_worker()
                webs = [a]
            for j, pid in enumerate(projects):
                # Step k of project j on instance (k + j) mod 2: each project changes instance every step.
                web, other = webs[(k + j) % len(webs)], (webs[(k + j + 1) % len(webs)] if len(webs) > 1 else None)
                if name.startswith("review_") and name != "review_consolidate":
                    # The parallel branches may be worked in any order: this one is open now.
                    assert name in [w.task_name for w in driver.open_items(pid)]
                step(driver, web, other, pid, name)

        second_reminder = reminder_for(wctx, projects[0], "budget_review")
        assert wait_for(lambda: len(sink.messages) >= 2, 60), (celeries[1].log("worker")[-3000:], sent_ids(wctx))
        assert wait_for(lambda: set(sent_ids(wctx).values()) == {"sent"}, 30), sent_ids(wctx)
        seen = ticks(celeries[1])
        assert wait_for(lambda: ticks(celeries[1]) >= seen + 3, 30)  # later ticks send nothing again

    for pid in projects:
        assert sorted(w.task_name for w in driver.open_items(pid)) == END
    assert [w.task_name for w in driver.open_items(waiting)] == ["preliminary_review_finance"]
    # Every reminder exactly once, each e-mail the delivery the database recorded as sent.
    assert sink.ids() == dict.fromkeys(sent_ids(wctx), 1) and len(sink.messages) == 2
    with wctx.db.session() as s:
        titles = {s.get(WorkItem, first_reminder).title, s.get(WorkItem, second_reminder).title}
    assert all(FINANCE_MAIL in m["to"] and "到期提醒" in m["subject"] for m in sink.messages)
    assert {t for t in titles if any(t in m["subject"] or t in m["body"] for m in sink.messages)} == titles
    with wctx.db.session() as s:
        reports = audit.check_all(s)
    assert reports and all(r.ok for r in reports), [r.breaks for r in reports if not r.ok]
