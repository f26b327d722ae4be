"""The one place where errors become HTTP responses: domain error class → status code. Every
error body is {error: {code, message (zh-CN), article?, field?, errors?: [{path, message}]}}."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from service.domain.errors import (
    BadField,
    BundleRejected,
    Conflict,
    Forbidden,
    GovflowError,
    NotFound,
    ProcessError,
    RuleViolation,
    ValidationFailed,
)
from service.http.json_input import MalformedJson
from service.operations.attachments import TooLarge
from service.operations.identity import Unauthenticated
from service.storage.db import describe_error

log = logging.getLogger("govflow.http")

# Most specific first: Unauthenticated is a Forbidden.
STATUS: list[tuple[type[GovflowError], int]] = [
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooLarge, 413),
    # JSON the service refuses (too deep, NaN, lone surrogates): a malformed request, with the path.
    (MalformedJson, 400),
    (BadField, 400),
    (ValidationFailed, 422),
    (RuleViolation, 422),
    (BundleRejected, 422),
    # A process definition that fails on this input: nothing was saved; the user can act on it.
    (ProcessError, 422),
]

_HTTP_MESSAGES = {400: "请求格式错误", 401: "请先登录", 403: "无权限", 404: "不存在", 405: "不支持该请求方法",
                  413: "上传内容过大", 415: "不支持的内容类型"}


RETRY_AFTER_SECONDS = 5
# PostgreSQL SQLSTATEs a client can retry: serialization failure, deadlock, lock or statement
# timeout, too many connections, server shutting down / starting up.
_TRANSIENT_STATES = {"40001", "40P01", "55P03", "57014", "53300", "57P01", "57P02", "57P03"}


def is_transient(exc: DBAPIError) -> bool:
    """Whether a database error says "try again later" rather than "this request is wrong"."""
    if exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "sqlstate", None)
    if state in _TRANSIENT_STATES or (state or "").startswith("08"):
        return True
    text = str(exc.orig).lower()
    # psycopg without a SQLSTATE (connection refused, server closed the connection) and SQLite's
    # writer lock held past busy_timeout.
    return any(s in text for s in ("connection", "server closed", "database is locked", "terminat"))


def status_of(exc: GovflowError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}}


def register(app: Flask) -> None:
    @app.errorhandler(GovflowError)
    def _domain(exc: GovflowError) -> tuple[Response, int]:
        body = exc.to_dict()
        if isinstance(exc, ValidationFailed):
            body["errors"] = body.pop("details")
        elif isinstance(exc, BundleRejected):
            body["issues"] = body.pop("details")
        return jsonify({"error": body}), status_of(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        message = _HTTP_MESSAGES.get(status, exc.name)
        if status == 413:
            message = f"上传内容过大（上限 {app.config['MAX_CONTENT_LENGTH'] // (1024 * 1024)} MB）"
        html_page = app.config.get("HTML_ERROR_PAGE")
        if html_page is not None and not request.path.startswith("/api"):
            return html_page(status, message)  # type: ignore[no-any-return]
        return jsonify(error_body(exc.name.lower().replace(" ", "_"), message)), status

    @app.errorhandler(DataError)
    def _data(exc: DataError) -> tuple[Response, int]:
        # A value the database cannot hold (out of range, bad encoding): the client's input.
        # The class and SQLSTATE only: the driver's message can quote the value (users' data).
        log.info("rejected input the database cannot store: %s", describe_error(exc))
        return jsonify(error_body("bad_request", "请求中的数值或文本超出允许范围")), 400

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError) -> tuple[Response, int]:
        # Writers of one project are serialised (service.storage.locks), so a constraint that still
        # fires means another request created the same thing first: the caller's action lost.
        log.warning("constraint refused a write: %s", describe_error(exc))
        return jsonify(error_body("conflict", "该记录已被他人同时修改，请刷新后重试")), 409

    @app.errorhandler(DBAPIError)
    def _database(exc: DBAPIError) -> Response | tuple[Response, int]:
        if not is_transient(exc):
            return _unexpected(exc)
        return unavailable(exc)

    @app.errorhandler(PoolTimeout)
    def _pool(exc: PoolTimeout) -> Response:
        return unavailable(exc)

    def unavailable(exc: Exception) -> Response:
        # The database is down, restarting, or every connection is busy: nothing was written (the
        # transaction rolled back); the pool replaces dead connections by itself (pre-ping).
        log.warning("database unavailable: %s", describe_error(exc))
        message = "数据库暂时不可用，请稍后重试"
        html_page = app.config.get("HTML_ERROR_PAGE")
        if html_page is not None and not request.path.startswith("/api"):
            response = html_page(503, message)
            response = response if isinstance(response, Response) else app.make_response(response)
        else:
            response = jsonify(error_body("unavailable", message))
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        html_page = app.config.get("HTML_ERROR_PAGE")
        if html_page is not None and not request.path.startswith("/api"):
            return html_page(500, "服务器内部错误，请稍后重试或联系系统管理员")  # type: ignore[no-any-return]
        return jsonify(error_body("internal", "服务器内部错误，请稍后重试或联系系统管理员")), 500
