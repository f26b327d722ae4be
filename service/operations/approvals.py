"""The 审批单 of one completed step, on the web: the same document as in the 第十六条 dossier
(service.operations.export), readable by whoever may read that completed task (the task page's
rule, service.operations.project_file.require_task_readable)."""
from __future__ import annotations

from service.documents import render
from service.domain.access import Actor
from service.domain.errors import NotFound
from service.operations import tasks
from service.operations.context import Govflow
from service.operations.export import collect, dossier_documents
from service.operations.project_file import require_task_readable
from service.storage.models import utcnow


def approval_html(ctx: Govflow, work_item_id: int, actor: Actor, *, stylesheet_href: str | None = None,
                  pdf_href: str | None = None) -> tuple[str, str]:
    """(the page, a file name stem). Without `stylesheet_href` the stylesheet is inline (PDF)."""
    with ctx.db.session() as s:
        item, _, project = tasks._load(s, work_item_id)
        require_task_readable(s, actor, item, project)
        if item.state != "completed":
            raise NotFound("该环节尚未办结，还没有审批单")
        summary, steps, files, schemas, who = collect(ctx, s, project)
    doc = dossier_documents(summary, steps, schemas, files, who, utcnow(), actor.user, missing=[])
    st = next(x for x in doc["steps"] if x["id"] == work_item_id)
    html = render.approval_html(p=doc["p"], st=st, generated_at=doc["generated_at"],
                                stylesheet_href=stylesheet_href, pdf_href=pdf_href)
    return html, f"{summary['code']}-{st['index']:02d}-{st['title']}审批单"


def approval_pdf(ctx: Govflow, work_item_id: int, actor: Actor) -> tuple[bytes, str]:
    html, stem = approval_html(ctx, work_item_id, actor)
    return render.pdf(html), stem
