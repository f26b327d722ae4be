"""第七条(五) and 第六条: a budget year's lists (compiled by 市大数据局, co-signed by 市财政局,
approved by 市政府; main list and 追加清单) and the declaration windows with 预算安排完成."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.domain.access import (
    require_list_approver,
    require_list_compiler,
    require_list_cosigner,
    require_window_manager,
)
from service.domain.errors import FieldError, NotFound, ValidationFailed
from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj
from service.http.views.common import ctx
from service.operations import annual_list, annual_list_reads, budget_arrangement

bp = Blueprint("annual_lists", __name__, url_prefix="/api/annual-lists")

TEXT = {"type": "string", "maxLength": 2000}
AMOUNTS = {"type": "object", "description": "项目 id → 批准金额（万元）",
           "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1e9}}
APPROVAL = obj({"approved": AMOUNTS, "document_no": {"type": "string", "minLength": 1, "maxLength": 100},
                "reasons": {"type": "object", "description": "项目 id → 批准金额高于预算评审建议的理由",
                            "additionalProperties": {"type": "string", "maxLength": 2000}}},
               ["approved", "document_no"])
DRAFT = obj({"entries": {"type": "array", "maxItems": 2000, "items": obj(
    {"project_id": {"type": "integer", "minimum": 1}, "priority": {"type": ["integer", "null"], "minimum": 1,
                                                                   "maximum": 999},
     "remark": {"type": ["string", "null"], "maxLength": 500}}, ["project_id"])},
    "note": {"type": ["string", "null"], "maxLength": 2000}, "revision": {"type": ["integer", "null"]}},
    ["entries"])
WINDOW = obj({"opens_on": {"type": "string", "format": "date"}, "closes_on": {"type": "string", "format": "date"}},
             ["opens_on", "closes_on"])
RESULT = obj({"released": {"type": "array"}, "left_off": {"type": "array"}}, extra=True)


def _amounts(raw: object, field: str, *, text: bool = False) -> dict[int, Any]:
    if raw is None and text:
        return {}
    if not isinstance(raw, dict):
        raise ValidationFailed([FieldError(field, f"{field}：应为 项目id → {'理由' if text else '金额'} 的对象")])
    out, errors = {}, []
    for key, value in raw.items():
        if not str(key).isdigit() or not 0 < int(key) < 2**31:
            errors.append(FieldError(f"{field}/{key}", "项目 id 应为正整数"))
        elif text:
            if not isinstance(value, str) or len(value) > 2000:
                errors.append(FieldError(f"{field}/{key}", "理由：应为不超过 2000 字的文本"))
            else:
                out[int(key)] = value
        elif isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1e9:
            errors.append(FieldError(f"{field}/{key}", "批准金额应为 0 以上的数字（万元）"))
        else:
            out[int(key)] = float(value)
    if errors:
        raise ValidationFailed(errors)
    return out


def _text(body: dict[str, Any], name: str, label: str, limit: int = 2000) -> str | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise ValidationFailed([FieldError(name, f"{label}：应为不超过 {limit} 字的文本")])
    return value


def _approve(budget_year: int, list_id: int | None) -> ResponseReturnValue:
    require_list_approver(auth.actor())  # who, before what: another unit's malformed body is a 403
    body = json_body()
    doc = _text(body, "document_no", "文号", 100)
    result = annual_list.approve(ctx(), budget_year, _amounts(body.get("approved"), "approved"), auth.actor(), doc,
                                 reasons=_amounts(body.get("reasons"), "reasons", text=True), list_id=list_id)
    return jsonify({"budget_year": result.budget_year, "list_id": result.list_id, "seq": result.seq,
                    "released": result.released, "left_off": result.left_off})


@bp.get("/<year:budget_year>")
@api("某预算年度的清单（主清单、追加清单）、等待批准的项目及其预算评审建议金额（市大数据局、市财政局、市政府、督办）",
     tag="年度清单", responses={200: obj({"budget_year": {"type": "integer"}}, extra=True)})
def overview(budget_year: int) -> ResponseReturnValue:
    return jsonify(annual_list_reads.year_overview(ctx(), budget_year, auth.actor()))


@bp.post("/<year:budget_year>")
@api("市政府批准本年度已会签的清单（文号必填；列入的项目进入建设，清单中未列入的以未列入清单结束）", tag="年度清单",
     body=APPROVAL, responses={200: RESULT})
def approve(budget_year: int) -> ResponseReturnValue:
    return _approve(budget_year, None)


@bp.put("/<year:budget_year>/draft")
@api("市大数据局编制（保存）本年度的建议清单或追加清单草稿", tag="年度清单", body=DRAFT,
     responses={200: obj({"list_id": {"type": "integer"}}, extra=True)})
def compile_draft(budget_year: int) -> ResponseReturnValue:
    require_list_compiler(auth.actor())
    body = json_body()
    entries = body.get("entries")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValidationFailed([FieldError("entries", "entries：应为 {project_id, priority, remark} 的列表")])
    revision = body.get("revision")
    if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int)):
        raise ValidationFailed([FieldError("revision", "revision：应为整数")])
    list_id = annual_list.compile_list(ctx(), budget_year, entries, auth.actor(),
                                       note=_text(body, "note", "说明"), revision=revision)
    return jsonify({"list_id": list_id})


@bp.post("/<year:budget_year>/lists/<id:list_id>/cosign")
@api("市财政局会签建议清单（会同），报市政府", tag="年度清单", body=obj({"opinion": TEXT}))
def cosign(budget_year: int, list_id: int) -> ResponseReturnValue:
    require_list_cosigner(auth.actor())  # who, before what
    body = json_body()
    annual_list.cosign(ctx(), _list_of(budget_year, list_id), auth.actor(), _text(body, "opinion", "会签意见"))
    return jsonify({"list_id": list_id, "status": "cosigned"})


@bp.post("/<year:budget_year>/lists/<id:list_id>/send-back")
@api("退回建议清单给市大数据局修改（市财政局，或市政府退回已会签的清单）", tag="年度清单",
     body=obj({"reason": TEXT}, ["reason"]))
def send_back(budget_year: int, list_id: int) -> ResponseReturnValue:
    body = json_body()
    annual_list.send_back(ctx(), _list_of(budget_year, list_id), _text(body, "reason", "退回理由") or "",
                          auth.actor())
    return jsonify({"list_id": list_id, "status": "draft"})


@bp.post("/<year:budget_year>/lists/<id:list_id>/approve")
@api("市政府批准指定的清单（主清单或追加清单）", tag="年度清单", body=APPROVAL, responses={200: RESULT})
def approve_list(budget_year: int, list_id: int) -> ResponseReturnValue:
    return _approve(budget_year, list_id)


def _list_of(budget_year: int, list_id: int) -> int:
    if annual_list.year_of(ctx(), list_id) != budget_year:
        raise NotFound("年度项目清单不存在")
    return list_id


# -- 第六条: declaration windows and 预算安排完成 ----------------------------------------------------


@bp.get("/windows")
@api("各预算年度的申报期与预算安排完成情况", tag="年度清单",
     responses={200: obj({"items": {"type": "array"}}, extra=True)})
def windows() -> ResponseReturnValue:
    return jsonify({"items": budget_arrangement.list_windows(ctx(), auth.actor())})


def _date(body: dict[str, Any], name: str, label: str) -> dt.date:
    raw = body.get(name)
    try:
        if not isinstance(raw, str):
            raise ValueError
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed([FieldError(name, f"{label}：应为日期 YYYY-MM-DD")]) from None


@bp.put("/<year:budget_year>/window")
@api("设置某预算年度的申报期（督办、管理员；第六条）", tag="年度清单", body=WINDOW)
def set_window(budget_year: int) -> ResponseReturnValue:
    require_window_manager(auth.actor())  # who, before what
    body = json_body()
    opens, closes = _date(body, "opens_on", "申报开始日期"), _date(body, "closes_on", "申报截止日期")
    budget_arrangement.set_window(ctx(), budget_year, opens, closes, auth.actor())
    return jsonify({"budget_year": budget_year, "opens_on": opens.isoformat(), "closes_on": closes.isoformat()})


@bp.post("/<year:budget_year>/budget-arranged")
@api("确认某预算年度预算安排完成：此后只接受紧急项目申报，等待清单的非紧急项目以未列入清单结束（督办、管理员；第六条）",
     tag="年度清单", responses={200: obj({"ended": {"type": "array"}}, extra=True)})
def budget_arranged(budget_year: int) -> ResponseReturnValue:
    done = budget_arrangement.mark_budget_arranged(ctx(), budget_year, auth.actor())
    return jsonify({"budget_year": done.budget_year, "ended": done.ended,
                    "urgent_still_waiting": done.still_waiting_urgent})
