"""第七条(五): 市政府 approves a budget year's project list."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.domain.errors import FieldError, ValidationFailed
from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj
from service.http.views.common import ctx
from service.operations import annual_list

bp = Blueprint("annual_lists", __name__, url_prefix="/api/annual-lists")

BODY = obj({"approved": {"type": "object", "description": "项目 id → 批准金额（万元）",
                         "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1e9}},
            "document_no": {"type": "string", "maxLength": 100}}, ["approved"])


def _approved(raw: object) -> dict[int, float]:
    if not isinstance(raw, dict):
        raise ValidationFailed([FieldError("approved", "approved：应为 项目id → 金额 的对象")])
    out, errors = {}, []
    for key, amount in raw.items():
        if not str(key).isdigit() or not 0 < int(key) < 2**31:
            errors.append(FieldError(f"approved/{key}", "项目 id 应为正整数"))
        elif isinstance(amount, bool) or not isinstance(amount, int | float) or not 0 <= amount <= 1e9:
            errors.append(FieldError(f"approved/{key}", "批准金额应为 0 以上的数字（万元）"))
        else:
            out[int(key)] = float(amount)
    if errors:
        raise ValidationFailed(errors)
    return out


@bp.post("/<year:budget_year>")
@api("市政府批准年度项目清单（列入的项目进入建设，其余以未列入清单结束）", tag="年度清单", body=BODY,
     responses={200: obj({"released": {"type": "array"}, "left_off": {"type": "array"}}, extra=True)})
def approve(budget_year: int) -> ResponseReturnValue:
    body = json_body()
    doc_no = body.get("document_no")
    if doc_no is not None and (not isinstance(doc_no, str) or len(doc_no) > 100):
        raise ValidationFailed([FieldError("document_no", "文号：应为不超过 100 字的文本")])
    result = annual_list.approve(ctx(), budget_year, _approved(body.get("approved")), auth.actor(), doc_no)
    return jsonify({"budget_year": result.budget_year, "released": result.released, "left_off": result.left_off})
