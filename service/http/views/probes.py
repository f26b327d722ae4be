"""Operator endpoints outside /api: /healthz (the process answers; no database), /readyz (database,
broker and migrations; 503 with Retry-After when not ready) and /metrics (Prometheus text; loopback
without proxy headers, or `Authorization: Bearer $GOVFLOW_METRICS_TOKEN`). docs/operations.md."""
from __future__ import annotations

import hmac
import ipaddress
import os
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from service.http import metrics_view
from service.http.errors import RETRY_AFTER_SECONDS, error_body
from service.operations import readiness
from workers.config import broker_url

bp = Blueprint("probes", __name__)
_PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


def _ctx() -> Any:
    return current_app.extensions["govflow"]


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    checks = readiness.check(_ctx(), broker_url())
    if all(v == "ok" for v in checks.values()):
        return jsonify({"status": "ready", "checks": checks})
    failing = "、".join(readiness.LABELS[k] for k, v in checks.items() if v != "ok")
    response = jsonify(error_body("not_ready", f"服务暂未就绪：{failing}，请稍后重试", checks=checks))
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def metrics_allowed() -> bool:
    token = os.environ.get("GOVFLOW_METRICS_TOKEN", "")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    try:
        loopback = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
    # A reverse proxy on the same host connects from loopback on behalf of the public: a forwarded
    # request is never trusted as local.
    return loopback and not any(h in request.headers for h in _PROXY_HEADERS)


@bp.get("/metrics")
def metrics() -> Response | tuple[Response, int]:
    if not metrics_allowed():
        return jsonify(error_body("forbidden", "无权限：监控指标仅对本机或持有监控令牌的请求开放")), 403
    body, content_type = metrics_view.exposition(_ctx())
    return Response(body, content_type=content_type)
