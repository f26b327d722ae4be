"""Append-only, hash-chained audit trails (SHA-256 by default, SM3 selectable): one chain per project,
and one per unit for what concerns the unit as a whole (rectifications, 第二十七条)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.storage.models import AuditRecord, Project, Unit, utcnow


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
    if record.unit_id is not None:
        body["unit_id"] = record.unit_id
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def _append(session: Session, owner: Project | Unit, record: AuditRecord, *, algorithm: str) -> AuditRecord:
    # The chain head lives on the owner's row, which every writer of this chain updates in the
    # same transaction, so two writers cannot both extend the chain from the same head.
    record.seq = owner.audit_seq + 1
    record.algorithm = algorithm
    record.prev_hash = owner.audit_head
    record.hash = _digest(algorithm, _canonical(record))
    owner.audit_seq = record.seq
    owner.audit_head = record.hash
    session.add(record)
    return record


def append(session: Session, project: Project, *, actor: str, action: str, detail: dict[str, Any],
           work_item_id: int | None = None, algorithm: str = "sha256", at: dt.datetime | None = None) -> AuditRecord:
    record = AuditRecord(project_id=project.id, at=at or utcnow(), actor=actor, action=action,
                         work_item_id=work_item_id, detail=detail)
    return _append(session, project, record, algorithm=algorithm)


def append_unit(session: Session, unit: Unit, *, actor: str, action: str, detail: dict[str, Any],
                algorithm: str = "sha256", at: dt.datetime | None = None) -> AuditRecord:
    record = AuditRecord(unit_id=unit.id, at=at or utcnow(), actor=actor, action=action, work_item_id=None,
                         detail=detail)
    return _append(session, unit, record, algorithm=algorithm)


def _first_bad(rows: Any) -> AuditRecord | None:
    prev = ""
    expected_seq = 1
    for record in rows:
        if record.seq != expected_seq or record.prev_hash != prev:
            return record
        if _digest(record.algorithm, _canonical(record)) != record.hash:
            return record
        prev = record.hash
        expected_seq += 1
    return None


def verify(session: Session, project_id: int) -> AuditRecord | None:
    """Return the first record whose hash or link does not match, or None if the chain is intact."""
    return _first_bad(session.scalars(select(AuditRecord).where(AuditRecord.project_id == project_id)
                                      .order_by(AuditRecord.seq)))


def verify_unit(session: Session, unit_id: int) -> AuditRecord | None:
    return _first_bad(session.scalars(select(AuditRecord).where(AuditRecord.unit_id == unit_id)
                                      .order_by(AuditRecord.seq)))
