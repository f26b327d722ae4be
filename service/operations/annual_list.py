"""第七条(五): one act approves a budget year's project list. Every instance waiting for that year's
list (found through the subscription index, correlated on budget_year) receives the message:
projects on the list go on to construction, the others end as 未列入清单."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.domain.access import Actor, require_list_approver
from service.domain.errors import Conflict, FieldError, ValidationFailed
from service.operations import audit, progress
from service.operations.context import Govflow
from service.storage import locks
from service.storage.models import AnnualList, ProcessInstance, Project, utcnow

MESSAGE = "annual_list_approved"
CORRELATION_KEY = "annual_list_key"


@dataclass(frozen=True)
class ListApproved:
    budget_year: int
    released: list[int]
    left_off: list[int]


def approve(ctx: Govflow, budget_year: int, approved: Mapping[int, float], actor: Actor,
            document_no: str | None = None) -> ListApproved:
    """`approved` maps project id → approved amount (万元) for every project on the list."""
    require_list_approver(actor)
    now = utcnow()
    released, left_off = [], []
    touched = []
    try:
        with ctx.db.session() as s:
            # One approval per year at a time; then every waiting project, in id order (locks).
            locks.named(s, f"annual_list:{budget_year}")
            if s.get(AnnualList, budget_year) is not None:
                raise Conflict(f"{budget_year} 年度项目清单已批准，不能重复批准", article="第七条(五)")
            waiting_of_year = (select(ProcessInstance.project_id).where(
                ProcessInstance.waiting_message == MESSAGE, ProcessInstance.correlation_key == str(budget_year)))
            locks.projects(s, s.scalars(waiting_of_year))
            waiting = list(s.scalars(select(ProcessInstance).where(
                ProcessInstance.waiting_message == MESSAGE, ProcessInstance.correlation_key == str(budget_year))
                .order_by(ProcessInstance.id).execution_options(populate_existing=True)))
            waiting_projects = {i.project_id for i in waiting}
            missing = [pid for pid in approved if pid not in waiting_projects]
            if missing:
                raise ValidationFailed([FieldError(f"approved/{pid}", "该项目不在等待本年度清单批准的状态")
                                        for pid in missing], message="清单中有项目不能列入")
            s.add(AnnualList(budget_year=budget_year, document_no=document_no, approved_by=actor.user,
                             approved_at=now, entries=[{"project_id": k, "amount": v} for k, v in approved.items()]))
            for instance in waiting:
                project = s.get(Project, instance.project_id)
                assert project is not None
                runtime = ctx.runtime(s, instance.version_id)
                wf = ctx.workflows.take(instance.id, instance.revision) or runtime.load(instance.state)
                on_list = instance.project_id in approved
                payload = {"on_list": on_list, "approved_amount": approved.get(instance.project_id),
                           "document_no": document_no, "budget_year": budget_year}
                runtime.deliver_message(wf, MESSAGE, payload, {CORRELATION_KEY: {"budget_year": budget_year}})
                audit.append(s, project, actor=actor.user, action="annual_list_approved",
                             detail={"budget_year": budget_year, "on_list": on_list,
                                     "approved_amount": payload["approved_amount"], "document_no": document_no},
                             algorithm=ctx.settings.audit_hash, at=now)
                progress.apply(ctx, s, project, instance, runtime, wf, actor=actor.user, now=now)
                (released if on_list else left_off).append(project.id)
                touched.append((instance, wf))
    except IntegrityError as exc:
        raise Conflict(f"{budget_year} 年度项目清单已批准，不能重复批准", article="第七条(五)") from exc
    for instance, wf in touched:
        ctx.workflows.put(instance.id, instance.revision, wf)
    return ListApproved(budget_year, released, left_off)
