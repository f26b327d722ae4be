"""Security events outside any project (sign-in lockouts, password changes and resets): a small
table of their own, apart from the projects' hash-chained audit trail, read by administrators."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.access import Actor, require_admin
from service.operations.context import Govflow
from service.storage.models import SecurityEvent, utcnow


def record(s: Session, kind: str, *, username: str | None = None, address: str | None = None,
           at: dt.datetime | None = None, detail: dict[str, Any] | None = None) -> None:
    """Add an event inside the caller's transaction (it stands or falls with what it records)."""
    s.add(SecurityEvent(kind=kind, username=username[:100] if username else None,
                        address=address[:64] if address else None, at=at or utcnow(), detail=detail or {}))


def recent(ctx: Govflow, actor: Actor, *, kind: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    require_admin(actor)
    with ctx.db.session() as s:
        query = select(SecurityEvent).order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc()).limit(limit)
        if kind:
            query = query.where(SecurityEvent.kind == kind)
        return [{"id": e.id, "at": e.at.isoformat() + "Z", "kind": e.kind, "username": e.username,
                 "address": e.address, "detail": e.detail} for e in s.scalars(query)]
