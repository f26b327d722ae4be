"""Log format for every process: one JSON object per line (python-json-logger on the standard
`logging` module that Flask, gunicorn, Celery and SQLAlchemy already log through), each carrying
the request id of the HTTP request or Celery task it belongs to.

GOVFLOW_LOG_FORMAT  json (default) | text (human-readable; `govflow serve`, the embedded demo, sets
                    it when unset)
GOVFLOW_LOG_LEVEL   INFO (default)

What goes in: ids (request, user, task, project, delivery), routes, statuses, durations. Never
names, phones, e-mail addresses or form contents: the access log has the route template, not the
path or query; SQL parameters are hidden from exceptions (service.storage.db)."""
from __future__ import annotations

import logging
import os
import sys
from typing import Any

from service.observability import correlation

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = correlation.current() or "-"
        record.component = self.component
        return True


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(component)s %(process)d",
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                         json_ensure_ascii=False, timestamp=False, datefmt="%Y-%m-%dT%H:%M:%S%z")


def log_format() -> str:
    return "text" if os.environ.get("GOVFLOW_LOG_FORMAT", "json").strip().lower() == "text" else "json"


def configure(component: str, *, stream: Any = None) -> None:
    """Replace the root handlers with one on stderr in the chosen format; idempotent."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter() if log_format() == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter(component))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_govflow", False):
            root.removeHandler(old)
    handler._govflow = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(os.environ.get("GOVFLOW_LOG_LEVEL", "INFO").upper())
    # The development server's request lines carry the raw path and query (search terms are names):
    # the access log of service.http.observe replaces them.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # SpiffWorkflow logs every task state change at INFO (a dozen lines per completion), and
    # Alembic every migration step: the audit record is the history, so only their warnings.
    for noisy in ("spiff", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
