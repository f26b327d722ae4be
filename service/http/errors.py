"""The one place where errors become HTTP responses: domain error class → status code. Every
error body is {error: {code, message (zh-CN), article?, field?, errors?: [{path, message}]}}."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from service.domain.errors import (
    BundleRejected,
    Conflict,
    Forbidden,
    GovflowError,
    NotFound,
    ProcessError,
    RuleViolation,
    ValidationFailed,
)
from service.operations.attachments import TooLarge
from service.operations.identity import Unauthenticated

log = logging.getLogger("govflow.http")

# Most specific first: Unauthenticated is a Forbidden.
STATUS: list[tuple[type[GovflowError], int]] = [
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooLarge, 413),
    (ValidationFailed, 422),
    (RuleViolation, 422),
    (BundleRejected, 422),
    # A process definition that fails on this input: nothing was saved; the user can act on it.
    (ProcessError, 422),
]

_HTTP_MESSAGES = {400: "请求格式错误", 401: "请先登录", 403: "无权限", 404: "不存在", 405: "不支持该请求方法",
                  413: "上传内容过大", 415: "不支持的内容类型"}


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
        log.info("rejected input the database cannot store: %s", exc.orig)
        return jsonify(error_body("bad_request", "请求中的数值或文本超出允许范围")), 400

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        html_page = app.config.get("HTML_ERROR_PAGE")
        if html_page is not None and not request.path.startswith("/api"):
            return html_page(500, "服务器内部错误，请稍后重试或联系系统管理员")  # type: ignore[no-any-return]
        return jsonify(error_body("internal", "服务器内部错误，请稍后重试或联系系统管理员")), 500
