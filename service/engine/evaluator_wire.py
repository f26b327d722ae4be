"""The pipe protocol between the service and its evaluator children: length-prefixed JSON messages.

JSON only, in both directions: a child runs designer code, so the service never unpickles or
evaluates anything a child sends; it reads at most ``max_bytes`` per message and validates the shape.

Messages (service -> child): ``{"op": "eval"|"exec", "p": profile id, "prof"?: profile, "src": text,
"ctx": task data, "ext": external context}``; a helper answer ``{"ok": value}`` or ``{"err": error}``.
Messages (child -> service): ``{"ready": true}`` once started; ``{"ok": value}`` (an expression's value,
or a script's new task data); ``{"err": error, "fatal"?: true}``; a helper call
``{"call": name, "args": [...], "kwargs": {...}}``."""
from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

__all__ = ["ChildGone", "WireTimeout", "pack", "read_message", "write_all"]

_HEADER = struct.Struct(">I")


class WireTimeout(Exception):
    """No complete message before the deadline."""


class ChildGone(Exception):
    """End of file, or a message the service refuses to read (too large, not JSON, wrong shape)."""


def pack(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    return _HEADER.pack(len(body)) + body


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes | None:
    chunks: list[bytes] = []
    missing = n
    while missing:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WireTimeout
            # poll, not select: a busy server's descriptors can be numbered above FD_SETSIZE.
            poller = select.poll()
            poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
            if not poller.poll(max(1, int(remaining * 1000 + 0.999))):
                raise WireTimeout
        chunk = os.read(fd, min(missing, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int, max_bytes: int, deadline: float | None = None) -> dict[str, Any] | None:
    """The next message, None at end of file; ChildGone for anything malformed or over max_bytes."""
    header = _read_exact(fd, _HEADER.size, deadline)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    if length > max_bytes:
        raise ChildGone(f"message of {length} bytes over the limit of {max_bytes}")
    body = _read_exact(fd, length, deadline)
    if body is None:
        return None
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ChildGone(f"unreadable message: {exc}") from None
    if type(message) is not dict:
        raise ChildGone("message is not an object")
    return message
