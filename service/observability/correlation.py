"""The request id that ties one HTTP request to its log lines and to the Celery tasks it causes.

HTTP sets it per request (service.http.observe); the outbox stamps it on the messages a request
queues (service.operations.notifications), the tick hands it to `govflow.deliver` as a task header,
and the worker sets it again around each task (workers.observe)."""
from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

HEADER = "X-Request-ID"
# Celery message header carrying it (protocol 2 puts custom headers on task.request).
TASK_HEADER = "govflow_request_id"
# What a caller may hand us: short, printable, no spaces or quotes, so it cannot forge log fields.
_SANE = re.compile(r"[A-Za-z0-9._:-]{8,128}")

_current: ContextVar[str | None] = ContextVar("govflow_request_id", default=None)


def sane(value: str | None) -> str | None:
    return value if value is not None and _SANE.fullmatch(value) else None


def new_id() -> str:
    return uuid.uuid4().hex


def current() -> str | None:
    return _current.get()


def bind(value: str | None) -> Token[str | None]:
    return _current.set(value)


def reset(token: Token[str | None]) -> None:
    _current.reset(token)
