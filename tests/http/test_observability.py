"""/metrics, /healthz, /readyz and the request id, in process on both databases (the gunicorn and
Celery sides: tests/http/test_observability_gunicorn.py, tests/workers/test_observability_workers.py)."""
from __future__ import annotations

import datetime as dt
import re
import shutil

import pytest
from sqlalchemy import text

from service.config import REPO_ROOT, Settings
from service.http.app import create_app
from service.observability import correlation
from service.operations.context import Govflow
from service.storage.models import WorkItem
from tests.http.test_database_outage import relayed  # noqa: F401 - the fixture (a relay to cut)
from tests.servers import free_port


def sample(body: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, 0 when absent."""
    for line in body.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def broker(tmp_path, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    # A broker that answers, without touching the repository's var/ or a server.
    url = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    monkeypatch.setenv("GOVFLOW_BROKER_URL", url)
    return url


@pytest.fixture
def bare_app(tmp_path, sqlite_template):  # type: ignore[no-untyped-def]
    """The app on a migrated, empty SQLite copy: enough for what needs no data (fast to set up)."""
    shutil.copy(sqlite_template, tmp_path / "bare.db")
    ctx = Govflow(Settings(database_url=f"sqlite:///{tmp_path / 'bare.db'}", processes_dir=REPO_ROOT / "processes",
                           forms_dir=REPO_ROOT / "forms"))
    app = create_app(ctx, secret_key="test")
    yield app
    ctx.close()


def test_latency_histogram_moves_by_route_and_status(bare_app):
    client = bare_app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    count = "govflow_http_request_duration_seconds_count"
    route = "/api/tasks/<id:task_id>"
    assert client.get("/api/tasks/999999").status_code == 401
    assert client.get("/api/tasks/999998").status_code == 401
    after = client.get("/metrics").get_data(as_text=True)
    assert sample(after, count, route=route, status="401", method="GET") == \
        sample(before, count, route=route, status="401", method="GET") + 2
    # The URL rule, never the raw path: no id in any label.
    assert "/api/tasks/999999" not in after
    assert client.get("/no/such/page/42").status_code == 404
    assert sample(client.get("/metrics").get_data(as_text=True), count, route="<unmatched>", status="404") >= 1


def test_completions_and_open_tasks_are_counted(app, ctx, driver):
    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    pid = driver.declare("市教育局").project_id
    first = driver.open_items(pid)[0]
    driver.complete(pid, first.task_name)
    body = client.get("/metrics").get_data(as_text=True)
    total = "govflow_task_completions_total"
    assert sample(body, total, task=first.task_name) == sample(before, total, task=first.task_name) + 1
    # A completion the database refused: none here, and the series is there to alert on.
    for cause in ("stale_row", "constraint"):
        assert f'govflow_completion_conflicts_total{{cause="{cause}"}}' in body
        assert sample(body, "govflow_completion_conflicts_total", cause=cause) == \
            sample(before, "govflow_completion_conflicts_total", cause=cause)
    opened = driver.open_items(pid)[0]
    green = sample(body, "govflow_open_tasks", stage=opened.stage, grade="green")
    assert green >= 1
    assert sample(body, "govflow_database_figures_up") == 1
    assert sample(body, "govflow_outbox_deliveries", status="pending") == 0
    with ctx.db.session() as s:  # overdue: 红牌
        row = s.get(WorkItem, opened.id)
        row.due_date, row.due_at = dt.date(2026, 4, 29), dt.datetime(2026, 4, 29, 16)
    body = client.get("/metrics").get_data(as_text=True)
    assert sample(body, "govflow_open_tasks", stage=opened.stage, grade="green") == green - 1
    assert sample(body, "govflow_open_tasks", stage=opened.stage, grade="red") >= 1


def test_metrics_only_for_loopback_or_the_token(bare_app, monkeypatch):
    client = bare_app.test_client()
    assert client.get("/metrics").status_code == 200
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert outside.status_code == 403 and "监控" in outside.get_json()["error"]["message"]
    # Through a proxy on this host the peer is loopback, the client is not.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 403
    monkeypatch.setenv("GOVFLOW_METRICS_TOKEN", "s3cret-metrics-token")
    wrong = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"},
                       headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    right = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"},
                       headers={"Authorization": "Bearer s3cret-metrics-token"})
    assert right.status_code == 200 and "govflow_http_request_duration_seconds" in right.get_data(as_text=True)


def test_request_id_accepted_when_sane_else_generated(bare_app):
    client = bare_app.test_client()
    given = client.get("/healthz", headers={"X-Request-ID": "edge-4f1c2a9b-0001"})
    assert given.status_code == 200 and given.get_json() == {"status": "ok"}
    assert given.headers["X-Request-ID"] == "edge-4f1c2a9b-0001"
    for bad in ("short", 'x" level="ERROR', "a" * 200, "含中文的请求编号1234"):
        answer = client.get("/healthz", headers={"X-Request-ID": bad})
        assert answer.headers["X-Request-ID"] != bad and re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])
    # Error answers carry it too, and nothing stays bound after the request.
    assert client.get("/api/tasks").headers["X-Request-ID"]
    assert correlation.current() is None


def test_readyz_ready_then_broker_away_then_behind_on_migrations(app, ctx, backend, broker, monkeypatch):
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}
    monkeypatch.setenv("GOVFLOW_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    away = client.get("/readyz")
    assert away.status_code == 503 and away.headers["Retry-After"].isdigit()
    body = away.get_json()["error"]
    assert body["checks"]["database"] == "ok" and body["checks"]["broker"].startswith("error")
    assert "消息队列不可达" in body["message"]
    monkeypatch.setenv("GOVFLOW_BROKER_URL", broker)
    if backend != "sqlite":
        return  # the shared PostgreSQL test database is not ours to rewind
    with ctx.db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    behind = client.get("/readyz")
    assert behind.status_code == 503 and behind.headers["Retry-After"].isdigit()
    assert behind.get_json()["error"]["checks"]["migrations"] == "behind"
    assert "govflow init" in behind.get_json()["error"]["message"]


def test_readyz_503_while_the_database_is_cut_and_ready_again_after(relayed, broker):  # noqa: F811
    relay, client, _ = relayed
    assert client.get("/readyz").status_code == 200
    relay.cut()
    down = client.get("/readyz")
    assert down.status_code == 503 and down.headers["Retry-After"].isdigit()
    assert down.get_json()["error"]["checks"]["database"].startswith("error")
    assert "数据库不可达" in down.get_json()["error"]["message"]
    # /healthz needs no database.
    assert client.get("/healthz").status_code == 200
    relay.start()
    assert [client.get("/readyz").status_code for _ in range(3)] == [200] * 3


def test_database_errors_reach_the_log_without_users_data(tmp_path):
    import sqlite3

    from sqlalchemy.exc import IntegrityError

    from service.storage.db import describe_error, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'pd.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE people (phone TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO people VALUES (:p)"), {"p": "13800138000"})
    with pytest.raises(IntegrityError) as info, engine.begin() as conn:
        conn.execute(text("INSERT INTO people VALUES (:p)"), {"p": "13800138000"})
    engine.dispose()
    assert "13800138000" not in str(info.value)  # statement parameters are hidden
    wrapped = IntegrityError("INSERT …", {}, sqlite3.IntegrityError("UNIQUE constraint failed: people.phone"))
    assert describe_error(wrapped) == "IntegrityError"
