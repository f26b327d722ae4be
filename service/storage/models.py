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


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_year_unit", "budget_year", "unit_id"),)

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

    # Optimistic lock: two completions of the same instance cannot both commit.
    __mapper_args__ = {"version_id_col": revision}


class WorkItem(Base):
    """One row per user task occurrence: what a department sees in its inbox."""

    __tablename__ = "work_items"
    __table_args__ = (
        Index("ix_work_items_due", "state", "due_at"),
        Index("ix_work_items_unit_state", "unit_id", "state"),
        Index("ix_work_items_project", "project_id", "task_name"),
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
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    unit: Mapped[Unit] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": row_version}


class AuditRecord(Base):
    """Append-only; each record carries the hash of the previous one of its project."""

    __tablename__ = "audit_records"
    __table_args__ = (UniqueConstraint("project_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    work_item_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    algorithm: Mapped[str] = mapped_column(String(10))
    prev_hash: Mapped[str] = mapped_column(String(128))
    hash: Mapped[str] = mapped_column(String(128))


class DeclarationWindow(Base):
    """第六条: declarations for a budget year are collected once a year."""

    __tablename__ = "declaration_windows"

    budget_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    opens_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    budget_arranged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


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


class CalendarYear(Base):
    """An official year arrangement loaded by an operator (overrides the packaged data)."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_by: Mapped[str] = mapped_column(String(100))
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AnnualList(Base):
    """第七条(五): the year's project list approved by 市政府, one act over many projects."""

    __tablename__ = "annual_lists"

    budget_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_no: Mapped[str | None] = mapped_column(String(100))
    approved_by: Mapped[str] = mapped_column(String(100))
    approved_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    entries: Mapped[list[Any]] = mapped_column(JSON, default=list)
