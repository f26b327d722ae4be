"""Flask app factory: one blueprint per concern, errors mapped in one handler, the Actor resolved
once per request (service.http.auth)."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask, g, request
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import BaseConverter

from service.http import errors, json_input
from service.http.spec import MAX_ID
from service.operations.attachments import max_bytes
from service.operations.context import Govflow


class IdConverter(BaseConverter):
    """Database ids: a number the database can hold, or the route does not match (404)."""

    regex = r"[1-9][0-9]{0,9}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise NotFound()
        return number

    def to_url(self, value: Any) -> str:
        return str(value)


class YearConverter(IdConverter):
    regex = r"[0-9]{4}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 2000 <= number <= 2100:
            raise NotFound()
        return number


def json_body() -> dict[str, Any]:
    """The request's JSON object; 400 for anything else, and 400 with the field's path for JSON the
    service refuses: nested deeper than 64, NaN/Infinity/out-of-range numbers, NUL characters and
    lone surrogates (PostgreSQL text holds neither) — service.http.json_input."""
    cached = g.get("_govflow_json_body")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    data = json_input.parse_object(request.get_data(cache=True)) if request.is_json else None
    if data is None:
        raise BadRequest("请求体必须是 JSON 对象")
    g._govflow_json_body = data
    return data


def create_app(ctx: Govflow | None = None, *, secret_key: str | None = None) -> Flask:
    from service.http import auth, security_headers
    from service.http import secret_key as session_secret
    from service.http.views import (
        admin_users,
        annual_lists,
        attachments,
        calendar,
        documents,
        forms,
        lists,
        meta,
        processes,
        projects,
        statistics,
        supervision,
        tasks,
        urges_extensions,
    )

    govflow = ctx or Govflow()
    app = Flask("govflow", static_folder=None)
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["year"] = YearConverter
    app.url_map.strict_slashes = False
    app.config.update(
        SECRET_KEY=session_secret.resolve(secret_key, govflow.settings.database_url),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # HTTPS deployments (docs/security.md): the cookie is never sent over plain HTTP.
        SESSION_COOKIE_SECURE=os.environ.get("GOVFLOW_COOKIE_SECURE") == "1",
        # Room for the multipart envelope around the largest allowed file.
        MAX_CONTENT_LENGTH=max_bytes() + 64 * 1024,
        JSON_AS_ASCII=False,
        OIDC=auth.OidcConfig.from_env(),
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    # Form schemas keep the order their authors gave the fields: the pages render them in it.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["govflow"] = govflow
    errors.register(app)
    security_headers.init_app(app)
    auth.init_app(app)
    for module in (lists, meta, processes, projects, tasks, annual_lists, calendar, attachments, supervision,
                   forms, statistics, admin_users, documents, urges_extensions):
        app.register_blueprint(module.bp)
    from service.http.views import process_analytics  # 流程运行分析

    app.register_blueprint(process_analytics.bp)
    from service.http.views import instance_migrations  # 实例迁移

    app.register_blueprint(instance_migrations.bp)
    from service.http.views import countersigns  # 加签

    app.register_blueprint(countersigns.bp)
    from service.http.views import batch, substitutes  # 批量办理, 代理

    app.register_blueprint(batch.bp)
    app.register_blueprint(substitutes.bp)
    from service.http.views import carbon_copies  # 抄送

    app.register_blueprint(carbon_copies.bp)
    from service.http.views import supervision_measures  # 暂停/恢复, 第二十二、二十六条

    app.register_blueprint(supervision_measures.bp)
    from service.http import observe  # request id, access log, latency histogram (docs/operations.md)
    from service.http.views import probes  # /healthz, /readyz, /metrics

    observe.init_app(app)
    app.register_blueprint(probes.bp)
    from service import web
    from service.web.pages import error_page

    app.register_blueprint(web.bp)
    app.config["HTML_ERROR_PAGE"] = error_page

    @app.before_request
    def _refuse_nul_in_query() -> None:
        if any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
            raise BadRequest("请求中不能包含空字符")

    return app
