"""Append-only, hash-chained audit trail per project (SHA-256 by default, SM3 selectable)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.storage.models import AuditRecord, Project, utcnow


def _digest(algorithm: str, payload: bytes) -> str:
    return hashlib.new(algorithm, payload).hexdigest()


def _canonical(record: AuditRecord) -> bytes:
    body = {
        "project_id": record.project_id,
        "seq": record.seq,
        "at": record.at.isoformat(timespec="microseconds"),
        "actor": record.actor,
        "action": record.action,
        "work_item_id": record.work_item_id,
        "detail": record.detail,
        "prev": record.prev_hash,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def append(session: Session, project: Project, *, actor: str, action: str, detail: dict[str, Any],
           work_item_id: int | None = None, algorithm: str = "sha256", at: dt.datetime | None = None) -> AuditRecord:
    # The chain head lives on the project row, which every writer of this project updates in the
    # same transaction, so two writers cannot both extend the chain from the same head.
    record = AuditRecord(
        project_id=project.id,
        seq=project.audit_seq + 1,
        at=at or utcnow(),
        actor=actor,
        action=action,
        work_item_id=work_item_id,
        detail=detail,
        algorithm=algorithm,
        prev_hash=project.audit_head,
    )
    record.hash = _digest(algorithm, _canonical(record))
    project.audit_seq = record.seq
    project.audit_head = record.hash
    session.add(record)
    return record


def verify(session: Session, project_id: int) -> AuditRecord | None:
    """Return the first record whose hash or link does not match, or None if the chain is intact."""
    prev = ""
    expected_seq = 1
    rows = session.scalars(select(AuditRecord).where(AuditRecord.project_id == project_id).order_by(AuditRecord.seq))
    for record in rows:
        if record.seq != expected_seq or record.prev_hash != prev:
            return record
        if _digest(record.algorithm, _canonical(record)) != record.hash:
            return record
        prev = record.hash
        expected_seq += 1
    return None
