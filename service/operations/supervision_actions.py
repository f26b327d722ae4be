"""Supervision measures recorded on a project (docs/supervision-measures.md).

| kind | measure | article | who decides |
| --- | --- | --- | --- |
| deregister | 注销 a system no longer used or little used | 第二十二条 | 市大数据局 |
| merge | 归并整合 it into another system | 第二十二条 | 市大数据局 |
| om_funding_withheld | 不予安排后续运行维护经费 (data, cryptography, security) | 第二十六条 | 市财政局 |
| operation_suspended | 立即暂停运行并限期整改: a 暂停运行 suspension and a 整改 | 第二十六条 | 市大数据局 |
| rectification_ordered | 责令整改 at 严重逾期/重大损失处置 (BPMN `rectify_when`) | 第十四条 | 市大数据局 |
| termination_after_q3 | filed after 30 September: funds flagged for 市财政局 | 第十五条 | the process |

Records are append-only and audited on the project's chain; a 整改 opened here blocks the unit's
declarations until closed (第二十七条, service.operations.declaration_rules)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import suspension as suspension_rules
from service.domain.access import Actor
from service.domain.deadlines import local_date
from service.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed
from service.operations import audit, people, suspension
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import Project, Rectification, SupervisionAction, utcnow

BIGDATA, FINANCE = "市大数据局", "市财政局"
# kind → (label, article, deciding unit)
KINDS: dict[str, tuple[str, str, str]] = {
    "deregister": ("注销", "第二十二条", BIGDATA),
    "merge": ("归并整合", "第二十二条", BIGDATA),
    "om_funding_withheld": ("不予安排后续运行维护经费", "第二十六条", FINANCE),
    "operation_suspended": ("暂停运行并限期整改", "第二十六条", BIGDATA),
    "rectification_ordered": ("责令整改", "第十四条", BIGDATA),
    "termination_after_q3": ("第三季度后终止（预算调整资金待收回）", "第十五条", FINANCE),
}
RECORDABLE = ("deregister", "merge", "om_funding_withheld", "operation_suspended")
USAGE = ("不再使用", "使用率较低")
GROUNDS = ("未按要求汇聚并更新数据资源", "不符合密码应用要求", "不符合网络安全要求")


def may_record(actor: Actor, kind: str) -> bool:
    """第五条: 市大数据局 supervises (its supervisors), 市财政局 manages budgets (its staff); 审计 only reads."""
    if actor.roles & {"admin", "system"}:
        return True
    if "auditor" in actor.roles or kind not in KINDS:
        return False
    unit = KINDS[kind][2]
    if unit == BIGDATA:
        return "supervisor" in actor.roles
    return actor.unit == unit and bool(actor.roles & {"reviewer", "leader", "department"})


def _text(data: Mapping[str, Any], name: str, title: str, *, required: bool = True, limit: int = 2000) -> str:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed([FieldError(name, f"{title}：不能为空")])
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationFailed([FieldError(name, f"{title}：应为不超过 {limit} 字的文字")])
    return value.strip()


def _detail(kind: str, data: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    """The kind's own fields, checked; errors name the field and the article."""
    article = KINDS[kind][1]
    if kind in ("deregister", "merge"):
        usage = data.get("usage")
        if usage not in USAGE:
            raise ValidationFailed([FieldError("usage", f"系统使用情况：应为{'或'.join(USAGE)}（{article}）")])
        detail: dict[str, Any] = {"usage": usage, "proposal": _text(data, "proposal", "建设单位处理意见")}
        if kind == "merge":
            detail["merged_into"] = _text(data, "merged_into", "归并整合至", limit=200)
        return detail
    if kind == "om_funding_withheld":
        grounds = data.get("grounds")
        if (not isinstance(grounds, list) or not grounds or any(not isinstance(g, str) or g not in GROUNDS
                                                                for g in grounds)
                or len(set(grounds)) != len(grounds)):
            raise ValidationFailed([FieldError("grounds", f"不予安排经费的情形：至少选择一项"
                                                          f"（{'、'.join(GROUNDS)}，{article}）")])
        year = data.get("from_year")
        if isinstance(year, bool) or not isinstance(year, int) or not 2024 <= year <= 2100:
            raise ValidationFailed([FieldError("from_year", "起始预算年度：应为 2024–2100 的年份")])
        amount = data.get("amount")
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0
                                   or amount > 1e9):
            raise ValidationFailed([FieldError("amount", "不予安排的运行维护经费（万元）：应为非负数")])
        return {"grounds": list(grounds), "from_year": year, "amount": amount}
    # operation_suspended
    raw = data.get("due_date")
    try:
        due = dt.date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        due = None
    if due is None or due <= today:
        raise ValidationFailed([FieldError("due_date", f"整改期限：应为今天之后的日期（{article}：限期整改）")])
    return {"hazard": _text(data, "hazard", "重大安全隐患"), "due_date": due.isoformat()}


def record(ctx: Govflow, project_id: int, kind: str, data: Mapping[str, Any], actor: Actor,
           now: dt.datetime | None = None) -> dict[str, Any]:
    """Record a 第二十二条 / 第二十六条 measure on a project; returns the record."""
    if kind not in RECORDABLE:
        raise ValidationFailed([FieldError("kind", f"监管措施：应为 {'、'.join(RECORDABLE)} 之一")])
    label, article, unit_name = KINDS[kind]
    if not may_record(actor, kind):
        raise Forbidden(f"“{label}”由{unit_name}决定（{article}）", article=article)
    now = now or utcnow()
    reason = _text(data, "reason", "决定理由")
    detail = _detail(kind, data, local_date(now))
    with ctx.db.session() as s:
        # Lock order (service.storage.locks): the unit whose chain a 整改 grows, then the project.
        unit_id = s.scalar(select(Project.unit_id).where(Project.id == project_id))
        if unit_id is None:
            raise NotFound("项目不存在")
        unit = locks.unit(s, unit_id) if kind == "operation_suspended" else None
        project = locks.project(s, project_id)
        assert project is not None
        row = SupervisionAction(project_id=project.id, kind=kind, article=article, authority=unit_name,
                                reason=reason, detail=detail, decided_by=actor.user, decided_at=now)
        if kind == "operation_suspended":
            assert unit is not None
            held = suspension.open_in(ctx, s, project, kind=suspension_rules.OPERATION, reason=reason,
                                      actor=actor.user, now=now)
            rect = Rectification(unit_id=unit.id, reason=f"{label}（{article}）：{detail['hazard']}",
                                 article=article, opened_by=actor.user, opened_at=now,
                                 due_date=dt.date.fromisoformat(detail["due_date"]))
            s.add(rect)
            s.flush()
            row.rectification_id, row.suspension_id = rect.id, held.id
            audit.append_unit(s, unit, actor=actor.user, action="rectification_opened",
                              detail={"rectification_id": rect.id, "reason": rect.reason, "article": article,
                                      "due_date": detail["due_date"], "project_id": project.id},
                              algorithm=ctx.settings.audit_hash, at=now)
        s.add(row)
        s.flush()
        audit.append(s, project, actor=actor.user, action="supervision_action",
                     detail={"supervision_action_id": row.id, "kind": kind, "label": label, "article": article,
                             "authority": unit_name, "reason": reason, **detail,
                             "rectification_id": row.rectification_id, "suspension_id": row.suspension_id},
                     algorithm=ctx.settings.audit_hash, at=now)
        return view(s, row)


def record_in(ctx: Govflow, session: Session, project: Project, kind: str, *, reason: str, actor: str,
              now: dt.datetime, detail: dict[str, Any] | None = None, work_item_id: int | None = None,
              rectification_id: int | None = None) -> SupervisionAction:
    """A record the process itself writes, in the caller's transaction (the project already locked)."""
    label, article, unit_name = KINDS[kind]
    row = SupervisionAction(project_id=project.id, kind=kind, article=article, authority=unit_name,
                            reason=reason, detail=detail or {}, decided_by=actor, decided_at=now,
                            work_item_id=work_item_id, rectification_id=rectification_id)
    session.add(row)
    session.flush()
    audit.append(session, project, actor=actor, action="supervision_action", work_item_id=work_item_id,
                 detail={"supervision_action_id": row.id, "kind": kind, "label": label, "article": article,
                         "authority": unit_name, "reason": reason, **(detail or {}),
                         "rectification_id": rectification_id},
                 algorithm=ctx.settings.audit_hash, at=now)
    return row


def view(session: Session, row: SupervisionAction) -> dict[str, Any]:
    label, _, _ = KINDS.get(row.kind, (row.kind, row.article, row.authority))
    rect = session.get(Rectification, row.rectification_id) if row.rectification_id else None
    return {"id": row.id, "project_id": row.project_id, "kind": row.kind, "label": label, "article": row.article,
            "authority": row.authority, "reason": row.reason, "detail": dict(row.detail or {}),
            "decided_by": row.decided_by,
            "decided_by_name": people.name_of(session, row.decided_by) if row.decided_by != "system" else "系统",
            "decided_at": row.decided_at.isoformat(), "work_item_id": row.work_item_id,
            "rectification": ({"id": rect.id, "due_date": rect.due_date.isoformat() if rect.due_date else None,
                               "closed": rect.closed_at is not None} if rect is not None else None),
            "suspension_id": row.suspension_id}


def of_project(session: Session, project_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(SupervisionAction).where(SupervisionAction.project_id == project_id)
                           .order_by(SupervisionAction.decided_at.desc(), SupervisionAction.id.desc())).all()
    return [view(session, r) for r in rows]


def overview(ctx: Govflow, *, limit: int = 50) -> dict[str, Any]:
    """The supervisor dashboard's card: suspended projects and the newest measures, with projects."""
    with ctx.db.session() as s:
        rows = s.execute(select(SupervisionAction, Project).join(Project, Project.id == SupervisionAction.project_id)
                         .order_by(SupervisionAction.decided_at.desc(), SupervisionAction.id.desc())
                         .limit(limit)).all()
        actions = [{**view(s, r), "project": {"id": p.id, "code": p.code, "name": p.name, "unit": p.unit.name}}
                   for r, p in rows]
    return {"suspended": suspension.suspended_projects(ctx), "actions": actions,
            "kinds": [{"kind": k, "label": KINDS[k][0], "article": KINDS[k][1], "authority": KINDS[k][2]}
                      for k in RECORDABLE]}
