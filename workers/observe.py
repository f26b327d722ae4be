"""Logs, request ids and metrics for Celery processes (worker and beat).

- Logging: the service's format (service.observability.logs; JSON unless GOVFLOW_LOG_FORMAT=text),
  set up instead of Celery's own.
- Request ids: a task published while one is bound (in a task, or in the tick for a delivery a
  request queued) carries it in the `govflow_request_id` header; around each task it is bound
  again (the header's, else the task's own id), so every log line of the task prints it.
- Metrics: GOVFLOW_WORKER_METRICS_PORT serves this worker's /metrics (all its pool processes when
  PROMETHEUS_MULTIPROC_DIR is set), to loopback or `Authorization: Bearer $GOVFLOW_METRICS_TOKEN`
  only. A worker on the same host and PROMETHEUS_MULTIPROC_DIR as gunicorn shows up in the web's
  /metrics instead."""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import threading
from collections.abc import Callable, Iterable
from contextvars import Token
from typing import Any

from celery import signals

from service.observability import correlation, logs

log = logging.getLogger("govflow.workers")
_tokens: dict[str, Token[str | None]] = {}
_tokens_lock = threading.Lock()


@signals.setup_logging.connect
def _setup_logging(loglevel: Any = None, **_: Any) -> None:
    if loglevel and "GOVFLOW_LOG_LEVEL" not in os.environ:
        os.environ["GOVFLOW_LOG_LEVEL"] = logging.getLevelName(loglevel) if isinstance(loglevel, int) else str(loglevel)
    logs.configure("worker")


@signals.celeryd_init.connect
def _fresh_metrics_directory(**_: Any) -> None:
    """A worker starting owns its PROMETHEUS_MULTIPROC_DIR (one per worker container, as gunicorn's
    per web container): samples of an earlier run would be added to this one's."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.unlink(os.path.join(directory, name))


@signals.before_task_publish.connect
def _stamp(headers: dict[str, Any] | None = None, **_: Any) -> None:
    rid = correlation.current()
    if rid and headers is not None and not headers.get(correlation.TASK_HEADER):
        headers[correlation.TASK_HEADER] = rid


@signals.task_prerun.connect
def _bind(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id is None:
        return
    header = correlation.sane(getattr(task.request, correlation.TASK_HEADER, None)) if task is not None else None
    token = correlation.bind(header or task_id)
    with _tokens_lock:
        _tokens[task_id] = token


@signals.task_postrun.connect
def _unbind(task_id: str | None = None, **_: Any) -> None:
    with _tokens_lock:
        token = _tokens.pop(task_id or "", None)
    if token is not None:
        try:
            correlation.reset(token)
        except ValueError:
            correlation.bind(None)


def _allowed(environ: dict[str, Any]) -> bool:
    token = os.environ.get("GOVFLOW_METRICS_TOKEN", "")
    header = environ.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    try:
        return ipaddress.ip_address(environ.get("REMOTE_ADDR", "")).is_loopback and not environ.get(
            "HTTP_X_FORWARDED_FOR")
    except ValueError:
        return False


def metrics_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    from prometheus_client import CONTENT_TYPE_LATEST

    from service.observability.metrics import process_exposition

    if environ.get("PATH_INFO") != "/metrics":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    if not _allowed(environ):
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"forbidden\n"]
    body = process_exposition()
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [body]


@signals.worker_ready.connect
def _serve_metrics(**_: Any) -> None:
    port = os.environ.get("GOVFLOW_WORKER_METRICS_PORT")
    if not port:
        return
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = make_server(os.environ.get("GOVFLOW_WORKER_METRICS_HOST", "127.0.0.1"), int(port), metrics_app,
                         handler_class=Quiet)
    threading.Thread(target=server.serve_forever, name="govflow-metrics", daemon=True).start()
    log.info("worker metrics served", extra={"port": server.server_port})
