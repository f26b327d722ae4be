"""催办 and 延期申请 (docs/urge-and-extension.md): urging the unit that holds a task, a unit's request
for more working days and supervision's decision on it."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from service.domain.access import require_overseer
from service.domain.deadlines import local_date
from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj, q
from service.http.views.common import ctx, int_arg, str_arg
from service.http.views.lists import PAGING, ROW, _page, page_of
from service.operations import extension_requests, statistics, urge

bp = Blueprint("urges_extensions", __name__, url_prefix="/api")

NOTE = {"type": "string", "maxLength": 2000}
DATE = {"type": "string", "format": "date"}
REQUEST = {"type": "object"}


def _str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    return value if isinstance(value, str) else ""


@bp.post("/tasks/<id:task_id>/urge")
@api("催办：项目建设单位或督办人员提醒办理单位抓紧办理（每个任务每个工作日一次）", tag="督办",
     body=obj({"note": {"type": "string", "maxLength": urge.NOTE_MAX}}),
     responses={201: obj({"id": {"type": "integer"}, "work_item_id": {"type": "integer"},
                          "working_day": DATE, "count": {"type": "integer"}, "at": {"type": "string"}})})
def urge_task(task_id: int) -> ResponseReturnValue:
    body = json_body()
    return jsonify(urge.urge(ctx(), task_id, _str(body, "note"), auth.actor(), now=auth.now())), 201


@bp.get("/tasks/<id:task_id>/deadline-actions")
@api("任务的催办记录、延期申请及当前用户可做的操作（催办、申请延期、延期、审批）", tag="督办",
     responses={200: {"type": "object"}})
def deadline_actions(task_id: int) -> ResponseReturnValue:
    return jsonify(extension_requests.for_task(ctx(), task_id, auth.actor()))


@bp.post("/tasks/<id:task_id>/extension-requests")
@api(f"延期申请：办理单位申请延长办理时限 1–{extension_requests.MAX_DAYS} 个工作日，须说明理由", tag="督办",
     body=obj({"days": {"type": "integer", "minimum": 1, "maximum": extension_requests.MAX_DAYS},
               "reason": {"type": "string", "minLength": 1, "maxLength": 2000}}, ["days", "reason"]),
     responses={201: REQUEST})
def request_extension(task_id: int) -> ResponseReturnValue:
    body = json_body()
    # Validated by the operation after its permission check: another unit learns nothing.
    out = extension_requests.request(ctx(), task_id, body.get("days"), body.get("reason"), auth.actor(),
                                     now=auth.now())
    return jsonify(out), 201


@bp.get("/supervision/extension-requests")
@api("督办：延期申请，分页（待审批的最早在前）", tag="督办",
     query=[q("state", {"type": "string", "enum": list(extension_requests.STATES)}, "默认 pending"),
            q("unit", {"type": "string", "maxLength": 100}), *PAGING],
     responses={200: page_of(ROW)})
def list_extension_requests() -> ResponseReturnValue:
    actor = auth.actor()
    require_overseer(actor)
    state = request.args.get("state") or "pending"
    return jsonify(extension_requests.requests_page(ctx(), actor, state=state, unit=str_arg("unit"), page=_page()))


def _decide(request_id: int, approve: bool) -> ResponseReturnValue:
    body = json_body()
    return jsonify(extension_requests.decide(ctx(), request_id, approve, _str(body, "note"), auth.actor(),
                                             now=auth.now()))


@bp.post("/supervision/extension-requests/<id:request_id>/approve")
@api("督办：同意延期申请（按工作日顺延办理时限）", tag="督办", body=obj({"note": NOTE}), responses={200: REQUEST})
def approve_extension(request_id: int) -> ResponseReturnValue:
    return _decide(request_id, True)


@bp.post("/supervision/extension-requests/<id:request_id>/refuse")
@api("督办：不同意延期申请，须说明理由", tag="督办", body=obj({"note": {**NOTE, "minLength": 1}}, ["note"]),
     responses={200: REQUEST})
def refuse_extension(request_id: int) -> ResponseReturnValue:
    return _decide(request_id, False)


@bp.get("/supervision/urges/summary")
@api("督办看板：统计区间内按单位的催办次数，及催办最多的在办任务", tag="督办",
     query=[q("from", DATE), q("to", DATE), q("limit", {"type": "integer", "minimum": 1, "maximum": 100})],
     responses={200: obj({"total": {"type": "integer"}, "by_unit": {"type": "array", "items": ROW},
                          "tasks": {"type": "array", "items": ROW}})})
def urge_summary() -> ResponseReturnValue:
    actor = auth.actor()
    require_overseer(actor)
    start, to, _ = statistics.parse_period(request.args.get("from"), request.args.get("to"), None,
                                           local_date(auth.now()))
    return jsonify(urge.summary(ctx(), actor, since=start, until=to,
                                limit=int_arg("limit", minimum=1, maximum=100, default=20) or 20))
