"""加签, the reading half: the signers of a task as responses show them, the signer's list and page,
the opinions the project file and the dossier carry, and who counts as a signer
(service.operations.countersign writes; docs/approval-actions.md)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from service.domain.access import WORKER_ROLES, Actor
from service.domain.errors import NotFound
from service.domain.visibility import can_see_task
from service.operations import people
from service.operations.context import Govflow
from service.storage.models import Countersign, CountersignHold, Project, Unit, WorkItem

KINDS = {"before": "前加签", "after": "后加签"}



def labels_of(session: Session, rows: Iterable[Countersign]) -> dict[int, str]:
    rows = list(rows)
    who = people.names(session, [c.username for c in rows if c.username])
    return {c.id: (f"{(who.get(c.username) or {}).get('name') or c.username}（{c.unit.name}）"
                   if c.username else c.unit.name) for c in rows}


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def views(session: Session, rows: Iterable[Countersign]) -> list[dict[str, Any]]:
    rows = list(rows)
    labels = labels_of(session, rows)
    out = [{"id": c.id, "work_item_id": c.work_item_id, "project_id": c.project_id, "kind": c.kind,
            "kind_label": KINDS.get(c.kind, c.kind), "unit": c.unit.name, "username": c.username,
            "signer": labels[c.id], "requested_by": c.requested_by, "note": c.note, "state": c.state,
            "decision": c.decision, "opinion": c.opinion, "signed_by": c.signed_by, "signed_at": _iso(c.signed_at),
            "cancelled_by": c.cancelled_by, "cancelled_at": _iso(c.cancelled_at), "created_at": _iso(c.created_at)}
           for c in rows]
    who = people.names(session, [v[k] for v in out for k in ("requested_by", "signed_by", "cancelled_by") if v[k]])
    for v in out:
        for k in ("requested_by", "signed_by", "cancelled_by"):
            if v[k]:
                v[f"{k}_name"] = (who.get(v[k]) or {}).get("name") or v[k]
    return out


# Every task page asks, and most tasks have none: the unit as an entity of its own rather than
# through the model's joined loading, whose result adapter is built on every execution, rows or
# none (service.operations.completion_read does the same).
_OF_ITEM = (select(Countersign, Unit).join(Unit, Unit.id == Countersign.unit_id)
            .options(lazyload(Countersign.unit))
            .where(Countersign.work_item_id == bindparam("work_item_id")).order_by(Countersign.id))


def of_item(session: Session, work_item_id: int) -> list[Countersign]:
    out = []
    for cs, unit in session.execute(_OF_ITEM, {"work_item_id": work_item_id}):
        set_committed_value(cs, "unit", unit)
        out.append(cs)
    return out


def open_signers(session: Session, work_item_id: int, kind: str | None = None) -> list[Countersign]:
    q = select(Countersign).where(Countersign.work_item_id == work_item_id, Countersign.state == "open")
    if kind:
        q = q.where(Countersign.kind == kind)
    return list(session.scalars(q.order_by(Countersign.id)))


def hold_of(session: Session, work_item_id: int) -> CountersignHold | None:
    return session.get(CountersignHold, work_item_id, populate_existing=True)


def is_signer(actor: Actor, cs: Countersign) -> bool:
    if not actor.roles & WORKER_ROLES:
        return False
    return actor.user == cs.username if cs.username else actor.unit == cs.unit.name


def signs_on(session: Session, actor: Actor, work_item_id: int) -> bool:
    """The actor is (or was) asked to sign on this task: it reads the task's project file."""
    return any(is_signer(actor, c) for c in of_item(session, work_item_id) if c.state != "cancelled")


def signer_units(session: Session, project_id: int) -> set[str]:
    """Units asked to sign on some task of the project: involved in it (docs/project-file.md)."""
    return set(session.scalars(select(Unit.name).join(Countersign, Countersign.unit_id == Unit.id)
                               .where(Countersign.project_id == project_id, Countersign.state != "cancelled")
                               .distinct()))


def signed_by_item(session: Session, project_id: int) -> dict[int, list[dict[str, Any]]]:
    """host work item id → its signed countersigns: the opinions the file and the dossier show under
    the host step."""
    rows = list(session.scalars(select(Countersign).where(Countersign.project_id == project_id,
                                                          Countersign.state == "signed").order_by(Countersign.id)))
    out: dict[int, list[dict[str, Any]]] = {}
    for v in views(session, rows):
        out.setdefault(v["work_item_id"], []).append(v)
    return out


def task_extras(session: Session, item: WorkItem) -> dict[str, Any]:
    """What GET /api/tasks/{id} carries about 加签: the signers and the held submission."""
    signers = of_item(session, item.id)
    # A hold is only made while 后加签 rows exist, and countersign rows are never deleted: a task
    # without any has no hold to look for (one statement less on every task page).
    hold = hold_of(session, item.id) if item.state == "open" and signers else None
    return {"countersigns": views(session, signers),
            "countersign_hold": ({"held_by": hold.held_by, "held_by_name": people.name_of(session, hold.held_by),
                                  "held_at": hold.held_at.isoformat(), "data": hold.data} if hold else None)}


def _host_view(item: WorkItem, project: Project) -> dict[str, Any]:
    return {"id": item.id, "task": item.task_name, "title": item.title, "stage": item.stage, "unit": item.unit.name,
            "form": item.form, "state": item.state, "round": item.round,
            "due_date": item.due_date.isoformat() if item.due_date else None,
            "project": {"id": project.id, "code": project.code, "name": project.name, "unit": project.unit.name}}


def _actionable(session: Session, cs: Countersign, item: WorkItem) -> bool:
    """Open, on an open host, and for 后加签 only once the holder has submitted."""
    return (cs.state == "open" and item.state == "open"
            and (cs.kind == "before" or hold_of(session, item.id) is not None))


def get(ctx: Govflow, countersign_id: int, actor: Actor) -> dict[str, Any]:
    """One countersign as its signer's page needs it: the host task, the holder's submission for a
    后加签, the other signers. Signers, the host's and declaring units and read-all roles read it."""
    with ctx.db.session() as s:
        cs = s.get(Countersign, countersign_id)
        if cs is None:
            raise NotFound("加签不存在")
        item = s.get(WorkItem, cs.work_item_id)
        project = s.get(Project, cs.project_id)
        assert item is not None and project is not None
        if not (is_signer(actor, cs) or can_see_task(actor, item.unit.name, project.unit.name)):
            raise NotFound("加签不存在")
        (out,) = views(s, [cs])
        hold = hold_of(s, item.id) if item.state == "open" else None
        out["host"] = _host_view(item, project)
        out["schema"] = ctx.forms.get(item.form).schema if ctx.forms.exists(item.form) else None
        # The holder's draft is not theirs to read: a 前加签 signer decides on the file so far.
        out["held_data"] = hold.data if hold else (item.data if item.state == "completed" else None)
        out["others"] = [v for v in views(s, of_item(s, item.id)) if v["id"] != cs.id]
        out["may_sign"] = is_signer(actor, cs) and _actionable(s, cs, item)
        if cs.state == "open" and item.state != "open":
            out["state"] = "closed"  # the host was withdrawn or sent back: nothing left to sign
        return out


def todo(ctx: Govflow, actor: Actor) -> list[dict[str, Any]]:
    """待我加签: what the actor (a person, or its unit as a whole) may sign now, most urgent first."""
    if not (actor.roles & WORKER_ROLES and actor.unit):
        return []
    with ctx.db.session() as s:
        rows = s.execute(select(Countersign, WorkItem, Project)
                         .join(WorkItem, WorkItem.id == Countersign.work_item_id)
                         .join(Project, Project.id == Countersign.project_id)
                         .join(Unit, Unit.id == Countersign.unit_id)
                         .where(Countersign.state == "open", WorkItem.state == "open", Unit.name == actor.unit)
                         .order_by(WorkItem.due_at.is_(None), WorkItem.due_at, Countersign.id)).all()
        held = set(s.scalars(select(CountersignHold.work_item_id)
                             .where(CountersignHold.work_item_id.in_([r[1].id for r in rows])))) if rows else set()
        picked = [(c, w, p) for c, w, p in rows if is_signer(actor, c) and (c.kind == "before" or w.id in held)]
        out = views(s, [c for c, _, _ in picked])
        for v, (_, w, p) in zip(out, picked, strict=True):
            v["host"] = _host_view(w, p)
            v["kind_title"] = "加签"
        return out
