"""Append-only audit trails, hash-chained and keyed (docs/audit.md): one chain per project, and one
per unit for what concerns the unit as a whole (rectifications, 第二十七条).

Each record carries the unkeyed digest of its content and of the previous record (SHA-256 or SM3),
and an HMAC under a key kept outside the database; the owner row (projects / units) keeps the chain
head with its own MAC; signed checkpoints of the heads are written every N records and by the
periodic task, and can be exported for keeping outside. Verification locates truncation, insertion,
reordering and rewriting at their seq, also against someone who can write every table."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.config import load_settings
from service.domain.audit_chain import (
    RECORD_DOMAIN,
    Break,
    ChainReport,
    Head,
    Keyring,
    canonical,
    chain_id,
    check_checkpoint,
    check_head,
    check_records,
    checkpoint_message,
    digest,
)
from service.domain.errors import GovflowError
from service.operations import audit_keys
from service.storage import locks
from service.storage.models import AuditCheckpoint, AuditRecord, Project, Unit, utcnow

EXPORT_FORMAT = "govflow-audit-checkpoints/1"
_every: int | None = None


def _checkpoint_every() -> int:
    global _every
    if _every is None:
        _every = max(0, load_settings().audit_checkpoint_every)
    return _every


def _chain(owner: Project | Unit) -> str:
    return chain_id(owner.id, None) if isinstance(owner, Project) else chain_id(None, owner.id)


def _checkpoint(keyring: Keyring, owner: Project | Unit, seq: int, head: str, algorithm: str,
                at: dt.datetime) -> AuditCheckpoint:
    key_id, mac = keyring.sign(algorithm, checkpoint_message(_chain(owner), seq, head, at))
    cp = AuditCheckpoint(seq=seq, head=head, at=at, algorithm=algorithm, key_id=key_id, mac=mac)
    if isinstance(owner, Project):
        cp.project_id = owner.id
    else:
        cp.unit_id = owner.id
    return cp


def _append(session: Session, owner: Project | Unit, record: AuditRecord, *, algorithm: str) -> AuditRecord:
    # The chain head lives on the owner's row, which every writer of this chain locks and updates
    # in the same transaction, so two writers cannot both extend the chain from the same head.
    # Two HMACs and no query: the owner row is written anyway.
    keyring = audit_keys.active()
    record.seq = owner.audit_seq + 1
    record.algorithm = algorithm
    record.prev_hash = owner.audit_head
    body = canonical(record)
    record.hash = digest(algorithm, body)
    record.key_id, record.mac = keyring.sign(algorithm, RECORD_DOMAIN + body)
    owner.audit_seq = record.seq
    owner.audit_head = record.hash
    owner.audit_mac = keyring.sign_head(algorithm, _chain(owner), record.seq, record.hash)
    session.add(record)
    every = _checkpoint_every()
    if every and record.seq % every == 0:
        session.add(_checkpoint(keyring, owner, record.seq, record.hash, algorithm, utcnow()))
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


# -- verification ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class External:
    """A checkpoint read from an exported file (kept outside the database)."""

    seq: int
    head: str
    at: dt.datetime
    algorithm: str
    key_id: str
    mac: str


def _full(report: ChainReport, head: Head, checkpoints: Iterable[Any], keyring: Keyring,
          external: Iterable[External] = ()) -> ChainReport:
    check_head(report, head, keyring)
    for cp in checkpoints:
        check_checkpoint(report, cp, keyring)
    for cp in external:
        check_checkpoint(report, cp, keyring, where="外部保存的检查点")
    report.breaks.sort(key=lambda b: (b.seq, b.kind))
    return report


def check_project(session: Session, project_id: int, *, keyring: Keyring | None = None,
                  external: Iterable[External] = ()) -> ChainReport:
    """Everything about one project's chain: its records, the head on the project row, the
    checkpoints in the database and, when given, checkpoints kept outside."""
    keyring = keyring or audit_keys.active()
    project = session.get(Project, project_id)
    chain = chain_id(project_id, None)
    records = session.scalars(select(AuditRecord).where(AuditRecord.project_id == project_id)
                              .order_by(AuditRecord.seq, AuditRecord.id))
    report = check_records(chain, records, keyring)
    head = Head(project.audit_seq, project.audit_head, project.audit_mac or "") if project else Head(0, "", "")
    if project is None:  # asked for by id (`verify 12`): a project that is gone is not an intact chain
        report.add(1, "owner_missing", f"项目 {project_id} 在数据库中不存在（未申报或已被删除）")
    cps = session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.project_id == project_id))
    return _full(report, head, cps, keyring, external)


def check_unit(session: Session, unit_id: int, *, keyring: Keyring | None = None,
               external: Iterable[External] = ()) -> ChainReport:
    keyring = keyring or audit_keys.active()
    unit = session.get(Unit, unit_id)
    records = session.scalars(select(AuditRecord).where(AuditRecord.unit_id == unit_id)
                              .order_by(AuditRecord.seq, AuditRecord.id))
    report = check_records(chain_id(None, unit_id), records, keyring)
    head = Head(unit.audit_seq, unit.audit_head, unit.audit_mac or "") if unit else Head(0, "", "")
    if unit is None:
        report.add(1, "owner_missing", f"单位 {unit_id} 在数据库中不存在（或已被删除）")
    cps = session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.unit_id == unit_id))
    return _full(report, head, cps, keyring, external)


def verify(session: Session, project_id: int) -> Break | None:
    """The first break of a project's chain (its `seq` locates it), or None if it is intact."""
    return check_project(session, project_id).first


def verify_unit(session: Session, unit_id: int) -> Break | None:
    return check_unit(session, unit_id).first


def _grouped(session: Session, column: Any) -> Iterator[tuple[int, list[AuditRecord]]]:
    rows = session.scalars(select(AuditRecord).where(column.is_not(None)).order_by(column, AuditRecord.seq,
                                                                                   AuditRecord.id)
                           .execution_options(yield_per=2000))
    for owner_id, group in groupby(rows, key=lambda r: getattr(r, column.key)):
        yield owner_id, list(group)


def check_all(session: Session, *, keyring: Keyring | None = None,
              external: dict[str, list[External]] | None = None) -> list[ChainReport]:
    """Every chain (each project, each unit): one pass over the records per kind of owner."""
    keyring = keyring or audit_keys.active()
    external = dict(external or {})
    checkpoints: dict[str, list[AuditCheckpoint]] = {}
    for cp in session.scalars(select(AuditCheckpoint)):
        checkpoints.setdefault(chain_id(cp.project_id, cp.unit_id), []).append(cp)
    reports: list[ChainReport] = []
    for model, column, make in ((Project, AuditRecord.project_id, lambda i: chain_id(i, None)),
                                (Unit, AuditRecord.unit_id, lambda i: chain_id(None, i))):
        heads = {i: Head(seq, head, mac or "") for i, seq, head, mac in session.execute(
            select(model.id, model.audit_seq, model.audit_head, model.audit_mac))}
        seen: set[int] = set()
        for owner_id, records in _grouped(session, column):
            seen.add(owner_id)
            chain = make(owner_id)
            report = check_records(chain, records, keyring)
            reports.append(_full(report, heads.get(owner_id, Head(0, "", "")), checkpoints.pop(chain, []),
                                 keyring, external.pop(chain, [])))
        for owner_id, head in heads.items():
            chain = make(owner_id)
            if owner_id in seen or not (head.seq or chain in checkpoints or chain in external):
                continue
            reports.append(_full(ChainReport(chain), head, checkpoints.pop(chain, []), keyring,
                                 external.pop(chain, [])))
    # Chains with checkpoints (in the database or kept outside) but neither owner row nor records.
    for chain in sorted(set(external) | set(checkpoints)):
        report = ChainReport(chain)
        where = "外部保存的检查点" if chain in external else "数据库中的检查点"
        report.add(1, "owner_missing", f"{where}所记的 {chain} 在数据库中不存在（被删除）")
        reports.append(report)
    return reports


# -- checkpoints ----------------------------------------------------------------------------------


def write_checkpoints(session: Session, *, keyring: Keyring | None = None, now: dt.datetime | None = None) -> int:
    """A signed checkpoint for every chain whose head moved past its latest checkpoint; idempotent
    (a second run writes nothing). A head whose MAC does not verify is not pinned."""
    keyring = keyring or audit_keys.active()
    now = now or utcnow()
    written = 0
    for model, column in ((Project, AuditCheckpoint.project_id), (Unit, AuditCheckpoint.unit_id)):
        latest = (select(column.label("owner_id"), func.max(AuditCheckpoint.seq).label("seq"))
                  .where(column.is_not(None)).group_by(column).subquery())
        owners = session.scalars(select(model).outerjoin(latest, latest.c.owner_id == model.id)
                                 .where(model.audit_seq > func.coalesce(latest.c.seq, 0)))
        for owner in owners:
            chain = _chain(owner)
            algorithm = "sha256"
            if owner.audit_mac:
                if keyring.check_head(chain, owner.audit_seq, owner.audit_head, owner.audit_mac) is not True:
                    audit_keys.log.warning("audit head of %s does not verify: no checkpoint written", chain)
                    continue
                algorithm = owner.audit_mac.split(":", 1)[0]
            session.add(_checkpoint(keyring, owner, owner.audit_seq, owner.audit_head, algorithm, now))
            written += 1
    return written


def export_checkpoints(session: Session, *, keyring: Keyring | None = None) -> dict[str, Any]:
    """The newest checkpoint of every chain (after writing fresh ones), as a JSON document for
    an outside party (archive office, 审计局) to keep: `verify --against` compares the database
    with it later, which is what shows a rollback to an older, internally consistent state."""
    write_checkpoints(session, keyring=keyring)
    session.flush()
    newest = select(func.max(AuditCheckpoint.id)).group_by(AuditCheckpoint.project_id, AuditCheckpoint.unit_id)
    codes = dict(session.execute(select(Project.id, Project.code)).all())
    names = dict(session.execute(select(Unit.id, Unit.name)).all())
    chains = []
    for cp in session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.id.in_(newest))
                              .order_by(AuditCheckpoint.project_id, AuditCheckpoint.unit_id)):
        chains.append({"chain": chain_id(cp.project_id, cp.unit_id),
                       "label": codes.get(cp.project_id) if cp.project_id is not None else names.get(cp.unit_id),
                       "seq": cp.seq, "head": cp.head, "at": cp.at.isoformat(timespec="microseconds"),
                       "algorithm": cp.algorithm, "key_id": cp.key_id, "mac": cp.mac})
    chains.sort(key=lambda c: (c["chain"].split(":")[0], int(c["chain"].split(":")[1])))
    return {"format": EXPORT_FORMAT, "exported_at": utcnow().isoformat(timespec="seconds") + "Z", "chains": chains}


def read_export(text: str) -> dict[str, list[External]]:
    try:
        doc = json.loads(text)
        if doc.get("format") != EXPORT_FORMAT:
            raise ValueError(doc.get("format"))
        out: dict[str, list[External]] = {}
        for c in doc["chains"]:
            out.setdefault(str(c["chain"]), []).append(External(
                int(c["seq"]), str(c["head"]), dt.datetime.fromisoformat(c["at"]), str(c["algorithm"]),
                str(c["key_id"]), str(c["mac"])))
        return out
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GovflowError(f"检查点文件格式不正确（应为 {EXPORT_FORMAT}）：{exc}") from exc


# -- legacy records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LegacySigning:
    signed_records: int
    signed_chains: int
    refused: list[Break]


def sign_legacy(ctx: Any, *, keyring: Keyring | None = None) -> LegacySigning:
    """Sign the records written before 0007 (no MAC), chain by chain, each in its own transaction
    with the owner row locked, after checking their unkeyed chain and head: a broken chain is
    refused (listed), never signed. Run once right after upgrading: until then a database writer
    can still rewrite the unsigned prefix unnoticed (docs/audit.md)."""
    keyring = keyring or audit_keys.active()
    with ctx.db.session() as s:
        targets = [(r[0], r[1]) for r in s.execute(
            select(AuditRecord.project_id, AuditRecord.unit_id).where(AuditRecord.mac.is_(None)).distinct())]
    records_signed = chains = 0
    refused: list[Break] = []
    for project_id, unit_id in sorted(targets, key=lambda t: (t[0] is None, t[0] or 0, t[1] or 0)):
        with ctx.db.session() as s:
            owner: Project | Unit | None = (locks.project(s, project_id) if project_id is not None
                                            else locks.unit(s, unit_id))
            if owner is None:
                continue
            column = AuditRecord.project_id if project_id is not None else AuditRecord.unit_id
            records = list(s.scalars(select(AuditRecord).where(column == owner.id).order_by(AuditRecord.seq)))
            report = _full(check_records(_chain(owner), records, keyring),
                           Head(owner.audit_seq, owner.audit_head, owner.audit_mac or ""), [], keyring)
            if not report.ok:
                refused.append(report.first)  # type: ignore[arg-type]
                continue
            for r in records:
                if r.mac is None:
                    r.key_id, r.mac = keyring.sign(r.algorithm, RECORD_DOMAIN + canonical(r))
                    records_signed += 1
            last = records[-1] if records else None
            if last is not None:
                owner.audit_mac = keyring.sign_head(last.algorithm, _chain(owner), last.seq, last.hash)
                s.add(_checkpoint(keyring, owner, last.seq, last.hash, last.algorithm, utcnow()))
            chains += 1
    return LegacySigning(records_signed, chains, refused)
