"""Readiness for /readyz: the database answers, its schema is at the newest migration, and the
broker accepts a connection. Each check is bounded (a few seconds) and reports "ok" or a short
reason; nothing here writes."""
from __future__ import annotations

import functools

from service.operations.context import Govflow
from service.storage.migrate import alembic_config

LABELS = {"database": "数据库不可达", "migrations": "数据库结构不是最新版本（请运行 govflow init）",
          "broker": "消息队列不可达"}
BROKER_TIMEOUT_SECONDS = 2.0


@functools.cache
def _heads(url: str) -> frozenset[str]:
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def database(ctx: Govflow) -> tuple[str, str]:
    """(database, migrations) states."""
    try:
        # A raw pooled connection, outside any transaction: on SQLite a session would BEGIN
        # IMMEDIATE and queue the probe behind writers; the pool's pre-ping still applies.
        conn = ctx.db.engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute("SELECT version_num FROM alembic_version")
            applied = frozenset(str(r[0]) for r in cur.fetchall())
            cur.close()
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - any failure to read means not ready
        return f"error: {type(exc).__name__}", "unknown"
    heads = _heads(ctx.settings.database_url)
    return "ok", "ok" if applied == heads else "behind"


def broker(url: str) -> str:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=BROKER_TIMEOUT_SECONDS,
                        transport_options={"max_retries": 0}) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}"
    return "ok"


def check(ctx: Govflow, broker_url: str) -> dict[str, str]:
    db_state, migrations = database(ctx)
    return {"database": db_state, "migrations": migrations, "broker": broker(broker_url)}
