"""Reading projects: the register of the 项目库 (filters, CSV) and one project's dossier, with what
each reader may see (service.domain.visibility)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

from sqlalchemy import func, select

from service.domain.access import Actor
from service.domain.csv_cells import safe_cell
from service.domain.deadlines import local_date
from service.domain.errors import NotFound
from service.domain.labels import beijing, state_label, yes_no
from service.domain.suspension import label as suspension_label
from service.domain.visibility import can_see_dossier, can_see_task
from service.operations import audit, instance_migration, people, project_file, supervision_actions, suspension
from service.operations.context import Govflow
from service.operations.task_actions import task_view
from service.storage.models import (
    Attachment,
    AuditRecord,
    Opinion,
    ProcessInstance,
    ProcessVersion,
    Project,
    Unit,
    WorkItem,
    utcnow,
)

# History detail keys anyone may read; the rest (values, opinions, reasons) only dossier readers.
_PUBLIC_DETAIL = ("task", "title", "unit", "due_date", "code", "name", "budget_year", "outcome", "to",
                  "from_version", "to_version")
# The project answer carries the latest records only (GET /api/projects/{id}/history pages back), and
# the latest completed steps: its size and cost stay the same after 600 退回 (docs/clocks.md).
HISTORY_PAGE = 50
HISTORY_MAX_PAGE = 200
STEPS_SHOWN = 100


def project_summary(p: Project) -> dict[str, Any]:
    return {"id": p.id, "code": p.code, "name": p.name, "budget_year": p.budget_year, "unit": p.unit.name,
            "participants": list(p.participants or []), "is_urgent": p.is_urgent,
            "estimate": float(p.estimate) if p.estimate is not None else None, "status": p.status, "stage": p.stage,
            "outcome": p.outcome, "declared_by": p.declared_by, "declared_at": p.declared_at.isoformat(),
            # 暂停建设 / 暂停运行 (service.operations.suspension): shown beside the status everywhere.
            "suspension": p.suspension, "suspension_label": suspension_label(p.suspension)}


def register(ctx: Govflow, *, year: int | None = None, unit: str | None = None, stage: str | None = None,
             status: str | None = None, limit: int = 500, offset: int = 0) -> list[dict[str, Any]]:
    with ctx.db.session() as s:
        q = select(Project).join(Unit, Project.unit_id == Unit.id).order_by(Project.id)
        if year is not None:
            q = q.where(Project.budget_year == year)
        if unit:
            q = q.where(Unit.name == unit)
        if stage:
            q = q.where(Project.stage == stage)
        if status:
            q = q.where(Project.status == status)
        return people.add_names(s, [project_summary(p) for p in s.scalars(q.limit(limit).offset(offset))])  # type: ignore[no-any-return]


CSV_COLUMNS = [("code", "项目编号"), ("name", "项目名称"), ("budget_year", "预算年度"), ("unit", "建设单位"),
               ("estimate", "投资估算（万元）"), ("stage", "阶段"), ("status", "状态"), ("outcome", "结果"),
               ("is_urgent", "紧急项目"), ("declared_at", "申报时间（北京时间）")]


def register_cells(row: dict[str, Any]) -> list[Any]:
    """One register row as a document shows it: Chinese states, Beijing time, 是/否 (CSV and XLSX)."""
    shown = {**row, "status": state_label(row["status"]), "is_urgent": yes_no(row["is_urgent"]),
             "declared_at": beijing(row["declared_at"])}
    return [shown[k] for k, _ in CSV_COLUMNS]


def register_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    # BOM: Excel, what users open this with, reads UTF-8 CSV as GBK without it.
    buf.write("\ufeff")
    w = csv.writer(buf)
    w.writerow([title for _, title in CSV_COLUMNS])
    for r in rows:
        w.writerow([_cell(v) for v in register_cells(r)])
    return buf.getvalue()


def _cell(value: Any) -> str:
    # Formula injection, also behind leading TAB/CR/whitespace: service.domain.csv_cells.
    return safe_cell(value)


def _involved(session: Any, project_id: int) -> set[str]:
    return set(session.scalars(select(Unit.name).join(WorkItem, WorkItem.unit_id == Unit.id)
                               .where(WorkItem.project_id == project_id).distinct()))


def _load(session: Any, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("项目不存在")
    return project


def can_export(actor: Actor, project_unit: str, involved: set[str]) -> bool:
    """Who may take the 第十六条 dossier away (export.export_zip): whoever reads the whole dossier.
    project_detail's `can_export` asks the same, so the page offers 导出档案 only when it works."""
    return can_see_dossier(actor, project_unit, involved)


def dossier_access(ctx: Govflow, project_id: int, actor: Actor) -> bool:
    with ctx.db.session() as s:
        project = _load(s, project_id)
        return can_see_dossier(actor, project.unit.name, _involved(s, project_id))


def project_detail(ctx: Govflow, project_id: int, actor: Actor) -> dict[str, Any]:
    with ctx.db.session() as s:
        project = _load(s, project_id)
        involved = _involved(s, project_id)
        dossier = can_see_dossier(actor, project.unit.name, involved)
        # Open tasks, then the latest completed steps: never every row of a long-running project.
        opened = list(s.scalars(select(WorkItem).where(WorkItem.project_id == project_id, WorkItem.state == "open")
                                .order_by(WorkItem.id)))
        done = list(s.scalars(select(WorkItem).where(WorkItem.project_id == project_id,
                                                     WorkItem.state == "completed")
                              .order_by(WorkItem.id.desc()).limit(STEPS_SHOWN + 1)))
        more_steps = len(done) > STEPS_SHOWN
        items = [*opened, *reversed(done[:STEPS_SHOWN])]
        current, steps = [], []
        for item in items:
            view = task_view(item)
            if item.state == "open":
                current.append(view)
            elif item.state == "completed":
                # Reviewers of a project read the steps before theirs; other units see none of it.
                view["data"] = item.data if dossier or can_see_task(actor, item.unit.name, project.unit.name) else None
                steps.append(view)
        # The timeline shows each step's decision (结论, 入库, 审定投资概算 …), not only its opinion.
        readable = {v["id"] for v in steps if v["data"] is not None}
        summaries = project_file.decisions(ctx, s, project, [i for i in items if i.id in readable])
        for view in steps:
            view["decision"] = summaries.get(view["id"], [])
        out = project_summary(project)
        out["can_export"] = can_export(actor, project.unit.name, involved)
        version = s.execute(select(ProcessVersion.id, ProcessVersion.process_key, ProcessVersion.version)
                            .join(ProcessInstance, ProcessInstance.version_id == ProcessVersion.id)
                            .where(ProcessInstance.project_id == project_id)).first()
        out["version"] = ({"id": version.id, "process_key": version.process_key, "version": version.version}
                          if version is not None else None)
        out["version_changes"] = instance_migration.of_project(s, project_id)
        out["current_tasks"] = current
        out["completed_steps"] = steps
        # Older steps are in the exported dossier (第十六条) and GET /api/projects/{id}/file.
        out["completed_steps_truncated"] = more_steps
        out["opinions"] = [{"id": o.id, "work_item_id": o.work_item_id, "author": o.author, "text": o.text,
                            "at": o.at.isoformat()}
                           for o in s.scalars(select(Opinion).where(Opinion.project_id == project_id)
                                              .order_by(Opinion.id))] if dossier else []
        out["attachments"] = [attachment_view(a) for a in s.scalars(
            select(Attachment).where(Attachment.project_id == project_id).order_by(Attachment.id))] if dossier else []
        page = history_page(s, project_id, full=dossier)
        out["history"], out["history_next"], out["history_total"] = page["items"], page["next"], page["total"]
        # Supervision measures (第十四、十五、二十二、二十六条): public like the stage, and who may act on them.
        out["suspensions"] = suspension.of_project(s, project_id)
        out["supervision_actions"] = supervision_actions.of_project(s, project_id)
        out["can_resume"] = bool(project.suspension) and suspension.may_resume(actor)
        out["can_record"] = [k for k in supervision_actions.RECORDABLE if supervision_actions.may_record(actor, k)]
        return people.add_names(s, out)  # type: ignore[no-any-return]


def attachment_view(a: Attachment) -> dict[str, Any]:
    return {"id": a.id, "project_id": a.project_id, "work_item_id": a.work_item_id, "filename": a.filename,
            "content_type": a.content_type, "size": a.size, "sha256": a.sha256, "uploaded_by": a.uploaded_by,
            "uploaded_at": a.uploaded_at.isoformat()}


def history(session: Any, project_id: int, *, full: bool) -> list[dict[str, Any]]:
    """Every record, oldest first: for the audit trail and the exported dossier, not for pages."""
    rows = session.scalars(select(AuditRecord).where(AuditRecord.project_id == project_id).order_by(AuditRecord.seq))
    return [_history_entry(r, full=full) for r in rows]


def history_page(session: Any, project_id: int, *, full: bool, before: int | None = None,
                 limit: int = HISTORY_PAGE) -> dict[str, Any]:
    """The `limit` records before seq `before` (the newest without it), oldest first within the
    page; `next` is the cursor of the page before (null at the first record). One range scan of the
    (project_id, seq) unique index, whatever the length of the history."""
    limit = max(1, min(limit, HISTORY_MAX_PAGE))
    q = select(AuditRecord).where(AuditRecord.project_id == project_id)
    if before is not None:
        q = q.where(AuditRecord.seq < before)
    rows = list(session.scalars(q.order_by(AuditRecord.seq.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    rows.reverse()
    total = session.scalar(select(Project.audit_seq).where(Project.id == project_id)) or 0
    return {"items": [_history_entry(r, full=full) for r in rows], "next": rows[0].seq if more and rows else None,
            "total": int(total)}


def project_history(ctx: Govflow, project_id: int, actor: Actor, *, before: int | None,
                    limit: int) -> dict[str, Any]:
    """GET /api/projects/{id}/history: one page, with the same visibility as the project answer."""
    with ctx.db.session() as s:
        project = _load(s, project_id)
        full = can_see_dossier(actor, project.unit.name, _involved(s, project_id))
        page = history_page(s, project_id, full=full, before=before, limit=limit)
        return people.add_names(s, {"project_id": project_id, **page})  # type: ignore[no-any-return]


def _history_entry(r: AuditRecord, *, full: bool) -> dict[str, Any]:
    entry = {"seq": r.seq, "at": r.at.isoformat(), "actor": r.actor, "action": r.action,
             "work_item_id": r.work_item_id, "algorithm": r.algorithm}
    if full:
        entry.update(detail=r.detail, hash=r.hash, prev_hash=r.prev_hash, mac=r.mac, key_id=r.key_id)
    else:
        # The digests cover the hidden detail: shown to a reader who may not see it, they would
        # let a guess ("不同意") be confirmed by hashing it (docs/audit.md). Verification is
        # the server's (`verified`), so such readers need none of them.
        entry["detail"] = {k: v for k, v in (r.detail or {}).items() if k in _PUBLIC_DETAIL}
    return entry


def verification(session: Any, project_id: int) -> dict[str, Any]:
    """The chain checked against its records' MACs, the head on the project row and the signed
    checkpoints: what `verified` means wherever it is shown."""
    report = audit.check_project(session, project_id)
    first = report.first
    return {"verified": report.ok, "first_bad_seq": first.seq if first is not None else None,
            "breaks": [b.to_dict() for b in report.breaks], "unsigned_legacy": report.unsigned}


def audit_trail(ctx: Govflow, project_id: int, actor: Actor) -> dict[str, Any]:
    with ctx.db.session() as s:
        project = _load(s, project_id)
        full = can_see_dossier(actor, project.unit.name, _involved(s, project_id))
        return people.add_names(s, {"project_id": project_id, **verification(s, project_id),  # type: ignore[no-any-return]
                                    "records": history(s, project_id, full=full)})


_BPMN_ID = re.compile(r'\bid="([^"]+)"')


def main_bpmn(sources: dict[str, str], process_key: str) -> str:
    """The .bpmn file of a version that defines the executable process `process_key`."""
    bpmn = {name: text for name, text in sorted(sources.items()) if name.endswith(".bpmn")}
    for text in bpmn.values():
        if re.search(rf'<(?:\w+:)?process\b[^>]*\bid="{re.escape(process_key)}"', text):
            return text
    return next(iter(bpmn.values()), "")


def diagram(ctx: Govflow, project_id: int, actor: Actor, now: dt.datetime | None = None) -> dict[str, Any]:
    """The instance drawn on its process version: the BPMN source and which elements the token has
    passed (`completed`), where it is (`active`), which open user tasks are overdue, and how often
    each element completed (`counts`). Readable by whoever reads the project detail.

    Loop compaction keeps only the current pass in the engine tree, so user tasks are counted from
    work_items (every pass is a row there); other elements count 1 once passed in the current pass."""
    del actor  # the register and the stage are open to everyone signed in (service.domain.visibility)
    today = local_date(now or utcnow())
    with ctx.db.session() as s:
        _load(s, project_id)
        row = s.execute(select(ProcessInstance, ProcessVersion)
                        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id)
                        .where(ProcessInstance.project_id == project_id)).first()
        if row is None:
            raise NotFound("项目尚未启动流程")
        instance, version = row
        runtime = ctx.runtime(s, version.id)
        # Reading does not change the workflow, so a cached one is taken and put back as it was.
        wf = ctx.workflows.take(instance.id, instance.revision) or runtime.load(instance.state)
        states = runtime.element_states(wf)
        ctx.workflows.put(instance.id, instance.revision, wf)
        source = main_bpmn(version.sources, version.process_key)
        element_ids = set(_BPMN_ID.findall(source))
        done_counts = dict(s.execute(select(WorkItem.task_name, func.count())
                                     .where(WorkItem.project_id == project_id, WorkItem.state == "completed")
                                     .group_by(WorkItem.task_name)).all())
        overdue = set(s.scalars(select(WorkItem.task_name).where(
            WorkItem.project_id == project_id, WorkItem.state == "open", WorkItem.due_date < today)))
        counts: dict[str, int] = {}
        for name in states["completed"]:
            counts[name] = 1
        for name, n in done_counts.items():
            counts[name] = int(n)

        def keep(names: set[str]) -> list[str]:
            return sorted(n for n in names if n in element_ids)

        return {"version_id": version.id, "process_key": version.process_key, "version": version.version,
                "bpmn": source, "completed": keep(states["completed"] | set(done_counts)),
                "active": keep(states["active"]), "overdue": keep(overdue),
                "counts": {k: v for k, v in sorted(counts.items()) if k in element_ids}}
