"""抄送: copy a task or a project to units or people; 抄送我的; marking a copy read
(service.operations.carbon_copy decides who may)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.domain.errors import FieldError, ValidationFailed
from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj, q
from service.http.views.common import bool_arg, ctx, int_arg, str_arg
from service.http.views.lists import PAGING, SEARCH, _page, page_of
from service.operations import carbon_copy

bp = Blueprint("carbon_copies", __name__, url_prefix="/api")

NAMES = {"type": "array", "maxItems": carbon_copy.MAX_RECIPIENTS,
         "items": {"type": "string", "minLength": 1, "maxLength": 100}}
BODY = obj({"units": {**NAMES, "description": "抄送单位（单位名称）"},
            "users": {**NAMES, "description": "抄送人员（用户名）"},
            "note": {"type": "string", "maxLength": carbon_copy.MAX_NOTE, "description": "抄送说明"}})
COPY = obj({"id": {"type": "integer"}, "project_id": {"type": "integer"},
            "work_item_id": {"type": "integer", "nullable": True}, "to_unit": {"type": "string", "nullable": True},
            "to_user": {"type": "string", "nullable": True}, "note": {"type": "string"},
            "sent_by": {"type": "string"}, "sent_at": {"type": "string"},
            "read_at": {"type": "string", "nullable": True}}, extra=True)
SENT = obj({"sent": {"type": "array", "items": COPY}}, ["sent"])


def _names(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed([FieldError(key, f"{key}：应为列表")])
    return value


def _note(body: dict[str, Any]) -> str | None:
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise ValidationFailed([FieldError("note", "抄送说明：应为文本")])
    return note


@bp.post("/tasks/<id:task_id>/cc")
@api("抄送任务：单位（全体成员可见）或人员，附说明；对方只读查看该任务和项目档案，并收到站内消息", tag="任务",
     body=BODY, responses={200: SENT})
def copy_task(task_id: int) -> ResponseReturnValue:
    body = json_body()
    return jsonify(carbon_copy.send_task(ctx(), task_id, auth.actor(), units=_names(body, "units"),
                                         users=_names(body, "users"), note=_note(body)))


@bp.post("/projects/<id:project_id>/cc")
@api("抄送项目：单位或人员，附说明；对方只读查看项目档案，并收到站内消息", tag="项目", body=BODY,
     responses={200: SENT})
def copy_project(project_id: int) -> ResponseReturnValue:
    body = json_body()
    return jsonify(carbon_copy.send_project(ctx(), project_id, auth.actor(), units=_names(body, "units"),
                                            users=_names(body, "users"), note=_note(body)))


@bp.get("/cc")
@api("抄送我的：抄送给我和本单位的任务、项目（最新在前），按项目编号或名称搜索，只看未读，分页", tag="任务",
     query=[SEARCH, q("unread", {"type": "boolean"}, "只看未读"), *PAGING], responses={200: page_of(COPY)})
def copied_to_me() -> ResponseReturnValue:
    return jsonify(carbon_copy.for_me(ctx(), auth.actor(), q=str_arg("q"), unread=bool_arg("unread"), page=_page()))


@bp.get("/cc/recipients")
@api("可抄送的单位和人员（姓名、单位）；带 task_id 或 project_id 时，无权抄送即拒绝（页面据此显示“抄送”）", tag="任务",
     query=[q("task_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
            q("project_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})],
     responses={200: obj({"units": {"type": "array"}, "users": {"type": "array"}})})
def recipients() -> ResponseReturnValue:
    return jsonify(carbon_copy.directory(ctx(), auth.actor(), task_id=int_arg("task_id", minimum=1),
                                         project_id=int_arg("project_id", minimum=1)))


@bp.get("/cc/<id:copy_id>")
@api("一条抄送（抄送对象和发送人可见）", tag="任务", responses={200: COPY})
def get_copy(copy_id: int) -> ResponseReturnValue:
    return jsonify(carbon_copy.get(ctx(), copy_id, auth.actor()))


@bp.post("/cc/<id:copy_id>/read")
@api("抄送标为已读（抄送给单位的，本单位任一成员标记即为已读）", tag="任务", responses={200: COPY})
def read_copy(copy_id: int) -> ResponseReturnValue:
    return jsonify(carbon_copy.mark_read(ctx(), copy_id, auth.actor()))
