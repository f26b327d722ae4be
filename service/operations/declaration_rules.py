"""The rules of a declaration (第六、八、二十七条), on the first declaration and on every resubmission
of 填报入库申请 after 退回; and the project register kept in step with what was (re)declared.

A resubmission is judged like a declaration: an open 整改 blocks it (第二十七条), the lead unit
cannot be its own participant (第八条), and a budget year it moves to must have an open window
(第六条). A resubmission for the same year keeps the admission of the first declaration: 退回修改
is part of 初审, not a 追加 after the window (docs/cross-field-rules.md)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.deadlines import local_date
from service.domain.errors import FieldError, RuleViolation, ValidationFailed
from service.storage.models import DeclarationWindow, Project, Rectification, Unit

DECLARATION_TASK = "submit_declaration"


def check_declaration_rules(session: Session, unit: Unit, form: Mapping[str, Any], today: dt.date,
                            *, declared_at: dt.datetime | None = None) -> None:
    """第二十七条 then 第六条. `declared_at`: the window is judged as it stood then (a resubmission
    for the year first declared), else as it stands `today`."""
    open_rectification = session.scalar(select(Rectification).where(
        Rectification.unit_id == unit.id, Rectification.closed_at.is_(None)).limit(1))
    if open_rectification is not None:
        raise RuleViolation(f"{unit.name}存在未完成的整改（{open_rectification.reason}），"
                            "整改完成前不得申报政务数字化项目", article="第二十七条")
    year = int(form["budget_year"])
    window = session.get(DeclarationWindow, year)
    on = local_date(declared_at) if declared_at is not None else today
    if window is None or on < window.opens_on:
        raise RuleViolation(f"{year} 年度政务数字化项目申报尚未开放（年度集中申报）", article="第六条",
                            field="budget_year")
    arranged = window.budget_arranged_at is not None and (declared_at is None
                                                           or window.budget_arranged_at <= declared_at)
    if arranged or on > window.closes_on:
        basis = str(form.get("urgent_basis") or "").strip()
        if not (form.get("is_urgent") and basis):
            why = "预算安排已完成" if arranged else f"申报已于 {window.closes_on} 截止"
            raise RuleViolation(f"{year} 年度{why}，不再接受项目追加；上级主管部门或本级党委、政府临时部署的紧急工作"
                                "须勾选紧急项目并填写部署依据", article="第六条", field="urgent_basis")


def participants(session: Session, unit: Unit, names: Any) -> list[str]:
    """第八条: the participating units, each an existing unit other than the lead, once."""
    errors = []
    out = []
    for i, name in enumerate(names or []):
        if name == unit.name:
            errors.append(FieldError(f"participants/{i}", "参建单位不能是申报单位本身（第八条）"))
        elif session.scalar(select(Unit.id).where(Unit.name == name)) is None:
            errors.append(FieldError(f"participants/{i}", f"参建单位 {name} 不存在"))
        elif name in out:
            errors.append(FieldError(f"participants/{i}", f"参建单位 {name} 重复"))
        else:
            out.append(name)
    if errors:
        failed = ValidationFailed(errors)
        failed.article = "第八条"
        failed.field = errors[0].path
        raise failed
    return out


def check_resubmission(session: Session, project: Project, form: Mapping[str, Any], now: dt.datetime) -> None:
    """The declaration rules for 填报入库申请 reached again (after 退回 or 参建单位有异议)."""
    same_year = int(form["budget_year"]) == project.budget_year
    check_declaration_rules(session, project.unit, form, local_date(now),
                            declared_at=project.declared_at if same_year else None)
    participants(session, project.unit, form.get("participants"))


# Register fields copied from the declaration: (row attribute, form field).
REGISTER_FIELDS: list[tuple[str, str]] = [
    ("name", "project_name"), ("budget_year", "budget_year"), ("participants", "participants"),
    ("is_urgent", "is_urgent"), ("urgent_basis", "urgent_basis"), ("estimate", "investment_estimate"),
]


# Required fields convert what is there; optional ones tolerate absence.
_CONVERT: dict[str, Any] = {"project_name": str, "budget_year": int, "participants": lambda v: list(v or []),
                            "is_urgent": bool}
# What the engine must hold after any 填报入库申请, whatever the task's `outputs` say: the annual
# list correlates on budget_year, the confirmations run over participants.
ENGINE_FIELDS = [field for _, field in REGISTER_FIELDS if field != "urgent_basis"]


def _value(form: Mapping[str, Any], field: str) -> Any:
    convert = _CONVERT.get(field)
    if field in ("project_name", "budget_year"):
        return convert(form[field])  # type: ignore[misc]
    return convert(form.get(field)) if convert else form.get(field)


def register_values(form: Mapping[str, Any]) -> dict[str, Any]:
    return {attr: _value(form, field) for attr, field in REGISTER_FIELDS}


def engine_values(form: Mapping[str, Any]) -> dict[str, Any]:
    return {field: _value(form, field) for field in ENGINE_FIELDS}


def sync_register(project: Project, form: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Copy the (re)declared register fields onto the project row; {attribute: [old, new]} changed."""
    changed: dict[str, list[Any]] = {}
    for attr, value in register_values(form).items():
        old = getattr(project, attr)
        if _differs(old, value):
            changed[attr] = [_plain(old), _plain(value)]
            setattr(project, attr, value)
    return changed


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and not isinstance(old, bool):
        return float(old) != float(new)
    return bool(old != new)


def _plain(value: Any) -> Any:
    return float(value) if hasattr(value, "as_tuple") else value
