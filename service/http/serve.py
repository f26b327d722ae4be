"""`govflow serve`: the API on the embedded default (SQLite under var/, no servers), optionally
with the demo data; and the gunicorn entry point `service.http.serve:wsgi()`."""
from __future__ import annotations

import datetime as dt
import os
import signal
import sys

from flask import Flask
from werkzeug.serving import make_server

from service import demo_projects
from service.config import load_settings
from service.domain.access import Actor
from service.http.app import create_app
from service.observability import logs
from service.operations import identity, organisation, processes
from service.operations.context import Govflow
from service.storage.migrate import upgrade
from workers import embedded
from workers.config import broker_url

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
    rows = [f"  {u:<12} {display:<6} {unit or '—':<12} {'、'.join(roles)}"
            for u, unit, roles, display in identity.DEMO_USERS]
    return f"演示账号（密码均为 {identity.DEMO_PASSWORD}）：\n" + "\n".join(rows)


def wsgi() -> Flask:
    """For gunicorn: `gunicorn 'service.http.serve:wsgi()'` (database already migrated by `govflow init`)."""
    logs.configure("web")
    return create_app(Govflow(load_settings()))


def served_address(host: str, port: int) -> str:
    """What a browser types: a wildcard bind is reached on loopback, IPv6 literals in brackets."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def serve(host: str, port: int, *, demo: bool, workers: bool = True) -> None:
    # One person at a terminal reads these: human-readable unless asked otherwise (docs/operations.md);
    # the embedded worker inherits the choice.
    os.environ.setdefault("GOVFLOW_LOG_FORMAT", "text")
    logs.configure("web")
    ctx = prepare(demo=demo)
    app = create_app(ctx)
    # Bind before printing anything: with --port 0 (or a port chosen by the OS) the address printed,
    # the one in notification links and the one served are the same.
    server = make_server(host, port, app, threaded=True)
    url = served_address(host, server.server_port)
    # Links in e-mail, webhook and in-app messages (service.channels.config) use GOVFLOW_BASE_URL;
    # unset, they point at this server. The embedded worker inherits it with the environment.
    os.environ.setdefault("GOVFLOW_BASE_URL", url)
    handle = None
    # With no broker server configured the deadline workers run here too (worker + the one beat, on
    # the serverless SQLAlchemy transport); with a broker server they are separate processes.
    if workers and broker_url().startswith("sqla+"):
        # SIGTERM (service managers, `timeout`) would end the process without `finally`: turn it
        # into a normal exit so the worker child is stopped with us, not orphaned.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        handle = embedded.start(ctx.settings)
        print(f"后台任务已启动（提醒、督办、BPMN 定时器；嵌入式 worker + beat，日志 {handle.log_path}）")
    print(f"数据库：{ctx.settings.database_url}")
    print(f"网页：{url}/  （用下列账号登录）")
    print(f"接口文档：{url}/api/docs  （OpenAPI：{url}/api/openapi.json）")
    if os.environ["GOVFLOW_BASE_URL"] != url:
        print(f"消息中的链接：{os.environ['GOVFLOW_BASE_URL']}（GOVFLOW_BASE_URL）")
    if demo:
        print(demo_logins())
        print(f"示例：curl -s -X POST {url}/api/auth/login -H 'Content-Type: application/json' "
              f"-d '{{\"username\":\"edu\",\"password\":\"{identity.DEMO_PASSWORD}\"}}'")
    sys.stdout.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
        if handle is not None:
            handle.stop()
