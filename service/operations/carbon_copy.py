"""抄送: copy a task or a whole project to units or people with a note (docs/approval-actions.md).

- Who sends: whoever reads the project file in their own right (the declaring unit, the units
  involved, 督办/审计/admin: service.operations.project_file.reads_file_in_own_right) and, for a
  task, may open that task. A copy's recipient reads, but does not copy on: the file reaches no
  further than someone with a part in the project decided.
- To whom: at least one unit or person; not oneself or one's own unit (pick colleagues by name);
  a person must be active and belong to a unit (its in-app inbox carries the message). A copy to a
  unit is every member's. Note at most 500 characters.
- What it gives: the recipients read the project file read-only, the copied task even while it
  is open (service.domain.visibility.reads_by_copy); they get an in-app message (kind "cc", the
  copy's id as its level); the send is one `carbon_copied` record on the project's audit chain, in
  the same transaction as the rows, after the project row is locked.
- Automatic: a user task's `cc_units` property ("市财政局,市审计局") copies the task to those units
  when it is completed, inside the completion's transaction, sent by "system"."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from service.channels.config import ChannelSettings
from service.domain import approval_actions as rules
from service.domain.access import Actor
from service.domain.errors import FieldError, Forbidden, NotFound, ValidationFailed
from service.domain.visibility import reads_by_copy
from service.operations import audit, people, project_file, worklists
from service.operations.context import Govflow
from service.storage import locks, row_ids
from service.storage.models import CarbonCopy, Notification, Project, Unit, User, WorkItem, utcnow

MAX_NOTE = 500
MAX_RECIPIENTS = 50
AUTO_PROPERTY = "cc_units"
SYSTEM = "system"
KIND = "cc"


def _clean(values: Iterable[Any], field: str, label: str) -> list[str]:
    out: list[str] = []
    for v in values:
        if not isinstance(v, str) or not v.strip():
            raise ValidationFailed([FieldError(field, f"{label}：应为非空文本")])
        if v.strip() not in out:
            out.append(v.strip())
    if len(out) > MAX_RECIPIENTS:
        raise ValidationFailed([FieldError(field, f"{label}：一次最多 {MAX_RECIPIENTS} 个")])
    return out


def _recipients(session: Session, actor: Actor | None, units: list[str], users: list[str]
                ) -> tuple[list[Unit], list[tuple[User, Unit]]]:
    """The units and persons named, checked; `actor` None for the automatic copy (no self to skip)."""
    found = {u.name: u for u in session.scalars(select(Unit).where(Unit.name.in_(units)))} if units else {}
    errors = [FieldError("units", f"抄送单位：没有名为“{u}”的单位") for u in units if u not in found]
    own_unit = rules.cc_own_units_refusal(actor, units) if actor is not None else None
    if own_unit:
        errors.append(FieldError("units", own_unit))
    people_rows = ({u.username: u for u in session.scalars(select(User).where(User.username.in_(users)))}
                   if users else {})
    persons: list[tuple[User, Unit]] = []
    for name in users:
        user = people_rows.get(name)
        to_self = rules.cc_user_refusal(actor, name) if actor is not None else None
        if to_self:
            errors.append(FieldError("users", to_self))
        elif user is None or not user.active:
            errors.append(FieldError("users", f"抄送人员：没有在岗用户 {name}"))
        elif user.unit is None:
            errors.append(FieldError("users", f"抄送人员：{user.display_name or name} 不属于任何单位，收不到抄送"))
        else:
            persons.append((user, user.unit))
    if errors:
        raise ValidationFailed(errors)
    if not units and not users:
        raise ValidationFailed([FieldError("units", "抄送对象：请至少选择一个单位或人员")])
    return [found[u] for u in units], persons


def _note(note: str | None) -> str:
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise ValidationFailed([FieldError("note", f"抄送说明：不能超过 {MAX_NOTE} 个字")])
    return text


def _message(session: Session, cfg: ChannelSettings, copy: CarbonCopy, project: Project, item: WorkItem | None,
             unit_id: int, sender: str, now: dt.datetime) -> None:
    """The recipient's in-app message (no e-mail: a copy informs, it asks nothing by a deadline)."""
    what = f"「{item.title}」" if item is not None else "项目"
    path = f"/tasks/{item.id}?cc={copy.id}" if item is not None else f"/projects/{project.id}?cc={copy.id}"
    link = f"{cfg.base_url.rstrip('/')}{path}"
    who = "系统（流程规定）" if sender == SYSTEM else people.name_of(session, sender)
    text = f"{who} 抄送{what} · {project.name}（{project.code}）" + (f" · {copy.note}" if copy.note else "")
    task_line = [f"事项：{item.title}（{item.stage}），承办单位：{item.unit.name}"] if item is not None else []
    body = "\n".join([f"{who}将{project.name}{what}抄送给您，供知悉（只读）。", "",
                      f"项目：{project.name}（{project.code}）", *task_line,
                      *([f"说明：{copy.note}"] if copy.note else []), "", f"查看：{link}", "",
                      "东营市政务数字化项目管理系统"]) + "\n"
    session.add(Notification(
        work_item_id=item.id if item is not None else None, project_id=project.id, kind=KIND, level=copy.id,
        unit_id=unit_id, recipient_role=KIND, subject=f"【抄送】{project.name}{what}"[:300], body=body,
        payload={"kind": KIND, "title": "抄送", "project_id": project.id, "project_code": project.code,
                 "project_name": project.name, "work_item_id": item.id if item is not None else None,
                 "task_title": item.title if item is not None else None, "link": link, "path": path, "text": text,
                 "note": copy.note, "sent_by": sender, "recipient_user": copy.to_user, "carbon_copy_id": copy.id},
        created_at=now))


def _store(ctx: Govflow, session: Session, project: Project, item: WorkItem | None, sender: str,
           units: list[Unit], persons: list[tuple[User, Unit]], note: str, now: dt.datetime,
           *, automatic: bool = False) -> list[CarbonCopy]:
    """Rows, messages and the audit record of one send, in the caller's transaction (project locked)."""
    copies = [CarbonCopy(project_id=project.id, work_item_id=item.id if item else None, to_unit_id=u.id,
                         note=note, sent_by=sender, sent_at=now) for u in units]
    copies += [CarbonCopy(project_id=project.id, work_item_id=item.id if item else None, to_user=user.username,
                          note=note, sent_by=sender, sent_at=now) for user, _ in persons]
    if automatic:
        # Inside a completion: the ids are taken, not flushed, so the copies, their messages and the
        # audit record ride in the completion's one write (service.storage.one_statement).
        ids = row_ids.reserve(session, {"carbon_copies": len(copies)})["carbon_copies"]
        for c, id_ in zip(copies, ids, strict=True):
            c.id = id_
        session.add_all(copies)
    else:
        session.add_all(copies)
        session.flush()  # the answer's view() reads each copy's unit back
    cfg = ChannelSettings()
    unit_of = {c.id: u.id for c, u in zip(copies, units, strict=False)}
    unit_of.update({c.id: unit.id for c, (_, unit) in zip(copies[len(units):], persons, strict=True)})
    for c in copies:
        _message(session, cfg, c, project, item, unit_of[c.id], sender, now)
    detail: dict[str, Any] = {"units": [u.name for u in units], "users": [user.username for user, _ in persons],
                              "note": note, "automatic": automatic, "carbon_copy_ids": [c.id for c in copies]}
    if item is not None:
        detail.update(task=item.task_name, title=item.title, unit=item.unit.name)
    audit.append(session, project, actor=sender, action="carbon_copied", work_item_id=item.id if item else None,
                 detail=detail, algorithm=ctx.settings.audit_hash, at=now)
    return copies


def send_task(ctx: Govflow, work_item_id: int, actor: Actor, *, units: Iterable[Any] = (),
              users: Iterable[Any] = (), note: str | None = None) -> dict[str, Any]:
    sender = rules.require_cc_sender(actor)
    unit_names, user_names, text = _clean(units, "units", "抄送单位"), _clean(users, "users", "抄送人员"), _note(note)
    with ctx.db.session() as s:
        project = locks.project_of_work_item(s, work_item_id)
        item = s.get(WorkItem, work_item_id, populate_existing=True) if project is not None else None
        if project is None or item is None:
            raise NotFound("任务不存在")
        # Sending is for those with a part in the project: a recipient reads, it does not copy on.
        _require_sender_of(s, actor, project, item)
        if item.state == "cancelled":
            raise ValidationFailed([FieldError("work_item_id", "该任务已被退回或撤回，不能抄送")])
        found, persons = _recipients(s, actor, unit_names, user_names)
        copies = _store(ctx, s, project, item, sender, found, persons, text, utcnow())
        return {"sent": [view(s, c, project, item) for c in copies]}


def send_project(ctx: Govflow, project_id: int, actor: Actor, *, units: Iterable[Any] = (),
                 users: Iterable[Any] = (), note: str | None = None) -> dict[str, Any]:
    sender = rules.require_cc_sender(actor)
    unit_names, user_names, text = _clean(units, "units", "抄送单位"), _clean(users, "users", "抄送人员"), _note(note)
    with ctx.db.session() as s:
        project = locks.project(s, project_id)
        if project is None:
            raise NotFound("项目不存在")
        _require_sender_of(s, actor, project, None)
        found, persons = _recipients(s, actor, unit_names, user_names)
        copies = _store(ctx, s, project, None, sender, found, persons, text, utcnow())
        return {"sent": [view(s, c, project, None) for c in copies]}


def automatic(ctx: Govflow, session: Session, project: Project, item: WorkItem, properties: Mapping[str, str],
              now: dt.datetime) -> list[CarbonCopy]:
    """The copies a completed user task's `cc_units` declares (in the completion's transaction, the
    project already locked). A unit name the database does not know is skipped rather than failing
    the completion: the deployed process cannot be corrected by the user who submits."""
    names = [n.strip() for n in (properties.get(AUTO_PROPERTY) or "").split(",") if n.strip()]
    if not names:
        return []
    known = list(session.scalars(select(Unit).where(Unit.name.in_(names), Unit.name != item.unit.name)))
    order = {n: i for i, n in enumerate(names)}
    known.sort(key=lambda u: order[u.name])
    if not known:
        return []
    return _store(ctx, session, project, item, SYSTEM, known, [], "流程规定的自动抄送", now, automatic=True)


# -- reading ---------------------------------------------------------------------------------------


def view(session: Session, c: CarbonCopy, project: Project, item: WorkItem | None) -> dict[str, Any]:
    path = f"/tasks/{item.id}?cc={c.id}" if item is not None else f"/projects/{project.id}?cc={c.id}"
    out = {"id": c.id, "project_id": c.project_id, "work_item_id": c.work_item_id,
           "to_unit": c.to_unit.name if c.to_unit else None, "to_user": c.to_user, "note": c.note,
           "sent_by": c.sent_by, "sent_at": c.sent_at.isoformat(), "automatic": c.sent_by == SYSTEM,
           "read_at": c.read_at.isoformat() if c.read_at else None, "read_by": c.read_by, "path": path,
           "project": {"id": project.id, "code": project.code, "name": project.name, "unit": project.unit.name,
                       "stage": project.stage},
           "task": ({"id": item.id, "title": item.title, "stage": item.stage, "unit": item.unit.name,
                     "state": item.state} if item is not None else None)}
    return out


def _with_names(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    known = people.names(session, [u for r in rows for u in (r["sent_by"], r["to_user"], r["read_by"]) if u])
    for r in rows:
        for key in ("sent_by", "to_user", "read_by"):
            if r[key]:
                r[f"{key}_name"] = ("系统" if r[key] == SYSTEM else
                                    (known.get(r[key]) or {}).get("name") or r[key])
    return rows


def _mine(session: Session, actor: Actor) -> Any:
    conditions = [CarbonCopy.to_user == actor.user] if actor.user else []
    if actor.unit:
        conditions.append(CarbonCopy.to_unit_id == select(Unit.id).where(Unit.name == actor.unit).scalar_subquery())
    return or_(*conditions) if conditions else None


def for_me(ctx: Govflow, actor: Actor, *, q: str | None = None, unread: bool = False,
           page: worklists.PageRequest | None = None) -> dict[str, Any]:
    """抄送我的: copies to me and to my unit, newest first; one COUNT and one LIMIT/OFFSET query."""
    page = page or worklists.FIRST_PAGE
    with ctx.db.session() as s:
        mine = _mine(s, actor)
        if mine is None:
            return worklists.envelope([], 0, page, view="cc", unread=0)
        query = (select(CarbonCopy, Project, WorkItem).join(Project, Project.id == CarbonCopy.project_id)
                 .outerjoin(WorkItem, WorkItem.id == CarbonCopy.work_item_id).where(mine))
        if unread:
            query = query.where(CarbonCopy.read_at.is_(None))
        if (match := worklists.project_matches(q)) is not None:
            query = query.where(match)
        total, rows = worklists.count_and_page(s, query.order_by(CarbonCopy.sent_at.desc(), CarbonCopy.id.desc()),
                                               page)
        unread_total = int(s.scalar(select(func.count()).select_from(CarbonCopy)
                                    .where(mine, CarbonCopy.read_at.is_(None))) or 0)
        items = _with_names(s, [view(s, c, p, w) for c, p, w in rows])
    return worklists.envelope(items, total, page, view="cc", unread=unread_total)


def _load_copy(session: Session, copy_id: int, actor: Actor) -> CarbonCopy:
    c = session.get(CarbonCopy, copy_id)
    if c is None:
        raise NotFound("抄送不存在")
    to_unit = c.to_unit.name if c.to_unit else None
    if not reads_by_copy(actor, to_unit, c.to_user) and c.sent_by != actor.user:
        raise NotFound("抄送不存在")
    return c


def get(ctx: Govflow, copy_id: int, actor: Actor) -> dict[str, Any]:
    """One copy, for its recipients and its sender."""
    with ctx.db.session() as s:
        c = _load_copy(s, copy_id, actor)
        project = s.get(Project, c.project_id)
        assert project is not None
        item = s.get(WorkItem, c.work_item_id) if c.work_item_id else None
        return _with_names(s, [view(s, c, project, item)])[0]


def mark_read(ctx: Govflow, copy_id: int, actor: Actor, now: dt.datetime | None = None) -> dict[str, Any]:
    """A recipient has read it (a unit's copy: for the whole unit, as its in-app messages are); its
    message is marked read too. The sender may look at it but not mark it."""
    with ctx.db.session() as s:
        c = _load_copy(s, copy_id, actor)
        if not reads_by_copy(actor, c.to_unit.name if c.to_unit else None, c.to_user):
            raise Forbidden("只有抄送对象可以标记已读")
        if c.read_at is None:
            c.read_at, c.read_by = now or utcnow(), actor.user
            for n in s.scalars(select(Notification).where(Notification.kind == KIND, Notification.level == c.id,
                                                          Notification.read_at.is_(None))):
                n.read_at, n.read_by = c.read_at, actor.user
        project = s.get(Project, c.project_id)
        assert project is not None
        item = s.get(WorkItem, c.work_item_id) if c.work_item_id else None
        return _with_names(s, [view(s, c, project, item)])[0]


def _require_sender_of(session: Session, actor: Actor, project: Project, item: WorkItem | None) -> None:
    if item is not None and not project_file.reads_task_in_own_right(session, actor, item, project):
        raise NotFound("任务不存在")
    if not project_file.reads_file_in_own_right(session, actor, project):
        raise Forbidden(f"只有建设单位、参建单位、承办单位和督办、审计人员可以抄送该{'任务' if item else '项目'}")


def directory(ctx: Govflow, actor: Actor, *, task_id: int | None = None, project_id: int | None = None
              ) -> dict[str, Any]:
    """Whom a copy may go to: every unit and every active person with a unit (names, not logins).
    With a task or project: refused as sending it would be, so a page offers 抄送 only where it works."""
    if not actor.user:
        raise Forbidden("请先登录")
    with ctx.db.session() as s:
        if task_id is not None:
            item = s.get(WorkItem, task_id)
            if item is None:
                raise NotFound("任务不存在")
            project = s.get(Project, item.project_id)
            assert project is not None
            _require_sender_of(s, actor, project, item)
        elif project_id is not None:
            project = s.get(Project, project_id)
            if project is None:
                raise NotFound("项目不存在")
            _require_sender_of(s, actor, project, None)
        units = list(s.scalars(select(Unit.name).order_by(Unit.id)))
        users = [{"username": u, "display_name": d or u, "unit": unit}
                 for u, d, unit in s.execute(select(User.username, User.display_name, Unit.name)
                                             .join(Unit, Unit.id == User.unit_id)
                                             .where(User.active.is_(True)).order_by(Unit.id, User.display_name))
                 if u != actor.user]
        return {"units": [u for u in units if u != actor.unit], "users": users}
