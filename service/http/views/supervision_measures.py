"""Supervision measures on a project (docs/supervision-measures.md): 恢复 a suspended project
(第十四条 暂停建设, 第二十六条 暂停运行), record 注销 / 归并整合 (第二十二条), 不予安排运行维护经费 and
暂停运行并限期整改 (第二十六条), and the supervisors' overview."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.domain.access import require_overseer
from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj
from service.http.views.common import ctx
from service.operations import supervision_actions, suspension

bp = Blueprint("supervision_measures", __name__, url_prefix="/api")

TEXT = {"type": "string", "minLength": 1, "maxLength": 2000}
RECORD = obj({"kind": {"type": "string", "enum": list(supervision_actions.RECORDABLE)}, "reason": TEXT,
              "usage": {"type": "string", "enum": list(supervision_actions.USAGE), "description": "第二十二条"},
              "proposal": {**TEXT, "description": "建设单位的处理意见（第二十二条）"},
              "merged_into": {"type": "string", "minLength": 1, "maxLength": 200, "description": "归并整合至"},
              "grounds": {"type": "array", "items": {"type": "string", "enum": list(supervision_actions.GROUNDS)},
                          "minItems": 1, "maxItems": 3, "description": "第二十六条 不予安排经费的情形"},
              "from_year": {"type": "integer", "minimum": 2024, "maximum": 2100},
              "amount": {"type": "number", "minimum": 0, "description": "万元"},
              "hazard": {**TEXT, "description": "重大安全隐患（第二十六条）"},
              "due_date": {"type": "string", "format": "date", "description": "整改期限"}}, ["kind", "reason"])
RECORD_OUT = obj({"id": {"type": "integer"}, "kind": {"type": "string"}, "label": {"type": "string"},
                  "article": {"type": "string"}, "authority": {"type": "string"}}, extra=True)


@bp.post("/projects/<id:project_id>/resume")
@api("恢复暂停的项目（市大数据局；第十四条暂停建设、第二十六条暂停运行）：待办恢复办理，计时顺延", tag="督办",
     body=obj({"note": {"type": "string", "maxLength": 2000}}),
     responses={200: obj({"project_id": {"type": "integer"}, "paused_working_days": {"type": "integer"},
                          "tasks": {"type": "array"}}, extra=True)})
def resume(project_id: int) -> ResponseReturnValue:
    body = json_body()
    note = body.get("note") if isinstance(body.get("note"), str) else ""
    return jsonify(suspension.resume(ctx(), project_id, auth.actor(), note=note))


@bp.post("/projects/<id:project_id>/supervision-actions")
@api("记录监管措施：注销、归并整合（第二十二条，市大数据局）；不予安排后续运行维护经费（第二十六条，市财政局）；"
     "暂停运行并限期整改（第二十六条，市大数据局）", tag="督办", body=RECORD, responses={201: RECORD_OUT})
def record(project_id: int) -> ResponseReturnValue:
    body = json_body()
    kind = body.get("kind") if isinstance(body.get("kind"), str) else ""
    return jsonify(supervision_actions.record(ctx(), project_id, kind, body, auth.actor())), 201


@bp.get("/supervision/measures")
@api("监管措施总览：暂停中的项目与最近的监管措施（督办、审计）", tag="督办",
     responses={200: obj({"suspended": {"type": "array"}, "actions": {"type": "array"},
                          "kinds": {"type": "array"}})})
def overview() -> ResponseReturnValue:
    require_overseer(auth.actor())
    return jsonify(supervision_actions.overview(ctx()))
