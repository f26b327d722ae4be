"""Who reads a project by 抄送 (service.domain.visibility.reads_by_copy): the copies addressed to
the actor or the actor's unit, looked up for the project-file and task-reading checks. Kept apart
from service.operations.carbon_copy so the readers (project_file, attachments) need not import the
sending side, which imports them."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from service.domain.access import Actor
from service.domain.visibility import reads_by_copy
from service.storage.models import CarbonCopy, Unit, WorkItem


def _copies(session: Session, actor: Actor, project_id: int) -> list[tuple[str | None, str | None, int | None]]:
    """(to unit, to user, work item) of the copies of the project that could concern the actor."""
    if not actor.user and not actor.unit:
        return []
    mine = [CarbonCopy.to_user == actor.user] if actor.user else []
    if actor.unit:
        mine.append(Unit.name == actor.unit)
    rows = session.execute(
        select(Unit.name, CarbonCopy.to_user, CarbonCopy.work_item_id)
        .outerjoin(Unit, Unit.id == CarbonCopy.to_unit_id)
        .where(CarbonCopy.project_id == project_id, or_(*mine)))
    return [(u, user, w) for u, user, w in rows]


def reads_file(session: Session, actor: Actor, project_id: int) -> bool:
    """A copy of the project, or of any of its tasks, reaches the actor."""
    return any(reads_by_copy(actor, u, user) for u, user, _ in _copies(session, actor, project_id))


def reads_task(session: Session, actor: Actor, item: WorkItem) -> bool:
    """A completed task of a project copied to the actor; an open one only when it is the task copied
    (the others stay their unit's until they are done, as for involved units)."""
    if item.state == "cancelled":
        return False
    copies = [w for u, user, w in _copies(session, actor, item.project_id) if reads_by_copy(actor, u, user)]
    return bool(copies) and (item.state == "completed" or item.id in copies)
