"""SQLAlchemy 2.0 typed models: the whole persistent state of govflow.

Engine state is one row per instance holding only the live task tree (the spec is stored once per
process version); finished history lives in work_items and audit_records, so an instance's state
does not grow with its age (see docs/engine.md)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    # Stored naive-UTC everywhere: SQLite keeps no zone, and one convention avoids mixed comparisons.
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # "participant": one of the nine bodies of the measures; "department": a 建设单位.
    kind: Mapped[str] = mapped_column(String(20), default="department")
    # Head of the unit's own audit chain (rectifications, 第二十七条), like a project's.
    audit_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    audit_head: Mapped[str] = mapped_column(String(128), default="", server_default="")
    # Keyed MAC of (chain, seq, head): "algorithm:key_id:hex" (service.domain.audit_chain); "" before 0007.
    audit_mac: Mapped[str] = mapped_column(String(200), default="", server_default="")


class ProcessVersion(Base):
    __tablename__ = "process_versions"
    __table_args__ = (
        UniqueConstraint("process_key", "version"),
        UniqueConstraint("process_key", "checksum"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))
    sources: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec_json: Mapped[str] = mapped_column(Text)
    deployed_by: Mapped[str] = mapped_column(String(100))
    deployed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ProcessDeploy(Base):
    """One making-current of a process version (deploy, redeploy of an identical bundle, rollback):
    the newest row of a process key names the version new declarations start on (docs/deploy.md)."""

    __tablename__ = "process_deploys"
    __table_args__ = (Index("ix_process_deploys_key", "process_key", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100))
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    replaced_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_versions.id"))
    # "deploy" (a new version), "redeploy" (an identical bundle made current again), "rollback".
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)
    # The diff shown before confirming (service.engine.bundle_diff), as counts and ids.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class InstanceMigration(Base):
    """A running instance moved from one version of its process to another (docs/instance-migration.md)."""

    __tablename__ = "instance_migrations"
    __table_args__ = (Index("ix_instance_migrations_project", "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    from_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    # The element ids that were active when it moved.
    active: Mapped[list[Any]] = mapped_column(JSON, default=list)
    migrated_by: Mapped[str] = mapped_column(String(100))
    migrated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_year_unit", "budget_year", "unit_id"),
                      # 我发起的 and the register's unit filter, newest first.
                      Index("ix_projects_unit", "unit_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    budget_year: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    participants: Mapped[list[Any]] = mapped_column(JSON, default=list)
    is_urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent_basis: Mapped[str | None] = mapped_column(Text)
    estimate: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # active | completed | ended (ended early: 不予入库, 评审不通过, 未列入清单, 终止 …)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    stage: Mapped[str] = mapped_column(String(40), default="需求申报和初审", index=True)
    outcome: Mapped[str | None] = mapped_column(String(40))
    declared_by: Mapped[str] = mapped_column(String(100))
    declared_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Head of the tamper-evident audit chain, kept here so appending costs no extra query.
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head: Mapped[str] = mapped_column(String(128), default="")
    audit_mac: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # 0016: the kind of the open suspension (construction 第十四条 | operation 第二十六条), NULL when none;
    # kept on the row so lists and the register show 暂停 without a join (service.operations.suspension).
    suspension: Mapped[str | None] = mapped_column(String(20))

    unit: Mapped[Unit] = relationship(lazy="joined")


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    __table_args__ = (Index("ix_instances_waiting", "waiting_message", "correlation_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), unique=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    state: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="running")
    # Subscription index: which message the instance waits for, correlated on which key value.
    waiting_message: Mapped[str | None] = mapped_column(String(100))
    correlation_key: Mapped[str | None] = mapped_column(String(100))
    # How often each task has been opened per unit ("task@unit" → n): the 第N轮 of a send-back,
    # kept on this row (written every step anyway) instead of counted from work_items.
    task_rounds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Earliest fire time (naive UTC) of a BPMN timer the instance waits on; indexed for the timer tick.
    next_timer_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)

    # Optimistic lock: two completions of the same instance cannot both commit.
    __mapper_args__ = {"version_id_col": revision}


class WorkItem(Base):
    """One row per user task occurrence: what a department sees in its inbox."""

    __tablename__ = "work_items"
    __table_args__ = (
        Index("ix_work_items_due", "state", "due_at"),
        Index("ix_work_items_unit_state", "unit_id", "state"),
        Index("ix_work_items_project", "project_id", "task_name"),
        # 已办: what one person completed, newest first.
        Index("ix_work_items_completed_by", "completed_by", "completed_at"),
        # At most one open row per engine task; the partial index keeps history rows out of it.
        Index(
            "uq_work_items_open_task",
            "instance_id",
            "spiff_task_id",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    task_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(40))
    lane: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    form: Mapped[str] = mapped_column(String(100))
    round: Mapped[int] = mapped_column(Integer, default=1)
    assignee: Mapped[str | None] = mapped_column(String(100))
    # open | completed | cancelled
    state: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    due_rule: Mapped[str | None] = mapped_column(String(200))
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    completed_by: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # 委派: the user who delegated the task to `assignee`; it comes back to them when done.
    delegated_by: Mapped[str | None] = mapped_column(String(100))
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    unit: Mapped[Unit] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": row_version}


class AuditRecord(Base):
    """Append-only; each record carries the hash of the previous one of its chain: a project's, or
    for what concerns a unit as a whole (rectifications) that unit's."""

    __tablename__ = "audit_records"
    __table_args__ = (UniqueConstraint("project_id", "seq"),
                      UniqueConstraint("unit_id", "seq", name="uq_audit_records_unit_id_seq"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", name="fk_audit_records_unit_id_units"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    work_item_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    algorithm: Mapped[str] = mapped_column(String(10))
    prev_hash: Mapped[str] = mapped_column(String(128))
    hash: Mapped[str] = mapped_column(String(128))
    # HMAC of the record under the audit key `key_id` (outside the database); NULL: written before
    # 0007 (unsigned legacy, see docs/audit.md).
    mac: Mapped[str | None] = mapped_column(String(128))
    key_id: Mapped[str | None] = mapped_column(String(32))


class AuditCheckpoint(Base):
    """A signed chain head (seq, head hash, when): what the chain was at that moment, so deleting its
    newest records later is found even with the owner row rewound. Exportable for outside keeping."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_project", "project_id", "seq"),
                      Index("ix_audit_checkpoints_unit", "unit_id", "seq"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    seq: Mapped[int] = mapped_column(Integer)
    head: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    algorithm: Mapped[str] = mapped_column(String(10))
    key_id: Mapped[str] = mapped_column(String(32))
    mac: Mapped[str] = mapped_column(String(128))


class DeclarationWindow(Base):
    """第六条: declarations for a budget year are collected once a year."""

    __tablename__ = "declaration_windows"

    budget_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    opens_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    budget_arranged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # 0015: who last set the window and who declared 预算安排完成 (the page shows them).
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    budget_arranged_by: Mapped[str | None] = mapped_column(String(100))


class Rectification(Base):
    """第二十七条: while open, the unit may not declare projects."""

    __tablename__ = "rectifications"
    __table_args__ = (Index("ix_rectifications_open", "unit_id", "closed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    reason: Mapped[str] = mapped_column(Text)
    article: Mapped[str] = mapped_column(String(40), default="第二十七条")
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    closed_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    unit: Mapped[Unit] = relationship(lazy="joined")


class CalendarYear(Base):
    """An official year arrangement loaded by an operator (overrides the packaged data)."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_by: Mapped[str] = mapped_column(String(100))
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AnnualList(Base):
    """第七条(五): a budget year's 建议清单, compiled by 市大数据局, co-signed by 市财政局 (会同) and
    approved by 市政府; seq 1 is the year's main list, later ones are 追加 lists (第六条 urgent work).
    status: draft → cosigned → approved (a co-signed list sent back returns to draft). 0015."""

    __tablename__ = "annual_lists"
    __table_args__ = (UniqueConstraint("budget_year", "seq", name="uq_annual_lists_year_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    # [{project_id, proposed, priority, remark}] as compiled; proposed is 预算评审's 建议安排预算.
    entries: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # [{project_id, amount, reason}] as 市政府 approved them; compiled entries not here were left off.
    approved_entries: Mapped[list[Any] | None] = mapped_column(JSON)
    compiled_by: Mapped[str] = mapped_column(String(100))
    compiled_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    cosigned_by: Mapped[str | None] = mapped_column(String(100))
    cosigned_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cosign_opinion: Mapped[str | None] = mapped_column(Text)
    returned_reason: Mapped[str | None] = mapped_column(Text)
    document_no: Mapped[str | None] = mapped_column(String(100))
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revision: Mapped[int] = mapped_column(Integer, default=1)


# -- HTTP API: identity, attachments, opinions -------------------------------------------------------


class User(Base):
    """A person who signs in. Roles (department, leader, reviewer, supervisor, designer, admin) map
    onto service.domain.access.Actor; the unit is the one whose lanes the user works."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    # Contact details (0009, docs/people.md): '' when unknown.
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    email: Mapped[str] = mapped_column(String(200), default="", server_default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Empty for users who only sign in through the identity provider.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    oidc_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    unit: Mapped[Unit | None] = relationship(lazy="joined")


class ApiToken(Base):
    """Bearer tokens: only the SHA-256 of the token is stored, so a database dump grants nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # The browser session opened by the same sign-in (web_sessions.id): signing out of either ends both.
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)


# -- sessions and sign-in (0006) ---------------------------------------------------------------------


class WebSession(Base):
    """A browser session: the cookie carries only an opaque random id, this row holds the rest, so
    signing out or changing the password ends the session on every server process at once."""

    __tablename__ = "web_sessions"

    # SHA-256 of the cookie's id: a database dump opens no session.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Absolute end; idleness is judged from last_seen_at.
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class SignInThrottle(Base):
    """Failed sign-ins counted per key ("account:NAME" or "address:IP") in a fixed window; a key
    past its limit is locked until locked_until, for longer on each lockout (`lockouts`)."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)


class SecurityEvent(Base):
    """Security-relevant events outside any project (lockouts, password changes and resets)."""

    __tablename__ = "security_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(50))
    username: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Attachment(Base):
    """A file of the project dossier (第十六条 electronic archive); content lives on disk by hash."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_project", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Opinion(Base):
    """A written opinion (意见) on a task, apart from the form data."""

    __tablename__ = "opinions"
    __table_args__ = (Index("ix_opinions_project", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    author: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class TaskDraft(Base):
    """暂存: what one user has typed into one open task, kept until the task is completed. Not part
    of the dossier or the audit chain (docs/drafts.md); attachment ids live inside `data`, as in a
    submitted form."""

    __tablename__ = "task_drafts"
    __table_args__ = (UniqueConstraint("work_item_id", "username", name="uq_task_drafts_work_item_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# -- 加签 (0011): signers added to a task outside the BPMN (docs/approval-actions.md) -------------------


class Countersign(Base):
    """One signer the holder of a work item added: 前加签 (`before`: signs before the holder may
    submit) or 后加签 (`after`: signs the holder's held submission before the engine moves on). The
    signer is a person (`username`, of unit `unit_id`) or a whole unit (`username` NULL)."""

    __tablename__ = "countersigns"
    __table_args__ = (Index("ix_countersigns_work_item", "work_item_id", "state"),
                      Index("ix_countersigns_unit_state", "unit_id", "state"),
                      Index("ix_countersigns_project", "project_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    username: Mapped[str | None] = mapped_column(String(100))
    requested_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    # open | signed | cancelled
    state: Mapped[str] = mapped_column(String(20), default="open")
    decision: Mapped[str | None] = mapped_column(String(10))
    opinion: Mapped[str | None] = mapped_column(Text)
    signed_by: Mapped[str | None] = mapped_column(String(100))
    signed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")


class CountersignHold(Base):
    """The holder's validated submission of a work item with open 后加签 signers: the engine step runs
    with this data in the transaction of the last signature (docs/approval-actions.md)."""

    __tablename__ = "countersign_holds"

    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    held_by: Mapped[str] = mapped_column(String(100))
    held_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# -- Deadline workers: clocks, outbox, deliveries, late filings, contacts ----------------------------


class WorkItemClock(Base):
    """The deadline clock of an open work item: when its next reminder/escalation/warning is due
    (`fire_at`, indexed, so the tick reads only what is due), the paused (补正) and extended (延期)
    working days, and the escalation level reached."""

    __tablename__ = "work_item_clocks"

    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), primary_key=True)
    fire_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    paused_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    paused_days: Mapped[int] = mapped_column(Integer, default=0)
    extended_days: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped whenever the due date moves (resume, extension, calendar): reminders are keyed on it,
    # so a moved deadline is reminded again while an unchanged one is never reminded twice.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    # The due date as the engine computed it, before pauses and extensions moved work_items.due_date.
    original_due_date: Mapped[dt.date | None] = mapped_column(Date)


class Notification(Base):
    """Outbox and in-app message in one: one row per (task, kind, level), never two."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("work_item_id", "kind", "level", name="uq_notifications_task_kind_level"),
        Index("ix_notifications_unit_read", "unit_id", "read_at"),
        Index("ix_notifications_kind", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL only for a 抄送 of a whole project (kind "cc"): it concerns no task.
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"))
    # NULL for a message about no project (0014: kind "substitute", 代理 named; level = substitutes.id).
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    # remind_before | remind_due | escalation | late_filing | substitute | cc (抄送, level = carbon_copies.id)
    kind: Mapped[str] = mapped_column(String(20))
    level: Mapped[int] = mapped_column(Integer, default=0)
    # The unit whose inbox shows it (the task's unit for reminders, the escalation target otherwise).
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    recipient_role: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    read_by: Mapped[str | None] = mapped_column(String(100))


class CarbonCopy(Base):
    """抄送: a task or a whole project copied to a unit (every member sees it) or to one person,
    with a note; the recipient reads the project file read-only (docs/approval-actions.md)."""

    __tablename__ = "carbon_copies"
    __table_args__ = (
        # 抄送我的: a person's own copies and their unit's, newest first.
        Index("ix_carbon_copies_to_user", "to_user", "sent_at"),
        Index("ix_carbon_copies_to_unit", "to_unit_id", "sent_at"),
        Index("ix_carbon_copies_project", "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    # NULL: the project as a whole was copied.
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"))
    # Exactly one of the two is set.
    to_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    to_user: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    # A username, or "system" for the automatic copy a BPMN user task declares (cc_units).
    sent_by: Mapped[str] = mapped_column(String(100))
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    read_by: Mapped[str | None] = mapped_column(String(100))

    to_unit: Mapped[Unit | None] = relationship(lazy="joined")


class Delivery(Base):
    """One external send (e-mail, webhook) of a notification; pending rows are the backlog."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", "target", name="uq_deliveries_once"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"))
    channel: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(300))
    # pending | sending | sent | failed
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class LateFiling(Base):
    """A statutory filing (第十二、十五、二十四、二十五条) that passed its deadline, held against the unit."""

    __tablename__ = "late_filings"
    __table_args__ = (Index("ix_late_filings_unit", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    task_name: Mapped[str] = mapped_column(String(100))
    article: Mapped[str] = mapped_column(String(40))
    due_date: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    rectification_id: Mapped[int | None] = mapped_column(ForeignKey("rectifications.id"))

    unit: Mapped[Unit] = relationship(lazy="joined")


class Contact(Base):
    """Where e-mail goes: per unit and role (assignee = the unit's 办件 mailbox, leader, supervision,
    superior)."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("unit_id", "role", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    role: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(200))


# -- 催办 and 延期申请 (docs/urge-and-extension.md) ---------------------------------------------------------


class Urge(Base):
    """催办: a manual reminder to the unit holding an open task. At most one per task and statutory
    working day: the unique key is the rate limit, so two clicks at once store one."""

    __tablename__ = "urges"
    __table_args__ = (UniqueConstraint("work_item_id", "working_day", name="uq_urges_work_item_day"),
                      Index("ix_urges_unit_at", "unit_id", "at"),
                      Index("ix_urges_project", "project_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    # The urged unit (the task's unit when urged): the dashboard counts per unit.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    # The Beijing working day the urge counts for (a weekend urge counts for the next working day).
    working_day: Mapped[dt.date] = mapped_column(Date)
    by_user: Mapped[str] = mapped_column(String(100))
    by_unit: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ExtensionRequest(Base):
    """延期申请: the task's unit asks supervision for more working days; approved through clocks.extend."""

    __tablename__ = "extension_requests"
    __table_args__ = (
        Index("ix_extension_requests_state", "state", "requested_at"),
        Index("ix_extension_requests_work_item", "work_item_id"),
        # One pending request per task, also against two requests at once.
        Index("uq_extension_requests_pending", "work_item_id", unique=True,
              sqlite_where=text("state = 'pending'"), postgresql_where=text("state = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    # pending | approved | refused
    state: Mapped[str] = mapped_column(String(20), default="pending")
    # The due date when asked, and the one the approval set.
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    new_due_date: Mapped[dt.date | None] = mapped_column(Date)

    unit: Mapped[Unit] = relationship(lazy="joined")


# -- Forms admin and statistics --------------------------------------------------------------------------


class FormRevision(Base):
    """A designer's revision of a task form; the newest one of a name is served over the file in forms/.
    Append-only: an earlier revision stays as it was, so a completed step can be read against it."""

    __tablename__ = "form_revisions"
    __table_args__ = (UniqueConstraint("name", "revision", name="uq_form_revisions_name_revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    revision: Mapped[int] = mapped_column(Integer)
    schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    checksum: Mapped[str] = mapped_column(String(64))
    saved_by: Mapped[str] = mapped_column(String(100))
    saved_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# -- 代理 (0014, docs/approval-actions.md) --------------------------------------------------------------


class Substitute(Base):
    """代理: `username` names `substitute` (a colleague of the same unit) for the Beijing days
    starts_on..ends_on, both inclusive; while it runs, the substitute works the tasks claimed by or
    assigned to `username` (service.operations.substitutes). Never deleted: cancelling stamps it."""

    __tablename__ = "substitutes"
    __table_args__ = (Index("ix_substitutes_username", "username", "ends_on"),
                      # 待办: whom the signed-in user stands in for today.
                      Index("ix_substitutes_substitute", "substitute", "ends_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    substitute: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


# -- Supervision measures (0016, docs/supervision-measures.md) -----------------------------------------


class ProjectSuspension(Base):
    """暂停建设 (第十四条) or 暂停运行 (第二十六条): while open (resumed_at NULL) the project's open tasks
    cannot be completed and their clocks stand still; 市大数据局 resumes it. At most one open per project."""

    __tablename__ = "project_suspensions"
    __table_args__ = (
        Index("ix_project_suspensions_project", "project_id", "suspended_at"),
        Index("uq_project_suspensions_open", "project_id", unique=True,
              sqlite_where=text("resumed_at IS NULL"), postgresql_where=text("resumed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    # construction | operation
    kind: Mapped[str] = mapped_column(String(20))
    article: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    # The 严重逾期/重大损失处置 step that decided it (NULL: a 第二十六条 supervision action).
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"))
    suspended_by: Mapped[str] = mapped_column(String(100))
    suspended_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Work items whose clocks this suspension stopped (a 补正 pause already running is left to 补正).
    paused_items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    resumed_by: Mapped[str | None] = mapped_column(String(100))
    resumed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resume_note: Mapped[str | None] = mapped_column(Text)
    # Working days the clocks stood still, added to their due dates on resumption.
    paused_working_days: Mapped[int] = mapped_column(Integer, default=0)


class SupervisionAction(Base):
    """A supervision measure recorded on a project: 注销 / 归并整合 (第二十二条, 市大数据局), 不予安排后续运行维护经费
    (第二十六条, 市财政局), 暂停运行并限期整改 (第二十六条, 市大数据局), 责令整改 (第十四条) and the funds of a
    termination after 30 September (第十五条). Append-only."""

    __tablename__ = "supervision_actions"
    __table_args__ = (Index("ix_supervision_actions_project", "project_id", "decided_at"),
                      Index("ix_supervision_actions_kind", "kind", "decided_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(30))
    article: Mapped[str] = mapped_column(String(40))
    # The body that decided (市大数据局, 市财政局), or "system" for what the process itself records.
    authority: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"))
    rectification_id: Mapped[int | None] = mapped_column(ForeignKey("rectifications.id"))
    suspension_id: Mapped[int | None] = mapped_column(ForeignKey("project_suspensions.id"))


# Statistics read completions, openings and late filings by period: without these an overview of one
# quarter would scan the whole history of work items.
# (state, completed_at) rather than completed_at alone: every such query also filters on the state,
# and SQLite, without planner statistics, otherwise prefers ix_work_items_due's (state, due_at).
Index("ix_work_items_state_completed", WorkItem.state, WorkItem.completed_at)
# A project's completed steps (dossier export): two equality columns, chosen over the state index.
Index("ix_work_items_project_state", WorkItem.project_id, WorkItem.state)
Index("ix_work_items_created_at", WorkItem.created_at)
Index("ix_late_filings_due_date", LateFiling.due_date)
