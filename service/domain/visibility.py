"""Who may read what (the reading half of service.domain.access): pure rules, checked by the
operations that return data, never by views.

Everyone signed in sees the project register, a project's stage, open tasks and history. The data
of a task (form content, opinions, attachments) is seen by the unit that holds the task, the
declaring unit, and the read-all roles (督办, 审计, admin). A task of another unit is "not found"
for anyone else, so its existence and content never leak."""
from __future__ import annotations

from service.domain.access import Actor
from service.domain.errors import NotFound

# 审计 (市审计局) reads what supervision reads, and changes nothing (access.require_supervisor excludes it).
READ_ALL_ROLES = frozenset({"supervisor", "auditor", "admin", "system"})


def reads_everything(actor: Actor) -> bool:
    return bool(actor.roles & READ_ALL_ROLES)


def can_see_task(actor: Actor, task_unit: str, project_unit: str) -> bool:
    return reads_everything(actor) or actor.unit in (task_unit, project_unit)


def require_task_visible(actor: Actor, task_unit: str, project_unit: str) -> None:
    if not can_see_task(actor, task_unit, project_unit):
        raise NotFound("任务不存在")


def can_see_dossier(actor: Actor, project_unit: str, involved_units: set[str]) -> bool:
    """Attachments and opinions: the declaring unit, any unit that has had a task on the project."""
    return reads_everything(actor) or actor.unit == project_unit or actor.unit in involved_units


def can_read_task(actor: Actor, task_unit: str, project_unit: str, state: str, involved_units: set[str]) -> bool:
    """One task page: an open task as can_see_task; a completed one also, read-only, by every unit
    involved in the project (the consolidator reads the departments' finished reviews). Another
    unit's open or withdrawn task stays "not found"."""
    if can_see_task(actor, task_unit, project_unit):
        return True
    return state == "completed" and can_see_dossier(actor, project_unit, involved_units)


def reads_by_copy(actor: Actor, to_unit: str | None, to_user: str | None) -> bool:
    """抄送: a copy addressed to the actor, or to the actor's unit (every member), makes them a reader
    of the project file and of its completed tasks, and of the copied task itself even while it is
    open; read-only: a copy gives no right to act, upload, export or copy further."""
    return (to_user is not None and to_user == actor.user) or (to_unit is not None and to_unit == actor.unit)
