"""What a completed step means beyond its process path (called by tasks.complete_loaded in the
completion's transaction, after progress.apply, the project row locked):

- `suspend_when` / `rectify_when` (BPMN user-task properties, "field=value"): 严重逾期/重大损失处置 with
  暂停建设 suspends the project (第十四条, service.operations.suspension); with 责令整改 it opens a 整改
  against the declaring unit, which blocks its declarations until closed (第二十七条).
- a filing whose deadline rule is `date_of_year` (终止备案 by 30 September, 第十五条) filed after that day:
  the budget adjustment of the year was missed. It is recorded as a late filing against the unit
  (supervision may open a 整改 from it) and the adjusted funds are flagged for 市财政局 to recover
  (第十七条: 结余资金按照有关规定处理) — the 10-working-day service level still gives the unit its time
  to file, but the filing is no longer silent.

The 整改 of 第十四条 is audited on the project's chain only: the unit's own chain would need the
unit's row locked, which must come before the project's (service.storage.locks), and the project is
locked by now."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import suspension as suspension_rules
from service.domain.deadlines import local_date, parse_rule
from service.operations import audit, clocks, supervision_actions, suspension
from service.operations.context import Govflow
from service.storage.models import LateFiling, Project, Rectification, WorkItem

SUSPEND_PROPERTY, RECTIFY_PROPERTY = "suspend_when", "rectify_when"


def _matches(condition: str | None, data: Mapping[str, Any]) -> bool:
    if not condition or "=" not in condition:
        return False
    name, _, value = condition.partition("=")
    return data.get(name.strip()) == value.strip()


def _flush_work_items_first(session: Session) -> None:
    """The completion may not have flushed yet (service.storage.one_statement writes it at once): the
    rows added here need ids and reference the new work items, which the unit of work does not
    order before their clocks by itself (no relationship between them): the other new rows wait
    outside the session for one flush. The common completion, with no effect, never comes here and
    keeps its single statement."""
    waiting = [o for o in session.new if not isinstance(o, WorkItem)]
    for o in waiting:
        session.expunge(o)
    session.flush()
    session.add_all(waiting)
    session.flush()


def after_completion(ctx: Govflow, session: Session, project: Project, item: WorkItem,
                     properties: Mapping[str, str], form_data: Mapping[str, Any], actor: str,
                     now: dt.datetime) -> None:
    suspend = _matches(properties.get(SUSPEND_PROPERTY), form_data) and project.status == "active"
    rectify = _matches(properties.get(RECTIFY_PROPERTY), form_data)
    rule = properties.get("deadline") or ""
    late = rule.startswith("date_of_year:") and _past_date_of_year(item, rule, form_data, now) is not None
    if not (suspend or rectify or late):
        return
    _flush_work_items_first(session)
    if suspend:
        reason = str(form_data.get("opinion") or form_data.get("situation") or "严重逾期或投资重大损失")
        suspension.open_in(ctx, session, project, kind=suspension_rules.CONSTRUCTION, reason=reason, actor=actor,
                           now=now, work_item_id=item.id)
    if rectify:
        _order_rectification(ctx, session, project, item, form_data, actor, now)
    if late:
        _late_after_date_of_year(ctx, session, project, item, rule, form_data, now)


def _order_rectification(ctx: Govflow, session: Session, project: Project, item: WorkItem,
                         form_data: Mapping[str, Any], actor: str, now: dt.datetime) -> None:
    """责令整改 (第十四条): a 整改 against the declaring unit, linked to the project by its record."""
    requirements = str(form_data.get("rectification_requirements") or form_data.get("opinion") or "").strip()
    raw = form_data.get("rectification_deadline")
    due = dt.date.fromisoformat(raw) if isinstance(raw, str) and raw else None
    reason = f"责令整改（第十四条）：{project.name}（{project.code}）{form_data.get('situation') or ''}；{requirements}"
    rect = Rectification(unit_id=project.unit_id, reason=reason[:4000], article="第十四条", opened_by=actor,
                         opened_at=now, due_date=due)
    session.add(rect)
    session.flush()
    audit.append(session, project, actor=actor, action="rectification_opened", work_item_id=item.id,
                 detail={"rectification_id": rect.id, "unit": project.unit.name, "reason": reason,
                         "article": "第十四条", "due_date": due.isoformat() if due else None},
                 algorithm=ctx.settings.audit_hash, at=now)
    supervision_actions.record_in(ctx, session, project, "rectification_ordered", reason=requirements or reason,
                                  actor=actor, now=now, work_item_id=item.id, rectification_id=rect.id,
                                  detail={"situation": form_data.get("situation"),
                                          "due_date": due.isoformat() if due else None})


def _past_date_of_year(item: WorkItem, rule_text: str, form_data: Mapping[str, Any],
                       now: dt.datetime) -> dt.date | None:
    """The rule's day of the year the period started in, when `now` (Beijing) is after it; else None."""
    rule = parse_rule(rule_text)
    start = local_date(item.created_at)
    if rule.fields[0] != "today":
        raw = form_data.get(rule.fields[0])
        if isinstance(raw, str):
            try:
                start = dt.date.fromisoformat(raw)
            except ValueError:
                pass
    fixed = dt.date(start.year, int(rule.arg[:2]), int(rule.arg[3:]))
    return fixed if local_date(now) > fixed else None


def _late_after_date_of_year(ctx: Govflow, session: Session, project: Project, item: WorkItem, rule_text: str,
                             form_data: Mapping[str, Any], now: dt.datetime) -> None:
    fixed = _past_date_of_year(item, rule_text, form_data, now)
    if fixed is None:
        return
    filed = local_date(now)
    article = clocks.STATUTORY_FILINGS.get(item.task_name, "第十五条")
    if session.scalar(select(LateFiling.id).where(LateFiling.work_item_id == item.id)) is None:
        session.add(LateFiling(work_item_id=item.id, project_id=project.id, unit_id=item.unit_id,
                               task_name=item.task_name, article=article, due_date=fixed, recorded_at=now))
    amount = form_data.get("budget_adjustment_amount")
    detail = {"deadline": fixed.isoformat(), "filed_on": filed.isoformat(),
              "termination_date": form_data.get("termination_date"), "budget_adjustment_amount": amount,
              "surplus_handling": form_data.get("surplus_handling")}
    money = f"，预算调整 {amount} 万元" if amount is not None else ""
    supervision_actions.record_in(
        ctx, session, project, "termination_after_q3", actor="system", now=now, work_item_id=item.id, detail=detail,
        reason=f"终止备案于 {filed.isoformat()} 办理，晚于 {fixed.isoformat()}（{article}：原则上当年第三季度结束前"
               f"完成备案和预算调整）{money}；已记为逾期备案，资金由市财政局按规定收回（第十七条）")
