"""Declaring projects (需求申报, 第六、七、八、二十七条) and reading them."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain import cross_field_rules
from service.domain.access import Actor, require_declarer
from service.domain.cross_field_rules import RuleContext
from service.domain.deadlines import local_date
from service.domain.errors import NotFound, ProcessError
from service.operations import audit, progress
from service.operations.context import Govflow
from service.operations.declaration_rules import DECLARATION_TASK, check_declaration_rules, participants
from service.operations.processes import latest_version
from service.operations.tasks import complete_loaded
from service.storage import one_statement, row_ids
from service.storage.models import ProcessInstance, Project, Unit, utcnow

# The stage a project is declared in (the column's default), before the process names its own.
FIRST_STAGE: str = Project.__table__.c.stage.default.arg
# Ids reserved with the project's: the 填报 task and the step it opens (预审); more are taken if
# the process opens more.
_WORK_ITEMS = 2


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
        cross_field_rules.check(ctx.forms.get("declaration").rules, form_data, RuleContext())
        members = participants(s, unit, form_data.get("participants"))
        version = latest_version(s)
        runtime = ctx.runtime(s, version.id)
        year = int(form_data["budget_year"])
        # Ids first, so nothing is flushed to learn them: the whole declaration is then written
        # at once, as a completion is (service.storage.one_statement; docs/performance.md).
        ids = row_ids.reserve(s, {"projects": 1, "process_instances": 1, "work_items": _WORK_ITEMS})
        new_ids = row_ids.IdSource(s, "work_items", ids["work_items"])
        project_id, instance_id = ids["projects"][0], ids["process_instances"][0]
        one_statement.begin(s)
        # Every column a default would fill at the flush is set here: progress and audit read them.
        project = Project(id=project_id, code=f"DY{year}-{project_id:05d}", name=str(form_data["project_name"]),
                          budget_year=year, unit_id=unit.id, unit=unit, participants=members,
                          is_urgent=bool(form_data.get("is_urgent")), urgent_basis=form_data.get("urgent_basis"),
                          estimate=form_data.get("investment_estimate"), status="active", stage=FIRST_STAGE,
                          outcome=None, suspension=None, declared_by=actor.user, declared_at=now,
                          audit_seq=0, audit_head="", audit_mac="")
        s.add(project)
        wf = runtime.start({"project_id": project.id, "project_code": project.code, "budget_year": year,
                            "unit": unit.name})
        instance = ProcessInstance(id=instance_id, project_id=project.id, version_id=version.id, state="",
                                   revision=1, status="running", task_rounds={}, created_at=now)
        s.add(instance)
        audit.append(s, project, actor=actor.user, action="project_declared",
                     detail={"code": project.code, "name": project.name, "budget_year": year,
                             "unit": unit.name, "urgent": project.is_urgent, "process_version": version.version},
                     algorithm=ctx.settings.audit_hash, at=now)
        opened = progress.apply(ctx, s, project, instance, runtime, wf, actor=actor.user, now=now, open_items=[],
                                new_ids=new_ids)
        first = next((w for w in opened if w.task_name == DECLARATION_TASK), None)
        if first is None:
            raise ProcessError(f"流程版本 {version.version} 的第一个任务不是 {DECLARATION_TASK}")
        first.unit = unit  # a row never flushed loads no relationship: the completion names its unit
        opened = complete_loaded(ctx, s, project, instance, runtime, wf, first, form_data, actor, now=now,
                                 open_items=opened, new_ids=new_ids)
        one_statement.write(s)
        result = Declared(project.id, project.code, project.stage, [w.id for w in opened])
    ctx.workflows.put(instance.id, instance.revision, wf)
    return result


def get_project(ctx: Govflow, project_id: int) -> Project:
    with ctx.db.session() as s:
        project = s.get(Project, project_id)
        if project is None:
            raise NotFound("项目不存在")
        return project
