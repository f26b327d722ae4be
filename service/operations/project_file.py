"""The project file (项目档案) a task is decided on: every earlier step's submitted form, newest
first, with its attachments under the field they belong to; the parallel branches a consolidation
step sums up; and the values a form takes over from earlier steps (`x-prefill`).

Who reads it is service.domain.visibility's dossier rule: the declaring unit, the participating
units, every unit that holds or held a task in the project, and the read-all roles. Design and
rules: docs/project-file.md."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.domain.access import Actor
from service.domain.errors import Forbidden, NotFound
from service.domain.visibility import can_read_task, can_see_dossier
from service.engine.topology import feeding_branches
from service.operations import copy_readers, countersign_reads, opinion_rules, people
from service.operations.context import Govflow
from service.storage.models import Attachment, ProcessInstance, Project, Unit, WorkItem

PREFILL_KEY = "x-prefill"
SUMMARY_KEY = "x-summary"
_SUMMARY_MAX = 4
# 万元 amounts, dates and choices are what a decision is; long text is its reasoning.
_OPINION_FIELD = "opinion"


def involved_units(session: Session, project: Project) -> set[str]:
    """Units with a part in the project: declarer, participants (第八条), every unit given a task."""
    held = set(session.scalars(select(Unit.name).join(WorkItem, WorkItem.unit_id == Unit.id)
                               .where(WorkItem.project_id == project.id).distinct()))
    # 加签: a unit asked to sign on one of the project's tasks reads its file too.
    return held | countersign_reads.signer_units(session, project.id) | {project.unit.name,
                                                                   *(str(p) for p in (project.participants or []))}


def reads_file_in_own_right(session: Session, actor: Actor, project: Project) -> bool:
    """The dossier rule without 抄送: who may also copy the project on (service.operations.carbon_copy)."""
    return can_see_dossier(actor, project.unit.name, involved_units(session, project))


def may_read_file(session: Session, actor: Actor, project: Project) -> bool:
    # 抄送: a copy to the actor or the actor's unit makes it a reader, read-only.
    return reads_file_in_own_right(session, actor, project) or copy_readers.reads_file(session, actor, project.id)


def reads_task_in_own_right(session: Session, actor: Actor, item: WorkItem, project: Project) -> bool:
    involved = involved_units(session, project) if item.state == "completed" else set()
    return can_read_task(actor, item.unit.name, project.unit.name, item.state, involved)


def require_task_readable(session: Session, actor: Actor, item: WorkItem, project: Project) -> None:
    """An open task: its unit, the declarer, read-all roles. A completed one also every involved
    unit, read-only (the consolidator opens the four departments' reviews); and a copy's
    recipients (抄送: the copied task, and the completed ones of its project). Else "not found"."""
    if not reads_task_in_own_right(session, actor, item, project) and not copy_readers.reads_task(session, actor, item):
        raise NotFound("任务不存在")


# -- reading a form's data -----------------------------------------------------------------------------

def _props(schema: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (schema or {}).get("properties") or {}


def _is_number(sub: Mapping[str, Any]) -> bool:
    return sub.get("type") in ("number", "integer")


def summary_fields(schema: Mapping[str, Any] | None, outputs: Iterable[str] = ()) -> list[str]:
    """The fields that say what a step decided: the form's `x-summary` list when it has one, else
    the task's engine `outputs` and then the required choices, amounts, yes/no and dates, in the
    form's order, at most four. Text and attachments are never a summary."""
    props = _props(schema)
    explicit = (schema or {}).get(SUMMARY_KEY)
    if isinstance(explicit, list):
        return [f for f in explicit if isinstance(f, str) and f in props]

    def scalar(name: str) -> bool:
        sub = props.get(name) or {}
        return (sub.get("type") in ("string", "number", "integer", "boolean") and sub.get("x-widget") is None
                and (sub.get("type") != "string" or "enum" in sub or sub.get("format") == "date"))

    required = set((schema or {}).get("required") or [])
    picked = [f for f in outputs if f in props and scalar(f)]
    picked += [f for f in props if f in required and scalar(f) and f not in picked and "enum" in props[f]]
    picked += [f for f in props if f in required and scalar(f) and f not in picked]
    return picked[:_SUMMARY_MAX]


def summary(schema: Mapping[str, Any] | None, data: Mapping[str, Any] | None,
            outputs: Iterable[str] = ()) -> list[dict[str, Any]]:
    props = _props(schema)
    data = data or {}
    out = []
    for name in summary_fields(schema, outputs):
        if name not in data:
            continue
        sub = props[name]
        title = str(sub.get("title") or name)
        unit = "万元" if title.endswith("（万元）") else None
        out.append({"field": name, "title": title.removesuffix("（万元）"), "value": data[name], "unit": unit,
                    "kind": "choice" if "enum" in sub else "money" if unit else "number" if _is_number(sub) else
                    "boolean" if sub.get("type") == "boolean" else "date" if sub.get("format") == "date" else "text"})
    return out


def _opinion(schema: Mapping[str, Any] | None, data: Mapping[str, Any]) -> dict[str, str] | None:
    """The step's opinion: 办理意见 when written, else its first long text (e.g. 合规性意见)."""
    props = _props(schema)
    names = [_OPINION_FIELD] + [k for k, v in props.items() if v.get("x-widget") == "textarea" and k != _OPINION_FIELD]
    for name in names:
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return {"field": name, "title": str((props.get(name) or {}).get("title") or "办理意见"), "text": value}
    return None


def _file_ids(schema: Mapping[str, Any] | None, value: Any, path: str, out: dict[str, list[str]]) -> None:
    """Attachment ids by the field path they sit in (rows included: "materials/0/file")."""
    schema = schema or {}
    if schema.get("x-widget") == "file":
        if isinstance(value, str | int) and str(value).isdigit():
            out.setdefault(path, []).append(str(value))
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            items = schema.get("items") or {}
            _file_ids(items, v, path if items.get("x-widget") == "file" else f"{path}/{i}", out)
        return
    if isinstance(value, dict):
        for k, sub in _props(schema).items():
            if k in value:
                _file_ids(sub, value[k], f"{path}/{k}" if path else k, out)


def _attachment_view(a: Attachment) -> dict[str, Any]:
    return {"id": a.id, "filename": a.filename, "size": a.size, "content_type": a.content_type,
            "uploaded_by": a.uploaded_by, "uploaded_at": a.uploaded_at.isoformat(), "work_item_id": a.work_item_id}


class _Reader:
    """One request's worth of lookups: form schemas, task properties and attachments, each once."""

    def __init__(self, ctx: Govflow, session: Session, project: Project) -> None:
        self.ctx, self.session, self.project = ctx, session, project
        self.attachments = {str(a.id): a for a in session.scalars(
            select(Attachment).where(Attachment.project_id == project.id))}
        self.countersigns = countersign_reads.signed_by_item(session, project.id)
        # Steps decided over a dissent (service.operations.opinion_rules): the opinions and the reasons.
        self.dissents = opinion_rules.decided_over(session, project.id)
        row = session.execute(select(ProcessInstance.version_id)
                              .where(ProcessInstance.project_id == project.id)).first()
        self.runtime = ctx.runtime(session, row[0]) if row is not None else None

    def schema(self, form: str) -> Mapping[str, Any] | None:
        return self.ctx.forms.get(form).schema if self.ctx.forms.exists(form) else None

    def outputs(self, task_name: str) -> list[str]:
        raw = self.runtime.task_properties(task_name).get("outputs", "") if self.runtime else ""
        return [n.strip() for n in raw.split(",") if n.strip()]

    def step(self, item: WorkItem) -> dict[str, Any]:
        schema = self.schema(item.form)
        data = dict(item.data or {})
        by_field: dict[str, list[str]] = {}
        _file_ids(schema, data, "", by_field)
        cited = {i for ids in by_field.values() for i in ids}
        files = {path: [_attachment_view(self.attachments[i]) for i in ids if i in self.attachments]
                 for path, ids in by_field.items()}
        # Uploaded on the task (side panel) but named by no field: still part of the step.
        loose = [_attachment_view(a) for k, a in sorted(self.attachments.items(), key=lambda kv: int(kv[0]))
                 if a.work_item_id == item.id and k not in cited]
        return {"id": item.id, "task": item.task_name, "title": item.title, "form": item.form,
                "form_title": (schema or {}).get("title") or item.title, "stage": item.stage,
                "unit": item.unit.name, "round": item.round,
                "completed_at": item.completed_at.isoformat() if item.completed_at else None,
                "completed_by": item.completed_by, "schema": schema, "data": data,
                "summary": summary(schema, data, self.outputs(item.task_name)),
                "opinion": _opinion(schema, data), "attachments": files, "other_attachments": loose,
                # 加签 opinions under the host step (service.operations.countersign).
                "countersigns": self.countersigns.get(item.id, []),
                "dissent": self.dissents.get(item.id)}


def _completed(session: Session, project_id: int, before: dt.datetime | None = None,
               exclude: int | None = None) -> list[WorkItem]:
    # The state is checked here, not in the WHERE: with `state = 'completed'` and this ORDER BY,
    # SQLite (no planner statistics) walks ix_work_items_state_completed, the completed rows of
    # every project, on every task page (tests/operations/test_completion_plans.py).
    q = select(WorkItem).where(WorkItem.project_id == project_id).order_by(WorkItem.completed_at.desc(),
                                                                           WorkItem.id.desc())
    if before is not None:
        q = q.where(WorkItem.completed_at <= before)
    if exclude is not None:
        q = q.where(WorkItem.id != exclude)
    return [item for item in session.scalars(q) if item.state == "completed"]


def _load_project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("项目不存在")
    return project


def project_file(ctx: Govflow, project_id: int, actor: Actor) -> dict[str, Any]:
    """Every completed step of the project, newest first. A unit with no part in the project is
    refused (403: the register shows the project exists, its file is not theirs)."""
    with ctx.db.session() as s:
        project = _load_project(s, project_id)
        if not may_read_file(s, actor, project):
            raise Forbidden("无权查看该项目档案：只有建设单位、参建单位、承办过该项目任务的单位"
                            "和督办、审计人员可以查看")
        reader = _Reader(ctx, s, project)
        out = {"project_id": project.id, "steps": [reader.step(w) for w in _completed(s, project.id)]}
        return people.add_names(s, out)  # type: ignore[no-any-return]


def branches_of(reader: _Reader, item: WorkItem) -> dict[str, Any] | None:
    """The parallel branches `item` consolidates (service.engine.topology.feeding_branches), each
    the latest pass completed before `item` was opened; for a multi-instance branch every instance
    of that pass (opened together). None when `item` is no join."""
    if reader.runtime is None:
        return None
    names = feeding_branches(reader.runtime, item.task_name)
    if not names:
        return None
    # By project and task name (ix_work_items_project), the state checked here: see _completed.
    rows = [w for w in reader.session.scalars(
        select(WorkItem).where(WorkItem.project_id == item.project_id, WorkItem.instance_id == item.instance_id,
                               WorkItem.task_name.in_(names), WorkItem.completed_at <= item.created_at)
        .order_by(WorkItem.id)) if w.state == "completed"]
    latest: dict[str, dt.datetime] = {}
    for w in rows:
        latest[w.task_name] = max(latest.get(w.task_name, w.created_at), w.created_at)
    order = {n: i for i, n in enumerate(names)}
    picked = sorted((w for w in rows if w.created_at == latest[w.task_name]),
                    key=lambda w: (order[w.task_name], w.id))
    out = []
    for w in picked:
        step = reader.step(w)
        choice = next((f for f in step["summary"] if f["kind"] == "choice"), None)
        out.append({"id": w.id, "task": w.task_name, "title": w.title, "unit": w.unit.name, "round": w.round,
                    "conclusion": choice,
                    "figures": [f for f in step["summary"] if f is not choice],
                    "opinion": step["opinion"], "completed_by": w.completed_by,
                    "completed_at": step["completed_at"]})
    return {"tasks": names, "rows": out}


def task_file(ctx: Govflow, work_item_id: int, actor: Actor) -> dict[str, Any]:
    """The file as the task's reader needs it: the steps done before it (for an open task, all of
    them so far; for a completed one, those before its completion) and, at a join, the branches."""
    with ctx.db.session() as s:
        item = s.get(WorkItem, work_item_id)
        if item is None:
            raise NotFound("任务不存在")
        project = _load_project(s, item.project_id)
        # A signer (加签) decides on the file of the task it signs, open or not.
        if not countersign_reads.signs_on(s, actor, item.id):
            require_task_readable(s, actor, item, project)
            if not may_read_file(s, actor, project):
                raise NotFound("任务不存在")
        reader = _Reader(ctx, s, project)
        before = item.completed_at if item.state == "completed" else None
        out = {"project_id": project.id, "work_item_id": item.id,
               "steps": [reader.step(w) for w in _completed(s, project.id, before=before, exclude=item.id)],
               "branches": branches_of(reader, item)}
        return people.add_names(s, out)  # type: ignore[no-any-return]


# -- prefill ----------------------------------------------------------------------------------------

def _sources(spec: Any) -> list[tuple[str, str]]:
    """`x-prefill`: "step.field" or a list of them, tried in order; step is a BPMN task id or a form."""
    raw = [spec] if isinstance(spec, str) else spec if isinstance(spec, list) else []
    out = []
    for entry in raw:
        if isinstance(entry, str) and entry.count(".") == 1:
            step, field = entry.split(".")
            if step and field:
                out.append((step, field))
    return out


def prefill(session: Session, schema: Mapping[str, Any] | None, item: WorkItem) -> dict[str, dict[str, Any]]:
    """field → {value, from_task, from_title, work_item_id, completed_at}: for each top-level property with
    `x-prefill`, the newest completed value in this project (so after 修改后重审 the revised plan's
    figure). Fields without a value anywhere are left out."""
    wanted = {name: _sources(sub.get(PREFILL_KEY)) for name, sub in _props(schema).items()
              if isinstance(sub, Mapping) and PREFILL_KEY in sub}
    wanted = {k: v for k, v in wanted.items() if v}
    if not wanted:
        return {}
    done = _completed(session, item.project_id, exclude=item.id)
    out: dict[str, dict[str, Any]] = {}
    for name, sources in wanted.items():
        for step, field in sources:
            hit = next((w for w in done if step in (w.task_name, w.form) and field in (w.data or {})), None)
            if hit is not None:
                out[name] = {"value": (hit.data or {})[field], "from_task": hit.task_name, "from_title": hit.title,
                             "work_item_id": hit.id,
                             "completed_at": hit.completed_at.isoformat() if hit.completed_at else None}
                break
    return out


def decisions(ctx: Govflow, session: Session, project: Project,
              items: Iterable[WorkItem]) -> dict[int, list[dict[str, Any]]]:
    """work item id → what the step decided (summary), for the project timeline."""
    reader = _Reader(ctx, session, project)
    return {w.id: summary(reader.schema(w.form), w.data, reader.outputs(w.task_name)) for w in items}
