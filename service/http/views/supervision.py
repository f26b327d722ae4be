"""Deadlines and supervision (督办): in-app notifications, escalations, 黄牌/红牌 warnings, the
clock of a task (补正 pause/resume, 延期), late statutory filings and rectifications (第二十七条)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.domain.access import require_overseer, require_supervisor
from service.domain.errors import FieldError, Forbidden, ValidationFailed
from service.domain.visibility import reads_everything
from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj, q
from service.http.views.common import bool_arg, choice_arg, ctx, int_arg, str_arg
from service.operations import clocks, late_filings, notifications, organisation, warnings

bp = Blueprint("supervision", __name__, url_prefix="/api")

TEXT = {"type": "string", "minLength": 1, "maxLength": 2000}
KINDS = ("remind_before", "remind_due", "escalation")
LIST = {200: {"type": "array", "items": {"type": "object"}}}


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def _row(obj_: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    out = {f: _iso(getattr(obj_, f)) for f in fields}
    if hasattr(obj_, "unit"):
        out["unit"] = obj_.unit.name
    return out


def _text(body: dict[str, Any], name: str, label: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > 2000:
        raise ValidationFailed([FieldError(name, f"{label}：不能为空，且不超过 2000 字")])
    return value.strip()


def _date(body: dict[str, Any], name: str, label: str) -> dt.date:
    value = body.get(name)
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None  # type: ignore[return-value]
    except ValueError:
        pass
    raise ValidationFailed([FieldError(name, f"{label}：应为日期（YYYY-MM-DD）")])


NOTIFICATION_FIELDS = ("id", "work_item_id", "project_id", "kind", "level", "subject", "body", "created_at",
                       "read_at", "read_by")


@bp.get("/notifications")
@api("本单位的站内消息（提醒、督办），最新在前", tag="督办",
     query=[q("unread", {"type": "boolean"}), q("kind", {"type": "string", "enum": list(KINDS)})],
     responses=LIST)
def list_notifications() -> ResponseReturnValue:
    kind = str_arg("kind", 20)
    if kind is not None and kind not in KINDS:
        raise ValidationFailed([FieldError("kind", f"kind：只能是 {'、'.join(KINDS)} 之一")])
    rows = notifications.inbox(ctx(), auth.actor(), unread_only=bool_arg("unread"), kind=kind)
    return jsonify([{**_row(n, NOTIFICATION_FIELDS), **notifications.in_app_view(n)} for n in rows])


@bp.post("/notifications/<id:notification_id>/read")
@api("标记站内消息为已读（仅消息所属单位；督办、审计只读不代标）", tag="督办",
     responses={200: obj({"ok": {"type": "boolean"}})})
def read_notification(notification_id: int) -> ResponseReturnValue:
    notifications.mark_read(ctx(), notification_id, auth.actor())
    return jsonify({"ok": True})


@bp.get("/escalations")
@api("督办：逾期升级记录（按单位、阶段、级别筛选）", tag="督办",
     query=[q("unit", {"type": "string", "maxLength": 100}), q("stage", {"type": "string", "maxLength": 40}),
            q("min_level", {"type": "integer", "minimum": 1, "maximum": 9})], responses=LIST)
def list_escalations() -> ResponseReturnValue:
    require_overseer(auth.actor())
    rows = notifications.escalations(ctx(), unit=str_arg("unit"), stage=str_arg("stage", 40),
                                     min_level=int_arg("min_level", minimum=1, maximum=9, default=1) or 1)
    return jsonify([_row(n, NOTIFICATION_FIELDS) for n in rows])


def _warning_view(w: Any) -> dict[str, Any]:
    return {k: _iso(v) for k, v in dataclasses.asdict(w).items()}


@bp.get("/warnings")
@api("黄牌（用时超过预警比例）/红牌（逾期）任务；督办人员看全部，其他人员只看本单位", tag="督办",
     query=[q("unit", {"type": "string", "maxLength": 100}), q("stage", {"type": "string", "maxLength": 40}),
            q("project_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})], responses=LIST)
def list_warnings() -> ResponseReturnValue:
    actor = auth.actor()
    unit = str_arg("unit")
    if not reads_everything(actor):
        if actor.unit is None:
            raise Forbidden("当前角色不能查看预警")
        if unit not in (None, actor.unit):
            raise Forbidden("无权查看其他单位的预警")
        unit = actor.unit
    rows = warnings.warnings(ctx(), unit=unit, stage=str_arg("stage", 40), project_id=int_arg("project_id", minimum=1))
    return jsonify([_warning_view(w) for w in rows])


@bp.get("/warnings/summary")
@api("督办看板：按单位或阶段统计黄牌、红牌数", tag="督办",
     query=[q("by", {"type": "string", "enum": ["unit", "stage"]})], responses={200: {"type": "object"}})
def warnings_summary() -> ResponseReturnValue:
    require_overseer(auth.actor())
    return jsonify(warnings.summary(ctx(), by=choice_arg("by", ("unit", "stage"), "unit")))


@bp.post("/tasks/<id:task_id>/pause")
@api("补正：暂停办理时限（暂停期间的工作日不计入）", tag="督办", body=obj({"reason": TEXT}, ["reason"]),
     responses={200: obj({"ok": {"type": "boolean"}})})
def pause(task_id: int) -> ResponseReturnValue:
    reason = json_body().get("reason")
    # Validated by clocks.pause after its permission check: a foreign unit learns nothing.
    clocks.pause(ctx(), task_id, reason if isinstance(reason, str) else "", auth.actor())
    return jsonify({"ok": True})


@bp.post("/tasks/<id:task_id>/resume")
@api("补正材料已到：恢复办理时限，期限顺延暂停的工作日", tag="督办",
     responses={200: obj({"paused_working_days": {"type": "integer"}})})
def resume(task_id: int) -> ResponseReturnValue:
    return jsonify({"paused_working_days": clocks.resume(ctx(), task_id, auth.actor())})


@bp.post("/tasks/<id:task_id>/extend")
@api("延期：督办人员按工作日延长办理时限，须说明理由", tag="督办",
     body=obj({"working_days": {"type": "integer", "minimum": 1, "maximum": 250}, "reason": TEXT},
              ["working_days", "reason"]),
     responses={200: obj({"due_date": {"type": "string", "format": "date"}})})
def extend(task_id: int) -> ResponseReturnValue:
    body = json_body()
    reason = body.get("reason")
    # Validated by clocks.extend after its permission check.
    due = clocks.extend(ctx(), task_id, body.get("working_days"), reason if isinstance(reason, str) else "",
                        auth.actor())
    return jsonify({"due_date": due.isoformat()})


LATE_FIELDS = ("id", "project_id", "work_item_id", "unit_id", "task_name", "article", "due_date",
               "recorded_at", "rectification_id")
RECT_FIELDS = ("id", "unit_id", "reason", "article", "opened_by", "opened_at", "due_date", "closed_by", "closed_at")


@bp.get("/late-filings")
@api("逾期的法定备案（第十二、十五、二十四、二十五条），记在单位名下", tag="督办",
     query=[q("unit", {"type": "string", "maxLength": 100}), q("open_only", {"type": "boolean"})], responses=LIST)
def list_late_filings() -> ResponseReturnValue:
    require_overseer(auth.actor())
    rows = late_filings.list_late(ctx(), unit=str_arg("unit"), open_only=bool_arg("open_only"))
    return jsonify([_row(r, LATE_FIELDS) for r in rows])


@bp.get("/rectifications")
@api("整改记录（第二十七条：整改完成前该单位不得申报）", tag="督办",
     query=[q("unit", {"type": "string", "maxLength": 100}), q("open_only", {"type": "boolean"})], responses=LIST)
def list_rectifications() -> ResponseReturnValue:
    require_overseer(auth.actor())
    rows = organisation.list_rectifications(ctx(), unit=str_arg("unit"), open_only=bool_arg("open_only"))
    return jsonify([_row(r, RECT_FIELDS) for r in rows])


@bp.post("/rectifications")
@api("发起整改：依据逾期备案记录，或直接指定单位；限期完成", tag="督办",
     body=obj({"late_filing_ids": {"type": "array", "items": {"type": "integer", "minimum": 1,
                                                                 "maximum": 2**31 - 1}, "maxItems": 100},
               "unit": {"type": "string", "maxLength": 100}, "reason": TEXT,
               "due_date": {"type": "string", "format": "date"}}, ["due_date"]),
     responses={201: obj({"id": {"type": "integer"}})})
def open_rectification() -> ResponseReturnValue:
    body = json_body()
    actor = auth.actor()
    require_supervisor(actor)
    due = _date(body, "due_date", "整改期限")
    ids = body.get("late_filing_ids")
    if ids:
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31
                                                for i in ids):
            raise ValidationFailed([FieldError("late_filing_ids", "逾期备案记录：应为正整数列表")])
        reason = body.get("reason") if isinstance(body.get("reason"), str) and body["reason"].strip() else None
        rid = late_filings.open_from_late(ctx(), ids, actor, due_date=due, reason=reason)
    else:
        unit = body.get("unit")
        if not isinstance(unit, str) or not unit.strip():
            raise ValidationFailed([FieldError("unit", "整改单位：必填（或指定逾期备案记录）")])
        rid = organisation.open_rectification(ctx(), unit, _text(body, "reason", "整改事由"), actor, due_date=due)
    return jsonify({"id": rid}), 201


@bp.post("/rectifications/<id:rectification_id>/close")
@api("整改完成：关闭整改（记入审计）", tag="督办", body=obj({"note": {"type": "string", "maxLength": 2000}}),
     responses={200: obj({"ok": {"type": "boolean"}})})
def close_rectification(rectification_id: int) -> ResponseReturnValue:
    body = json_body()
    note = body.get("note") if isinstance(body.get("note"), str) else ""
    late_filings.close(ctx(), rectification_id, auth.actor(), note=note[:2000])
    return jsonify({"ok": True})
