"""第七条(五) and 第六条: a budget year's project list.

市大数据局 compiles a draft 建议清单 from the projects that passed 预算评审 and wait at 项目批准
(the BPMN catch event `wait_annual_list`, correlated on budget_year), with 预算评审's proposed
amounts; 市财政局 co-signs it (会同); 市政府 approves it with its 文号, amount by amount. The
projects on the approved list go on to construction; those compiled but left off by 市政府 end as
未列入清单 (gw_on_list). Projects that were not on the list keep waiting: a later 追加清单 of the
same year (seq 2, 3 …, e.g. the urgent work 第六条 still admits) releases those it contains, and
预算安排完成 (service.operations.budget_arrangement) ends the non-urgent rest.

Every write takes the year's advisory lock first (`annual_list:{year}`), then the acting unit's
row (its audit chain), then the projects in ascending id: a second approval of the same list waits
for the first and then finds it approved (409)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from service.domain.access import (
    GOVERNMENT_UNIT,
    LIST_COMPILER_UNIT,
    LIST_COSIGNER_UNIT,
    Actor,
    require_list_approver,
    require_list_compiler,
    require_list_cosigner,
)
from service.domain.errors import Conflict, FieldError, Forbidden, NotFound, RuleViolation, ValidationFailed
from service.operations import audit, progress
from service.operations.context import Govflow
from service.storage import locks, one_statement, row_ids
from service.storage.models import AnnualList, Notification, ProcessInstance, Project, Unit, WorkItem, utcnow

MESSAGE = "annual_list_approved"
CORRELATION_KEY = "annual_list_key"
ARTICLE = "第七条(五)"
PROPOSAL_TASK = "budget_review"
OPEN = ("draft", "cosigned")
NOTIFICATION_KIND = "annual_list"
MAX_REMARK = 500


@dataclass(frozen=True)
class ListApproved:
    budget_year: int
    released: list[int]
    left_off: list[int]
    list_id: int = 0
    seq: int = 1


def year_lock(session: Session, budget_year: int) -> None:
    locks.named(session, f"annual_list:{budget_year}")


def waiting_instances(session: Session, budget_year: int, project_ids: Sequence[int] | None = None
                      ) -> list[ProcessInstance]:
    q = select(ProcessInstance).where(ProcessInstance.waiting_message == MESSAGE,
                                      ProcessInstance.correlation_key == str(budget_year))
    if project_ids is not None:
        q = q.where(ProcessInstance.project_id.in_(list(project_ids)))
    return list(session.scalars(q.order_by(ProcessInstance.project_id).execution_options(populate_existing=True)))


def proposals(session: Session, project_ids: Sequence[int]) -> dict[int, float | None]:
    """预算评审's 建议安排预算 (万元) per project: its latest completed budget_review."""
    out: dict[int, float | None] = {pid: None for pid in project_ids}
    if not project_ids:
        return out
    # The state is checked below (ix_work_items_project, not SQLite's walk of every project's
    # completed rows: service.operations.form_rules.context says why).
    rows = session.execute(select(WorkItem.project_id, WorkItem.data, WorkItem.state).where(
        WorkItem.project_id.in_(list(project_ids)), WorkItem.task_name == PROPOSAL_TASK)
        .order_by(WorkItem.completed_at, WorkItem.id))
    for pid, data, state in rows:
        if state != "completed":
            continue
        amount = (data or {}).get("approved_budget")
        out[pid] = float(amount) if isinstance(amount, int | float) and not isinstance(amount, bool) else None
    return out


def open_list(session: Session, budget_year: int) -> AnnualList | None:
    return session.scalars(select(AnnualList).where(AnnualList.budget_year == budget_year,
                                                    AnnualList.status.in_(OPEN))
                           .execution_options(populate_existing=True)).first()


def _unit(session: Session, name: str) -> Unit | None:
    unit_id = session.scalar(select(Unit.id).where(Unit.name == name))
    return locks.unit(session, unit_id) if unit_id is not None else None


def _audit_unit(ctx: Govflow, session: Session, unit: Unit | None, actor: Actor, action: str,
                detail: dict[str, Any], now: dt.datetime) -> None:
    if unit is not None:
        audit.append_unit(session, unit, actor=actor.user, action=action, detail=detail,
                          algorithm=ctx.settings.audit_hash, at=now)


def notify_project(session: Session, project: Project, *, subject: str, text: str, level: int,
                   now: dt.datetime) -> None:
    """The declaring unit's in-app message about its project's place on the year's list."""
    payload = {"kind": NOTIFICATION_KIND, "title": "年度清单", "text": text, "project_id": project.id,
               "project_code": project.code, "project_name": project.name, "link": f"/projects/{project.id}",
               "recipient_unit": project.unit.name, "article": ARTICLE}
    session.add(Notification(work_item_id=None, project_id=project.id, kind=NOTIFICATION_KIND, level=level,
                             unit_id=project.unit_id, recipient_role="department", subject=subject,
                             body=text + "\n", payload=payload, created_at=now))


def _get_list(session: Session, list_id: int, budget_year: int | None = None) -> AnnualList:
    row = session.get(AnnualList, list_id, populate_existing=True)
    if row is None or (budget_year is not None and row.budget_year != budget_year):
        raise NotFound("年度项目清单不存在")
    return row


def year_of(ctx: Govflow, list_id: int) -> int:
    with ctx.db.session() as s:
        year = s.scalar(select(AnnualList.budget_year).where(AnnualList.id == list_id))
    if year is None:
        raise NotFound("年度项目清单不存在")
    return int(year)


def _name(row: AnnualList) -> str:
    return f"{row.budget_year} 年度{'项目建议清单' if row.seq == 1 else f'第 {row.seq - 1} 批追加清单'}"


def _clean_entries(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    errors, out, seen = [], [], set()
    if not entries:
        raise ValidationFailed([FieldError("entries", "建议清单至少列入一个项目")], message="建议清单为空")
    for i, e in enumerate(entries):
        pid, priority, remark = e.get("project_id"), e.get("priority"), e.get("remark")
        if isinstance(pid, bool) or not isinstance(pid, int) or not 0 < pid < 2**31:
            errors.append(FieldError(f"entries/{i}/project_id", "项目 id 应为正整数"))
            continue
        if pid in seen:
            errors.append(FieldError(f"entries/{i}/project_id", "同一项目在清单中重复"))
        seen.add(pid)
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)
                                     or not 1 <= priority <= 999):
            errors.append(FieldError(f"entries/{i}/priority", "轻重缓急次序应为 1–999 的整数（1 最优先）"))
        if remark is not None and (not isinstance(remark, str) or len(remark) > MAX_REMARK):
            errors.append(FieldError(f"entries/{i}/remark", f"备注：应为不超过 {MAX_REMARK} 字的文本"))
        out.append({"project_id": pid, "priority": priority, "remark": (remark or "").strip() or None})
    if errors:
        raise ValidationFailed(errors, message="建议清单填写有误")
    return out


def compile_list(ctx: Govflow, budget_year: int, entries: Sequence[Mapping[str, Any]], actor: Actor, *,
                 note: str | None = None, revision: int | None = None) -> int:
    """Save the year's draft 建议清单 (create it, or replace the open draft's entries); returns its id.
    `revision`, when given, must be the draft's current one (two compilers editing at once)."""
    require_list_compiler(actor)
    clean = _clean_entries(entries)
    now = utcnow()
    with ctx.db.session() as s:
        year_lock(s, budget_year)
        row = open_list(s, budget_year)
        if row is not None and row.status == "cosigned":
            raise Conflict(f"{_name(row)}已经市财政局会签报市政府，不能再修改；需修改请由市财政局或市政府退回",
                           article=ARTICLE)
        if row is not None and revision is not None and row.revision != revision:
            raise Conflict("建议清单已被他人修改，请刷新后再编辑", article=ARTICLE)
        unit = _unit(s, LIST_COMPILER_UNIT)
        ids = [e["project_id"] for e in clean]
        waiting = {i.project_id for i in waiting_instances(s, budget_year, ids)}
        errors = [FieldError(f"entries/{i}/project_id",
                             f"项目 {e['project_id']} 未通过预算评审或不在等待 {budget_year} 年度清单批准，不能列入")
                  for i, e in enumerate(clean) if e["project_id"] not in waiting]
        if errors:
            failed = ValidationFailed(errors, message="建议清单中有项目不能列入")
            failed.article, failed.field = ARTICLE, errors[0].path
            raise failed
        proposed = proposals(s, ids)
        for e in clean:
            e["proposed"] = proposed[e["project_id"]]
        if row is None:
            last = s.scalar(select(func.max(AnnualList.seq)).where(AnnualList.budget_year == budget_year)) or 0
            row = AnnualList(budget_year=budget_year, seq=last + 1, status="draft", entries=clean,
                             compiled_by=actor.user, compiled_at=now, note=note, revision=1)
            s.add(row)
        else:
            row.entries, row.note, row.compiled_by, row.compiled_at = clean, note, actor.user, now
            row.revision += 1
        s.flush()
        total = sum(e["proposed"] or 0 for e in clean)
        _audit_unit(ctx, s, unit, actor, "annual_list_compiled",
                    {"list_id": row.id, "budget_year": budget_year, "seq": row.seq, "revision": row.revision,
                     "projects": ids, "proposed_total": round(total, 2)}, now)
        return row.id


def cosign(ctx: Govflow, list_id: int, actor: Actor, opinion: str | None = None) -> None:
    """市财政局 co-signs (会同) the draft: it goes to 市政府 and can no longer be edited."""
    require_list_cosigner(actor)
    year = year_of(ctx, list_id)
    now = utcnow()
    with ctx.db.session() as s:
        year_lock(s, year)
        row = _get_list(s, list_id)
        if row.status != "draft":
            raise Conflict(f"{_name(row)}{'已会签' if row.status == 'cosigned' else '已批准'}，不能再会签",
                           article=ARTICLE)
        unit = _unit(s, LIST_COSIGNER_UNIT)
        row.status, row.cosigned_by, row.cosigned_at = "cosigned", actor.user, now
        row.cosign_opinion, row.returned_reason = (opinion or "").strip() or None, None
        row.revision += 1
        _audit_unit(ctx, s, unit, actor, "annual_list_cosigned",
                    {"list_id": row.id, "budget_year": year, "seq": row.seq, "opinion": row.cosign_opinion}, now)


def send_back(ctx: Govflow, list_id: int, reason: str, actor: Actor) -> None:
    """退回修改: 市财政局 (a draft or its own co-signature) or 市政府 (a co-signed list) returns the list
    to 市大数据局 as a draft, with the reason."""
    if not (reason or "").strip():
        raise RuleViolation("退回须填写理由", field="reason", article=ARTICLE)
    year = year_of(ctx, list_id)
    now = utcnow()
    with ctx.db.session() as s:
        year_lock(s, year)
        row = _get_list(s, list_id)
        if row.status == "approved":
            raise Conflict(f"{_name(row)}已批准，不能退回", article=ARTICLE)
        if actor.unit == GOVERNMENT_UNIT or actor.roles & {"admin", "system"}:
            require_list_approver(actor)
            if row.status != "cosigned":
                raise Conflict(f"{_name(row)}尚未经市财政局会签报市政府", article=ARTICLE)
            unit_name = GOVERNMENT_UNIT
        elif actor.unit == LIST_COSIGNER_UNIT:
            require_list_cosigner(actor)
            unit_name = LIST_COSIGNER_UNIT
        else:
            raise Forbidden("年度项目建议清单只能由市财政局或市政府退回", article=ARTICLE)
        unit = _unit(s, unit_name)
        row.status, row.cosigned_by, row.cosigned_at, row.cosign_opinion = "draft", None, None, None
        row.returned_reason = reason.strip()
        row.revision += 1
        _audit_unit(ctx, s, unit, actor, "annual_list_sent_back",
                    {"list_id": row.id, "budget_year": year, "seq": row.seq, "reason": row.returned_reason}, now)


def _refused(errors: list[FieldError], message: str) -> ValidationFailed:
    failed = ValidationFailed(errors, message=message)
    failed.article, failed.field = ARTICLE, errors[0].path
    return failed


def approve(ctx: Govflow, budget_year: int, approved: Mapping[int, float], actor: Actor,
            document_no: str | None = None, *, reasons: Mapping[int, str] | None = None,
            list_id: int | None = None) -> ListApproved:
    """市政府 approves the year's co-signed list (or the one `list_id` names). `approved` maps project
    id → approved amount (万元) for the projects kept on it; compiled projects not in it are left off.
    An amount above 预算评审's proposal needs its reason in `reasons`."""
    require_list_approver(actor)
    doc = (document_no or "").strip()
    if not doc:
        raise RuleViolation("须填写市政府同意印发年度项目清单的文号", field="document_no", article=ARTICLE)
    if len(doc) > 100:
        raise RuleViolation("文号不能超过 100 字", field="document_no", article=ARTICLE)
    reasons = {k: v.strip() for k, v in (reasons or {}).items() if isinstance(v, str) and v.strip()}
    now = utcnow()
    released, left_off, touched = [], [], []
    try:
        with ctx.db.session() as s:
            year_lock(s, budget_year)
            row = _get_list(s, list_id, budget_year) if list_id is not None else open_list(s, budget_year)
            if row is None or row.status == "approved":
                last = s.scalars(select(AnnualList).where(AnnualList.budget_year == budget_year)
                                 .order_by(AnnualList.seq.desc())).first() if row is None else row
                if last is not None and last.status == "approved":
                    raise Conflict(f"{_name(last)}已批准（{last.document_no}），不能重复批准；新的项目请编制追加清单",
                                   article=ARTICLE)
                raise RuleViolation(f"{budget_year} 年度尚无市大数据局会同市财政局形成的建议清单", article=ARTICLE)
            if row.status != "cosigned":
                raise RuleViolation(f"{_name(row)}尚未经市财政局会签，不能报市政府批准", article=ARTICLE)
            compiled = {e["project_id"]: e for e in row.entries}
            errors = [FieldError(f"approved/{pid}", f"项目 {pid} 不在{_name(row)}中") for pid in approved
                      if pid not in compiled]
            for pid, amount in approved.items():
                proposed = compiled.get(pid, {}).get("proposed")
                if pid in compiled and proposed is not None and amount > proposed + 1e-9 and pid not in reasons:
                    errors.append(FieldError(f"approved/{pid}", f"批准金额 {amount:g} 万元高于预算评审建议 "
                                             f"{proposed:g} 万元，须填写理由"))
            if errors:
                raise _refused(errors, "清单批准有误")
            unit = _unit(s, GOVERNMENT_UNIT)
            # Kept: the session holds entities weakly, and a dropped list meant one SELECT per project.
            locked = {p.id: p for p in locks.projects(s, compiled)}
            waiting = {i.project_id: i for i in waiting_instances(s, budget_year, list(compiled))}
            gone = [pid for pid in approved if pid not in waiting]
            if gone:
                raise _refused([FieldError(f"approved/{pid}", f"项目 {pid} 已不在等待清单批准（可能已终止），"
                                           "请退回市大数据局调整清单") for pid in gone], "清单中有项目不能批准")
            label = _name(row)
            # Read and written as a completion is: the open work items of every instance in one
            # query, ids for the tasks the release opens taken beforehand, one write at the end.
            open_items = progress.open_work_items(s, list(waiting.values()))
            new_ids = row_ids.IdSource(s, "work_items", row_ids.reserve(s, {"work_items": len(waiting)})["work_items"]
                                       if waiting else [])
            one_statement.begin(s)
            for pid, instance in waiting.items():
                project = locked[pid]
                on_list = pid in approved
                payload = {"on_list": on_list, "approved_amount": approved.get(pid), "document_no": doc,
                           "budget_year": budget_year, "list_seq": row.seq}
                runtime = ctx.runtime(s, instance.version_id)
                wf = ctx.workflows.take(instance.id, instance.revision) or runtime.load(instance.state)
                runtime.deliver_message(wf, MESSAGE, payload, {CORRELATION_KEY: {"budget_year": budget_year}})
                audit.append(s, project, actor=actor.user, action="annual_list_approved",
                             detail={"budget_year": budget_year, "list_id": row.id, "seq": row.seq,
                                     "on_list": on_list, "approved_amount": approved.get(pid),
                                     "proposed_amount": compiled[pid].get("proposed"),
                                     "reason": reasons.get(pid), "document_no": doc},
                             algorithm=ctx.settings.audit_hash, at=now)
                progress.apply(ctx, s, project, instance, runtime, wf, actor=actor.user, now=now,
                               open_items=open_items.get(instance.id, []), new_ids=new_ids)
                if on_list:
                    notify_project(s, project, level=row.id, now=now,
                                   subject=f"【年度清单】{project.name}列入{label}",
                                   text=f"{project.name}（{project.code}）列入{label}（{doc}），批准金额 "
                                        f"{approved[pid]:g} 万元，可开展采购前一致性审核")
                else:
                    notify_project(s, project, level=row.id, now=now,
                                   subject=f"【年度清单】{project.name}未列入{label}",
                                   text=f"{project.name}（{project.code}）经市政府审定未列入{label}（{doc}），项目结束")
                (released if on_list else left_off).append(pid)
                touched.append((instance, wf))
            row.status, row.document_no, row.approved_by, row.approved_at = "approved", doc, actor.user, now
            row.approved_entries = [{"project_id": pid, "amount": amount, "reason": reasons.get(pid)}
                                    for pid, amount in approved.items()]
            row.revision += 1
            _audit_unit(ctx, s, unit, actor, "annual_list_approved",
                        {"list_id": row.id, "budget_year": budget_year, "seq": row.seq, "document_no": doc,
                         "released": released, "left_off": left_off,
                         "approved_total": round(sum(approved.values()), 2)}, now)
            one_statement.write(s)
            result = ListApproved(budget_year, released, left_off, row.id, row.seq)
    except (IntegrityError, StaleDataError) as exc:
        raise Conflict(f"{budget_year} 年度项目清单已被同时处理，请刷新后重试", article=ARTICLE) from exc
    for instance, wf in touched:
        ctx.workflows.put(instance.id, instance.revision, wf)
    return result


def compile_cosign_approve(ctx: Govflow, budget_year: int, approved: Mapping[int, float], approver: Actor, *,
                           document_no: str = "东政字〔2026〕1号", left_off: Sequence[int] = (),
                           reasons: Mapping[int, str] | None = None) -> ListApproved:
    """The three steps in one call, for the demo, scenario tests and benchmarks: the list holds the
    projects in `approved` and `left_off`, compiled and co-signed by the system on behalf of
    市大数据局 and 市财政局, then approved by `approver`."""
    system = Actor.system()
    ids = list(approved) + [p for p in left_off if p not in approved]
    list_id = compile_list(ctx, budget_year, [{"project_id": p} for p in ids], system)
    cosign(ctx, list_id, system)
    return approve(ctx, budget_year, approved, approver, document_no, reasons=reasons, list_id=list_id)
