"""代理: the signed-in user's out-of-office substitutes (docs/approval-actions.md)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj
from service.http.views.common import ctx
from service.operations import substitutes

bp = Blueprint("substitutes", __name__, url_prefix="/api/me/substitutes")

ROW = obj({"id": {"type": "integer"}, "username": {"type": "string"}, "substitute": {"type": "string"},
           "starts_on": {"type": "string", "format": "date"}, "ends_on": {"type": "string", "format": "date"},
           "state": {"type": "string", "enum": ["planned", "running", "ended", "cancelled"]}}, extra=True)
BODY = obj({"substitute": {"type": "string", "minLength": 1, "maxLength": 100, "description": "代理人（用户名）"},
            "starts_on": {"type": "string", "format": "date", "description": "开始日期（北京时间，含当日）"},
            "ends_on": {"type": "string", "format": "date", "description": "结束日期（含当日）"}},
           ["substitute", "starts_on", "ends_on"])


@bp.get("")
@api("我的代理设置：我指定的代理人、指定我为代理人的同事、可选的本单位同事", tag="任务",
     responses={200: obj({"mine": {"type": "array", "items": ROW}, "for_me": {"type": "array", "items": ROW},
                          "candidates": {"type": "array", "items": {"type": "object"}}}, extra=True)})
def overview() -> ResponseReturnValue:
    return jsonify(substitutes.overview(ctx(), auth.actor()))


@bp.post("")
@api(f"指定代理人：本单位在岗同事，期间内代为办理我认领或受托的任务（最长 {substitutes.MAX_DAYS} 天；"
     "与已有期间重叠 409）", tag="任务", body=BODY, responses={201: ROW})
def name() -> ResponseReturnValue:
    return jsonify(substitutes.name_substitute(ctx(), auth.actor(), json_body())), 201


@bp.post("/<id:substitute_id>/cancel")
@api("取消代理设置", tag="任务", responses={200: ROW})
def cancel(substitute_id: int) -> ResponseReturnValue:
    return jsonify(substitutes.cancel(ctx(), auth.actor(), substitute_id))
