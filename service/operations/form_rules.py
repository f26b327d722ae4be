"""The rules a completion must pass beyond its form's schema, run once on the way to the engine
(tasks.complete, hence 批量办理; projects.declare): the form's cross-field rules
(service.domain.cross_field_rules, over the project's earlier steps) and, for 填报入库申请 reached
again, the declaration rules (service.operations.declaration_rules). Also what the service adds to
the engine on completion: the register fields of a declaration and the 第十三条 cumulative amount."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import cross_field_rules
from service.domain.cross_field_rules import RuleContext, money
from service.domain.deadlines import local_date
from service.domain.forms import Form
from service.operations import audit, declaration_rules
from service.operations.declaration_rules import DECLARATION_TASK
from service.storage.models import Project, WorkItem

CHANGE_TASK = "change_request"
# Engine variable the compute_change script adds to change_amount (第十三条, cumulative reading).
FILED_CHANGE_VAR = "filed_change_amount"


# The steps the rules and the 第十三条 change amounts read (cross_field_rules: RuleContext):
# only these are read, so the query grows with these steps, not with the project's age.
HISTORY_TASKS = ("review_consolidate", "acceptance_review", CHANGE_TASK, "change_filing", "change_review")


def context(session: Session, project: Project) -> RuleContext:
    """The project's completed steps the rules read, oldest first, folded into what they read."""
    # By project and task name (ix_work_items_project), the state checked below: with
    # `state = 'completed'` in the WHERE, SQLite took ix_work_items_state_completed and read the
    # completed rows of every project, in every completion that checks the rules.
    rows = [(task_name, data, completed_at) for task_name, data, completed_at, state in session.execute(
        select(WorkItem.task_name, WorkItem.data, WorkItem.completed_at, WorkItem.state)
        .where(WorkItem.project_id == project.id, WorkItem.task_name.in_(HISTORY_TASKS))
        .order_by(WorkItem.completed_at, WorkItem.id)) if state == "completed"]
    history: dict[str, Mapping[str, Any]] = {}
    completed_on: dict[str, dt.date] = {}
    base: Decimal | None = None
    filed = Decimal(0)
    pending: Mapping[str, Any] = {}
    for task_name, data, completed_at in rows:
        data = data or {}
        history[task_name] = data
        if completed_at is not None:
            completed_on[task_name] = local_date(completed_at)
        if task_name == "review_consolidate" and data.get("approved_estimate") is not None:
            # A new 审定投资概算 (修改后重审 or a re-review) is the new base; earlier filings count against the old one.
            base, filed = money(data["approved_estimate"]), Decimal(0)
        elif task_name == CHANGE_TASK:
            pending = data
        elif task_name == "change_filing" and pending:
            filed += money(pending.get("change_amount"))
            base, pending = money(pending.get("new_total")), {}
        elif task_name == "change_review" and pending:
            if data.get("change_review_result") == "同意变更":
                base = money(pending.get("new_total"))
            pending = {}
    return RuleContext(history=history, completed_on=completed_on, change_base_total=base,
                       filed_change_amount=filed)


def _context_for(session: Session, project: Project, item: WorkItem) -> RuleContext:
    """context() once per completion: its check and its engine values (变更申请) read the same
    steps in one transaction, before this one is marked completed."""
    memo = session.info.setdefault("form_rules_context", {})
    key = (project.id, item.id)
    if key not in memo:
        memo[key] = context(session, project)
    return memo[key]


def check(session: Session, project: Project, item: WorkItem, form: Form, data: Mapping[str, Any],
          now: dt.datetime) -> None:
    """Refuse (422, field and article) what the schema let through; called after form.check(data)."""
    if item.task_name == DECLARATION_TASK:
        declaration_rules.check_resubmission(session, project, data, now)
    if form.rules:
        history = cross_field_rules.reads_history(form.rules)
        cross_field_rules.check(form.rules, data, _context_for(session, project, item) if history else RuleContext())


def engine_extras(session: Session, project: Project, item: WorkItem, data: Mapping[str, Any]) -> dict[str, Any]:
    """Values the engine receives on this completion besides the task's `outputs`."""
    if item.task_name == DECLARATION_TASK:
        return declaration_rules.engine_values(data)
    if item.task_name == CHANGE_TASK:
        return {FILED_CHANGE_VAR: float(_context_for(session, project, item).filed_change_amount)}
    return {}


def sync_register(session: Session, project: Project, item: WorkItem, data: Mapping[str, Any], actor: str,
                  now: dt.datetime, algorithm: str) -> None:
    """A (re)declaration rewrites the register row in the completion's transaction, audited."""
    if item.task_name != DECLARATION_TASK:
        return
    changed = declaration_rules.sync_register(project, data)
    if changed:
        audit.append(session, project, actor=actor, action="project_register_updated", work_item_id=item.id,
                     detail={"task": item.task_name, "changed": changed}, algorithm=algorithm, at=now)
