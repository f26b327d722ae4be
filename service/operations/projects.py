"""Declaring projects (需求申报, 第六、七、八、二十七条) and reading them."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.access import Actor, require_declarer
from service.domain.deadlines import local_date
from service.domain.errors import FieldError, NotFound, ProcessError, RuleViolation, ValidationFailed
from service.operations import audit, progress
from service.operations.context import Govflow
from service.operations.processes import latest_version
from service.operations.tasks import complete_loaded
from service.storage.models import DeclarationWindow, ProcessInstance, Project, Rectification, Unit, utcnow

DECLARATION_TASK = "submit_declaration"


@dataclass(frozen=True)
class Declared:
    project_id: int
    code: str
    stage: str
    open_work_items: list[int]


def unit_by_name(session: Session, name: str | None) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.name == name)) if name else None
    if unit is None:
        raise NotFound(f"单位 {name} 不存在")
    return unit


def check_declaration_rules(session: Session, unit: Unit, form: Mapping[str, Any], today: dt.date) -> None:
    open_rectification = session.scalar(select(Rectification).where(
        Rectification.unit_id == unit.id, Rectification.closed_at.is_(None)).limit(1))
    if open_rectification is not None:
        raise RuleViolation(f"{unit.name}存在未完成的整改（{open_rectification.reason}），"
                            "整改完成前不得申报政务数字化项目", article="第二十七条")
    year = int(form["budget_year"])
    window = session.get(DeclarationWindow, year)
    if window is None or today < window.opens_on:
        raise RuleViolation(f"{year} 年度政务数字化项目申报尚未开放（年度集中申报）", article="第六条",
                            field="budget_year")
    closed = window.budget_arranged_at is not None or today > window.closes_on
    if closed:
        basis = str(form.get("urgent_basis") or "").strip()
        if not (form.get("is_urgent") and basis):
            why = "预算安排已完成" if window.budget_arranged_at is not None else f"申报已于 {window.closes_on} 截止"
            raise RuleViolation(f"{year} 年度{why}，不再接受项目追加；上级主管部门或本级党委、政府临时部署的紧急工作"
                                "须勾选紧急项目并填写部署依据", article="第六条", field="urgent_basis")


def _participants(session: Session, unit: Unit, names: Any) -> list[str]:
    errors = []
    out = []
    for i, name in enumerate(names or []):
        if name == unit.name:
            errors.append(FieldError(f"participants/{i}", "参建单位不能是申报单位本身"))
        elif session.scalar(select(Unit.id).where(Unit.name == name)) is None:
            errors.append(FieldError(f"participants/{i}", f"参建单位 {name} 不存在"))
        elif name in out:
            errors.append(FieldError(f"participants/{i}", f"参建单位 {name} 重复"))
        else:
            out.append(name)
    if errors:
        raise ValidationFailed(errors)
    return out


def declare(ctx: Govflow, form_data: Mapping[str, Any], actor: Actor, *, now: dt.datetime | None = None) -> Declared:
    """Check the rules, start an instance and complete its 填报入库申请 task, in one transaction."""
    require_declarer(actor)
    now = now or utcnow()
    with ctx.db.session() as s:
        unit = unit_by_name(s, actor.unit)
        # Who declares comes before what is declared: a reviewer's form is refused, not corrected.
        require_declarer(actor, unit.kind)
        ctx.forms.get("declaration").check(form_data)
        check_declaration_rules(s, unit, form_data, local_date(now))
        participants = _participants(s, unit, form_data.get("participants"))
        version = latest_version(s)
        runtime = ctx.runtime(s, version.id)
        year = int(form_data["budget_year"])
        # The real code needs the row id; a unique placeholder keeps the unique index satisfied.
        project = Project(code=f"tmp-{uuid.uuid4().hex}", name=str(form_data["project_name"]), budget_year=year,
                          unit_id=unit.id, unit=unit, participants=participants,
                          is_urgent=bool(form_data.get("is_urgent")), urgent_basis=form_data.get("urgent_basis"),
                          estimate=form_data.get("investment_estimate"), declared_by=actor.user, declared_at=now)
        s.add(project)
        s.flush()
        project.code = f"DY{year}-{project.id:05d}"
        wf = runtime.start({"project_id": project.id, "project_code": project.code, "budget_year": year,
                            "unit": unit.name})
        instance = ProcessInstance(project_id=project.id, version_id=version.id, state="", created_at=now)
        s.add(instance)
        s.flush()
        audit.append(s, project, actor=actor.user, action="project_declared",
                     detail={"code": project.code, "name": project.name, "budget_year": year,
                             "unit": unit.name, "urgent": project.is_urgent, "process_version": version.version},
                     algorithm=ctx.settings.audit_hash, at=now)
        opened = progress.apply(ctx, s, project, instance, runtime, wf, actor=actor.user, now=now)
        first = next((w for w in opened if w.task_name == DECLARATION_TASK), None)
        if first is None:
            raise ProcessError(f"流程版本 {version.version} 的第一个任务不是 {DECLARATION_TASK}")
        opened = complete_loaded(ctx, s, project, instance, runtime, wf, first, form_data, actor, now=now)
        result = Declared(project.id, project.code, project.stage, [w.id for w in opened])
    ctx.workflows.put(instance.id, instance.revision, wf)
    return result


def get_project(ctx: Govflow, project_id: int) -> Project:
    with ctx.db.session() as s:
        project = s.get(Project, project_id)
        if project is None:
            raise NotFound("项目不存在")
        return project
