"""The audit chain's rules, without storage: a record's canonical bytes, its digest and keyed MAC,
the MACs of a chain head and of a checkpoint, and the breaks a chain shows (docs/audit.md).

Every MAC is HMAC over a domain-separated message (record, head and checkpoint MACs can never be
swapped for one another), under a key that is not in the database, with the record's algorithm
(SHA-256, or SM3 for 第二十一条's national cryptography)."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

ALGORITHMS = ("sha256", "sm3")
KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
RECORD_DOMAIN = b"govflow-audit-record/1\n"
HEAD_DOMAIN = b"govflow-audit-head/1\n"
CHECKPOINT_DOMAIN = b"govflow-audit-checkpoint/1\n"


class RecordLike(Protocol):
    id: int
    project_id: int | None
    unit_id: int | None
    seq: int
    at: dt.datetime
    actor: str
    action: str
    work_item_id: int | None
    detail: dict[str, Any]
    algorithm: str
    prev_hash: str
    hash: str
    mac: str | None
    key_id: str | None


class CheckpointLike(Protocol):
    seq: int
    head: str
    at: dt.datetime
    algorithm: str
    key_id: str
    mac: str


def chain_id(project_id: int | None, unit_id: int | None) -> str:
    return f"project:{project_id}" if project_id is not None else f"unit:{unit_id}"


def canonical(record: RecordLike) -> bytes:
    """What the digest and the MAC cover: everything but the digest and MAC themselves."""
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


def digest(algorithm: str, payload: bytes) -> str:
    """The unkeyed digest: anyone can recompute it, so it proves nothing against a database writer;
    it is kept so an archive holder without the key can still check the links."""
    return hashlib.new(algorithm, payload).hexdigest()


def head_message(chain: str, seq: int, head: str) -> bytes:
    return HEAD_DOMAIN + f"{chain}\n{seq}\n{head}".encode()


def checkpoint_message(chain: str, seq: int, head: str, at: dt.datetime) -> bytes:
    body = {"chain": chain, "seq": seq, "head": head, "at": at.isoformat(timespec="microseconds")}
    return CHECKPOINT_DOMAIN + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Keyring:
    """Audit MAC keys by id. `current` signs; every key verifies, so records signed before a
    rotation still verify as long as their key stays listed."""

    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError("the current key must be one of the keys")

    def sign(self, algorithm: str, message: bytes) -> tuple[str, str]:
        return self.current, hmac.new(self.keys[self.current], message, algorithm).hexdigest()

    def check(self, key_id: str | None, algorithm: str, message: bytes, mac: str) -> bool | None:
        """True / False, or None when the key id is not configured here (cannot tell)."""
        key = self.keys.get(key_id or "")
        if key is None or algorithm not in ALGORITHMS:
            return None
        return hmac.compare_digest(hmac.new(key, message, algorithm).hexdigest(), mac)

    def sign_head(self, algorithm: str, chain: str, seq: int, head: str) -> str:
        key_id, mac = self.sign(algorithm, head_message(chain, seq, head))
        return f"{algorithm}:{key_id}:{mac}"

    def check_head(self, chain: str, seq: int, head: str, packed: str) -> bool | None:
        parts = packed.split(":")
        if len(parts) != 3:
            return False
        algorithm, key_id, mac = parts
        return self.check(key_id, algorithm, head_message(chain, seq, head), mac)


@dataclass(frozen=True)
class Break:
    """One place where a chain is not what was written: which chain, at which seq, what kind."""

    chain: str
    seq: int
    kind: str
    message: str
    record_id: int | None = None
    action: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"chain": self.chain, "seq": self.seq, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class Head:
    """The chain head kept on the owner row (projects / units)."""

    seq: int
    head: str
    mac: str


@dataclass
class ChainReport:
    chain: str
    records: int = 0
    unsigned: int = 0  # legacy records (before 0007), all at the start of the chain
    last_seq: int = 0
    last_hash: str = ""
    breaks: list[Break] = field(default_factory=list)
    hashes: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first(self) -> Break | None:
        return min(self.breaks, key=lambda b: b.seq) if self.breaks else None

    def add(self, seq: int, kind: str, message: str, record: RecordLike | None = None) -> None:
        if any(b.seq == seq and b.kind == kind for b in self.breaks):
            return
        self.breaks.append(Break(self.chain, seq, kind, message, record.id if record is not None else None,
                                 record.action if record is not None else None))


def check_records(chain: str, records: Iterable[RecordLike], keyring: Keyring) -> ChainReport:
    """Walk a chain in seq order: gaps, bad links, content that does not match its digest, MACs
    that do not verify, and unsigned records after signed ones (a stripped MAC) are breaks."""
    report = ChainReport(chain)
    prev, expected, signed_seen = "", 1, False
    for r in records:
        report.records += 1
        if r.seq > expected:
            missing = f"第 {expected} 条" if r.seq == expected + 1 else f"第 {expected}–{r.seq - 1} 条"
            report.add(expected, "missing", f"{missing}记录缺失（被删除）")
        elif r.seq < expected:
            report.add(r.seq, "order", f"第 {r.seq} 条记录序号重复或顺序错乱（记录被插入或调换）", r)
        if r.prev_hash != prev:
            report.add(r.seq, "link", f"第 {r.seq} 条记录与前一条记录的哈希不衔接（记录被插入、删除或调换）", r)
        if r.algorithm not in ALGORITHMS:
            report.add(r.seq, "algorithm", f"第 {r.seq} 条记录的算法 {r.algorithm} 不被接受", r)
        else:
            body = canonical(r)
            if digest(r.algorithm, body) != r.hash:
                report.add(r.seq, "hash", f"第 {r.seq} 条记录的内容与哈希不符（记录被改写）", r)
            if not r.mac:
                if signed_seen or r.key_id:
                    report.add(r.seq, "unsigned", f"第 {r.seq} 条记录缺少 MAC（签名被去除）", r)
                else:
                    report.unsigned += 1
            else:
                signed_seen = True
                ok = keyring.check(r.key_id, r.algorithm, RECORD_DOMAIN + body, r.mac)
                if ok is None:
                    report.add(r.seq, "key", f"第 {r.seq} 条记录的密钥 {r.key_id} 未配置，无法校验 MAC", r)
                elif not ok:
                    report.add(r.seq, "mac", f"第 {r.seq} 条记录的 MAC 不符（记录被改写或伪造）", r)
        prev = r.hash
        expected = max(expected, r.seq + 1)
        report.last_seq, report.last_hash = r.seq, r.hash
        report.hashes[r.seq] = r.hash
    return report


def check_head(report: ChainReport, head: Head, keyring: Keyring) -> None:
    """Compare the chain with the head on its owner row: deleting the newest records, or adding
    some past the head, shows here; the head's own MAC shows a head rewound to match."""
    if head.seq > report.last_seq:
        report.add(report.last_seq + 1, "truncated",
                   f"链头记录到第 {head.seq} 条，实际只有 {report.last_seq} 条："
                   f"第 {report.last_seq + 1} 条起的记录被删除")
    elif head.seq < report.last_seq:
        report.add(head.seq + 1, "beyond_head", f"链头停在第 {head.seq} 条，其后却有记录（被插入）")
    elif head.head != report.last_hash:
        report.add(head.seq, "head", f"链头哈希与第 {head.seq} 条记录不符")
    signed = report.records > report.unsigned
    if head.mac:
        ok = keyring.check_head(report.chain, head.seq, head.head, head.mac)
        if ok is None:
            report.add(head.seq, "key", "链头的密钥未配置，无法校验")
        elif not ok:
            report.add(head.seq, "head_mac", f"链头（第 {head.seq} 条）的 MAC 不符（链头被回退或改写）")
    elif signed:
        report.add(head.seq, "head_unsigned", "链头缺少 MAC（被改写）")


def check_checkpoint(report: ChainReport, cp: CheckpointLike, keyring: Keyring, *, where: str = "检查点") -> None:
    """A signed checkpoint says the chain had reached cp.seq with head cp.head at cp.at: fewer
    records now is a deletion (or a database rolled back), another hash there is rewritten history."""
    at = cp.at.isoformat(timespec="seconds")
    ok = keyring.check(cp.key_id, cp.algorithm, checkpoint_message(report.chain, cp.seq, cp.head, cp.at), cp.mac)
    if ok is False:
        report.add(cp.seq, "checkpoint_mac", f"{where}（第 {cp.seq} 条，{at}）的 MAC 不符（检查点被伪造）")
        return
    got = report.hashes.get(cp.seq)
    if got is None and cp.seq > report.last_seq:
        report.add(report.last_seq + 1, "rollback",
                   f"{where}（{at}）记录链已到第 {cp.seq} 条，现在只有 {report.last_seq} 条："
                   f"第 {report.last_seq + 1} 条起的记录被删除或数据库被回退")
    elif got is None:
        report.add(cp.seq, "checkpoint", f"{where}（{at}）的第 {cp.seq} 条记录不存在")
    elif got != cp.head:
        report.add(cp.seq, "checkpoint", f"第 {cp.seq} 条记录的哈希与{where}（{at}）不符：此前的记录被改写")
