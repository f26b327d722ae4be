"""Documents for printing and filing: the 审批单 of a completed step as a printable page (print
stylesheet, no script) and as PDF; the document stylesheet itself (docs/documents.md)."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, g, redirect, request
from flask.typing import ResponseReturnValue

from service.documents import render
from service.http import auth
from service.http.spec import api
from service.http.views.common import ctx
from service.operations import approvals

bp = Blueprint("documents", __name__)
STYLESHEET = "/documents/document.css"


@bp.get("/documents/document.css")
def stylesheet() -> ResponseReturnValue:
    return Response(render.css(), mimetype="text/css", headers={"Cache-Control": "max-age=300"})


@bp.get("/tasks/<id:task_id>/approval")
def approval_page(task_id: int) -> ResponseReturnValue:
    # A page, not /api: its CSP lets it load the stylesheet ('self'); it carries no script at all.
    if g.get("actor") is None:
        return redirect("/login?next=" + quote(request.path, safe="/"))
    html, _ = approvals.approval_html(ctx(), task_id, auth.actor(), stylesheet_href=STYLESHEET,
                                      pdf_href=f"/api/tasks/{task_id}/approval.pdf")
    return Response(html, mimetype="text/html")


@bp.get("/api/tasks/<id:task_id>/approval.pdf")
@api("已办结环节的审批单 PDF（与档案中的相同）", tag="任务", produces="application/pdf",
     responses={200: {"type": "string", "format": "binary"}})
def approval_pdf(task_id: int) -> ResponseReturnValue:
    data, stem = approvals.approval_pdf(ctx(), task_id, auth.actor())
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=approval-{task_id}.pdf; filename*=UTF-8''{quote(stem)}.pdf"})
