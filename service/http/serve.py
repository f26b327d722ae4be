"""`govflow serve`: the API on the embedded default (SQLite under var/, no servers), optionally
with the demo data; and the gunicorn entry point `service.http.serve:wsgi()`."""
from __future__ import annotations

import datetime as dt
import signal
import sys

from flask import Flask

from service import demo_projects
from service.config import load_settings
from service.domain.access import Actor
from service.http.app import create_app
from service.operations import identity, organisation, processes
from service.operations.context import Govflow
from service.storage.migrate import upgrade
from workers import embedded
from workers.config import EMBEDDED_BROKER, broker_url

OPERATOR = Actor("operator", None, frozenset({"admin", "system"}))


def prepare(*, demo: bool) -> Govflow:
    settings = load_settings()
    upgrade(settings.database_url)
    ctx = Govflow(settings)
    organisation.ensure_units(ctx)
    processes.deploy(ctx, processes.bundle_from_directory(settings.processes_dir), OPERATOR)
    if demo:
        identity.seed_demo_users(ctx)
        today = dt.date.today()
        # The next budget year is open for declarations all this year, so the demo can declare.
        organisation.set_window(ctx, today.year + 1, dt.date(today.year, 1, 1), dt.date(today.year, 12, 31),
                                OPERATOR)
        demo_projects.seed(ctx, today.year + 1)
    return ctx


def demo_logins() -> str:
    rows = [f"  {u:<12} {unit or '—':<12} {'、'.join(roles)}" for u, unit, roles, _ in identity.DEMO_USERS]
    return f"演示账号（密码均为 {identity.DEMO_PASSWORD}）：\n" + "\n".join(rows)


def wsgi() -> Flask:
    """For gunicorn: `gunicorn 'service.http.serve:wsgi()'` (database already migrated by `govflow init`)."""
    return create_app(Govflow(load_settings()))


def serve(host: str, port: int, *, demo: bool, workers: bool = True) -> None:
    ctx = prepare(demo=demo)
    app = create_app(ctx)
    handle = None
    # With no broker configured the deadline workers run here too (worker + the one beat, on the
    # serverless SQLAlchemy transport); with GOVFLOW_BROKER_URL set they are separate processes.
    if workers and broker_url() == EMBEDDED_BROKER:
        # SIGTERM (service managers, `timeout`) would end the process without `finally`: turn it
        # into a normal exit so the worker child is stopped with us, not orphaned.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        handle = embedded.start(ctx.settings)
        print(f"后台任务已启动（提醒、督办、BPMN 定时器；嵌入式 worker + beat，日志 {handle.log_path}）")
    print(f"数据库：{ctx.settings.database_url}")
    print(f"网页：http://{host}:{port}/  （用下列账号登录）")
    print(f"接口文档：http://{host}:{port}/api/docs  （OpenAPI：http://{host}:{port}/api/openapi.json）")
    if demo:
        print(demo_logins())
        print(f"示例：curl -s -X POST http://{host}:{port}/api/auth/login -H 'Content-Type: application/json' "
              f"-d '{{\"username\":\"edu\",\"password\":\"{identity.DEMO_PASSWORD}\"}}'")
    try:
        app.run(host=host, port=port, threaded=True)
    finally:
        if handle is not None:
            handle.stop()
