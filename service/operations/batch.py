"""批量办理: several open tasks whose form is marked `x-batchable` (forms/README.md) completed with one
set of values from the inbox. Each task is its own call of tasks.complete — its own transaction,
project lock, engine step and audit record — so one refused task (another unit's, already done,
claimed by someone else, not batchable, a form error) never undoes or blocks the others; the
answer says per task what happened."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from service.domain.access import Actor, require_task_worker
from service.domain.errors import BadField, FieldError, GovflowError, NotFound, ValidationFailed
from service.operations import tasks, worklists
from service.operations.context import Govflow
from service.storage.models import Project, WorkItem

MAX_ITEMS = 50
NOT_BATCHABLE = "该任务的表单不支持批量办理"


class NotBatchable(GovflowError):
    code = "not_batchable"


def _ids(raw: Any) -> list[int]:
    """The task ids, in the order given, each once; 400 for anything but 1–50 positive integers."""
    if not isinstance(raw, list) or not raw:
        raise BadField([FieldError("ids", "ids：应为任务编号列表，至少一项")], "ids：应为任务编号列表，至少一项")
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31 for i in raw):
        raise BadField([FieldError("ids", "ids：任务编号应为正整数")], "ids：任务编号应为正整数")
    ids = list(dict.fromkeys(raw))
    if len(ids) > MAX_ITEMS:
        message = f"ids：一次最多批量办理 {MAX_ITEMS} 项（本次 {len(ids)} 项）"
        raise BadField([FieldError("ids", message)], message)
    return ids


def _check_batchable(ctx: Govflow, item_id: int, actor: Actor) -> tuple[str, str | None]:
    """(title, project code) of a task the actor's unit works whose form is batchable. Authorised
    first, as tasks.complete does, so batchability of another unit's task is never told."""
    with ctx.db.session() as s:
        row = s.execute(select(WorkItem, Project.code).join(Project, Project.id == WorkItem.project_id)
                        .where(WorkItem.id == item_id)).first()
        if row is None:
            raise NotFound("任务不存在")
        item, code = row
        require_task_worker(actor, item.unit.name)
        if not (ctx.forms.exists(item.form) and ctx.forms.get(item.form).batchable):
            raise NotBatchable(NOT_BATCHABLE, field="ids")
        return item.title, code


def _failure(item_id: int, exc: GovflowError, title: str | None, code: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item_id, "ok": False, "title": title, "project_code": code,
                           "code": exc.code, "error": exc.message}
    if isinstance(exc, ValidationFailed):
        out["errors"] = [e.to_dict() for e in exc.errors]
    return out


def complete_many(ctx: Govflow, ids: Any, data: Any, actor: Actor) -> dict[str, Any]:
    """Complete each task with `data`; {results: [{id, ok, error?, …}], succeeded, failed}."""
    wanted = _ids(ids)
    if not isinstance(data, Mapping):
        raise BadField([FieldError("data", "data：应为表单数据对象")], "data：应为表单数据对象")
    results: list[dict[str, Any]] = []
    for item_id in wanted:
        title = code = None
        try:
            title, code = _check_batchable(ctx, item_id, actor)
            done = tasks.complete(ctx, item_id, dict(data), actor)
        except GovflowError as exc:
            results.append(_failure(item_id, exc, title, code))
            continue
        results.append({"id": item_id, "ok": True, "title": title, "project_code": code,
                        "project_id": done.project_id, "opened": done.opened,
                        "next": worklists.next_steps(ctx, done.opened)})
    succeeded = sum(1 for r in results if r["ok"])
    return {"results": results, "succeeded": succeeded, "failed": len(results) - succeeded}
