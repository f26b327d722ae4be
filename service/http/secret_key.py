"""The session-signing key: random for the embedded demo, required and real everywhere else.

A guessable key lets anyone forge a session cookie for any user, so outside the embedded mode
(SQLite, one process, demo data) the service refuses to start without one, rather than starting
with a placeholder such as docker-compose's old `change-me` or a per-process random key that
signs users out whenever a request lands on another gunicorn worker."""
from __future__ import annotations

import os
import secrets

MIN_LENGTH = 32
PLACEHOLDERS = frozenset({"change-me", "changeme", "secret", "secret-key", "dev", "test", "please-change"})


class InsecureSecretKey(RuntimeError):
    pass


def is_embedded(database_url: str) -> bool:
    return database_url.startswith("sqlite")


def resolve(explicit: str | None, database_url: str) -> str:
    """The key to sign sessions with; `explicit` is what a caller (tests, the demo) passes in code."""
    if explicit:
        return explicit
    key = os.environ.get("GOVFLOW_SECRET_KEY", "").strip()
    if is_embedded(database_url):
        return key or secrets.token_hex(32)
    if not key or key.lower() in PLACEHOLDERS or len(key) < MIN_LENGTH:
        raise InsecureSecretKey(
            "拒绝启动：生产模式（非内置 SQLite 数据库）必须设置 GOVFLOW_SECRET_KEY，"
            f"且为至少 {MIN_LENGTH} 个字符的随机值（例如 `python -c 'import secrets; print(secrets.token_hex(32))'`）。"
            f" Refusing to start: GOVFLOW_SECRET_KEY must be a random value of at least {MIN_LENGTH} characters.")
    return key
