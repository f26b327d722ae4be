"""Which process version is current: deploy records, making a version current, the history.

process_versions are immutable (sources, spec, checksum); what changes is which of them new
declarations start on. That is the newest process_deploys row of the process key, written with its
audit record in the caller's transaction, under the caller's named `deploy:<key>` lock."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.domain.access import Actor
from service.domain.errors import NotFound
from service.operations import audit, people
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import ProcessDeploy, ProcessVersion, Unit, utcnow

# 第五条: 市大数据局 is the competent department running the measures; what the lifecycle is, and
# who changed it, is recorded on its unit audit chain.
OWNER_UNIT = "市大数据局"
ACTIONS = {"deploy": "process_deployed", "redeploy": "process_redeployed", "rollback": "process_rolled_back"}
ACTION_ZH = {"deploy": "部署新版本", "redeploy": "重新部署（内容与历史版本相同）", "rollback": "回退到历史版本"}


def current_version(session: Session, process_key: str) -> ProcessVersion | None:
    """The version new declarations of `process_key` start on (None before any deploy)."""
    version = session.scalar(select(ProcessVersion).join(ProcessDeploy, ProcessDeploy.version_id == ProcessVersion.id)
                             .where(ProcessDeploy.process_key == process_key)
                             .order_by(ProcessDeploy.id.desc()).limit(1))
    if version is None:  # versions written without a record (before revision 0017's backfill ran)
        version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == process_key)
                                 .order_by(ProcessVersion.version.desc()).limit(1))
    return version


def current_version_ids(session: Session) -> dict[str, int]:
    """Process key → id of its current version, for every key (one grouped query)."""
    newest = (select(ProcessDeploy.process_key, func.max(ProcessDeploy.id).label("id"))
              .group_by(ProcessDeploy.process_key).subquery())
    out = dict(session.execute(select(ProcessDeploy.process_key, ProcessDeploy.version_id)
                               .join(newest, newest.c.id == ProcessDeploy.id)).all())
    for key, vid in session.execute(select(ProcessVersion.process_key, func.max(ProcessVersion.id))
                                    .group_by(ProcessVersion.process_key)):
        out.setdefault(key, vid)
    return out


def make_current(ctx: Govflow, session: Session, version: ProcessVersion, replaced: ProcessVersion | None, *,
                 action: str, actor: Actor, changes: Mapping[str, Any], reason: str | None = None) -> ProcessDeploy:
    """Record `version` as current and audit it. The caller holds the `deploy:<key>` named lock."""
    record = ProcessDeploy(process_key=version.process_key, version_id=version.id,
                           replaced_version_id=replaced.id if replaced else None, action=action,
                           actor=actor.user, at=utcnow(), reason=reason, changes=dict(changes))
    session.add(record)
    unit_id = session.scalar(select(Unit.id).where(Unit.name == OWNER_UNIT))
    unit = locks.unit(session, unit_id) if unit_id is not None else None  # named lock → unit row
    if unit is not None:
        audit.append_unit(session, unit, actor=actor.user, action=ACTIONS[action], detail={
            "process_key": version.process_key, "version": version.version, "version_id": version.id,
            "checksum": version.checksum, "replaced_version": replaced.version if replaced else None,
            "reason": reason, "changes": dict(changes)}, algorithm=ctx.settings.audit_hash, at=record.at)
    session.flush()
    return record


def history(ctx: Govflow, process_key: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest deploy records of a process key, with version numbers and the actors' names."""
    with ctx.db.session() as s:
        rows = s.scalars(select(ProcessDeploy).where(ProcessDeploy.process_key == process_key)
                         .order_by(ProcessDeploy.id.desc()).limit(limit)).all()
        ids = {r.version_id for r in rows} | {r.replaced_version_id for r in rows if r.replaced_version_id}
        numbers = dict(s.execute(select(ProcessVersion.id, ProcessVersion.version)
                                 .where(ProcessVersion.id.in_(ids))).all()) if ids else {}
        return [{"id": r.id, "process_key": r.process_key, "action": r.action, "action_label": ACTION_ZH[r.action],
                 "version_id": r.version_id, "version": numbers.get(r.version_id),
                 "replaced_version_id": r.replaced_version_id,
                 "replaced_version": numbers.get(r.replaced_version_id) if r.replaced_version_id else None,
                 "actor": r.actor, "actor_name": people.name_of(s, r.actor), "at": r.at.isoformat(),
                 "reason": r.reason, "changes": r.changes} for r in rows]


def get_version(session: Session, version_id: int) -> ProcessVersion:
    version = session.get(ProcessVersion, version_id)
    if version is None:
        raise NotFound("流程版本不存在")
    return version
