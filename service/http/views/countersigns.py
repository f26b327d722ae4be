"""加签: add signers to a task (前加签 / 后加签), sign, withdraw, the signer's list and page data.
Rules live in service.operations.countersign; docs/approval-actions.md."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj
from service.http.views.common import ctx
from service.operations import countersign, countersign_reads

bp = Blueprint("countersigns", __name__, url_prefix="/api")

COUNTERSIGN = obj({"id": {"type": "integer"}, "work_item_id": {"type": "integer"},
                   "kind": {"type": "string", "enum": ["before", "after"]}, "signer": {"type": "string"},
                   "state": {"type": "string", "enum": ["open", "signed", "cancelled", "closed"]},
                   "decision": {"type": "string", "nullable": True}}, extra=True)
SIGNER = obj({"unit": {"type": "string", "maxLength": 100}, "user": {"type": "string", "maxLength": 100}})
ADD_BODY = obj({"kind": {"type": "string", "enum": ["before", "after"], "description": "before 前加签 / after 后加签"},
                "signers": {"type": "array", "items": SIGNER, "minItems": 1, "maxItems": countersign.MAX_OPEN},
                "note": {"type": "string", "maxLength": countersign.NOTE_MAX}}, ["kind", "signers"])
SIGN_BODY = obj({"decision": {"type": "string", "enum": list(countersign.DECISIONS)},
                 "opinion": {"type": "string", "maxLength": countersign.OPINION_MAX}}, ["decision"])
LIST = {"type": "array", "items": COUNTERSIGN}


@bp.post("/tasks/<id:task_id>/countersigns")
@api("加签：任务的办理人增加加签单位或人员（前加签：签署后才能提交；后加签：提交后由其签署再流转）", tag="加签",
     body=ADD_BODY, responses={201: LIST})
def add(task_id: int) -> ResponseReturnValue:
    body = json_body()
    return jsonify(countersign.add(ctx(), task_id, auth.actor(), body.get("kind"), body.get("signers"),
                                   body.get("note"))), 201


@bp.get("/tasks/<id:task_id>/countersign-candidates")
@api("可加签的单位和人员（仅任务的办理人可查询）", tag="加签",
     responses={200: obj({"units": {"type": "array", "items": {"type": "string"}},
                          "people": {"type": "array", "items": {"type": "object"}}})})
def candidates(task_id: int) -> ResponseReturnValue:
    return jsonify(countersign.candidates(ctx(), task_id, auth.actor()))


@bp.get("/countersigns")
@api("待我加签：本人或本单位可以签署的加签", tag="加签", responses={200: obj({"items": LIST})})
def todo() -> ResponseReturnValue:
    return jsonify({"items": countersign_reads.todo(ctx(), auth.actor())})


@bp.get("/countersigns/<id:countersign_id>")
@api("一条加签：主办任务、后加签时主办人提交的内容、其他加签人", tag="加签", responses={200: COUNTERSIGN})
def get(countersign_id: int) -> ResponseReturnValue:
    return jsonify(countersign_reads.get(ctx(), countersign_id, auth.actor()))


@bp.post("/countersigns/<id:countersign_id>/sign")
@api("签署加签：同意 / 不同意（不同意须写明理由；后加签不同意时退回主办人）", tag="加签", body=SIGN_BODY,
     responses={200: COUNTERSIGN})
def sign(countersign_id: int) -> ResponseReturnValue:
    body = json_body()
    return jsonify(countersign.sign(ctx(), countersign_id, auth.actor(), body.get("decision"), body.get("opinion")))


@bp.post("/countersigns/<id:countersign_id>/cancel")
@api("撤销尚未签署的加签（任务的办理人）", tag="加签", responses={200: COUNTERSIGN})
def cancel(countersign_id: int) -> ResponseReturnValue:
    return jsonify(countersign.cancel(ctx(), countersign_id, auth.actor()))
