"""批量办理: several batchable tasks completed with one set of values (docs/approval-actions.md)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj
from service.http.views.common import ctx
from service.operations import batch

bp = Blueprint("batch", __name__, url_prefix="/api/tasks")

BODY = obj({"ids": {"type": "array", "minItems": 1, "maxItems": batch.MAX_ITEMS,
                    "items": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    "description": f"任务编号（重复的只办理一次，最多 {batch.MAX_ITEMS} 项）"},
            "data": {"type": "object", "description": "同一组表单数据，逐项按各任务的表单校验"}}, ["ids", "data"])
RESULT = obj({"id": {"type": "integer"}, "ok": {"type": "boolean"}, "title": {"type": "string", "nullable": True},
              "project_code": {"type": "string", "nullable": True},
              "error": {"type": "string", "description": "未办理的原因（ok 为 false 时）"},
              "errors": {"type": "array", "items": {"type": "object"}, "description": "表单字段错误"}}, ["id", "ok"],
             extra=True)


@bp.post("/batch-complete")
@api("批量办理：表单标记为可批量办理（x-batchable）的任务用同一组数据逐项办结，每项单独提交、单独留痕；"
     "部分失败也返回 200，逐项说明结果", tag="任务", body=BODY,
     responses={200: obj({"results": {"type": "array", "items": RESULT}, "succeeded": {"type": "integer"},
                          "failed": {"type": "integer"}})})
def batch_complete() -> ResponseReturnValue:
    body = json_body()
    return jsonify(batch.complete_many(ctx(), body.get("ids"), body.get("data"), auth.actor()))
