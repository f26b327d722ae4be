"""Tasks: the inbox, one task with its form, and the approval actions (认领, 办理, 转办, 委派, 退回, 意见)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.domain.errors import FieldError, ValidationFailed
from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj, q
from service.http.views.common import bool_arg, choice_arg, ctx, int_arg, str_arg
from service.http.views.projects import FORM_BODY, form_data
from service.operations import drafts, project_file, readers, task_actions, tasks, withdraw, worklists

bp = Blueprint("tasks", __name__, url_prefix="/api/tasks")

TASK = obj({"id": {"type": "integer"}, "title": {"type": "string"}, "unit": {"type": "string"},
            "state": {"type": "string"}, "due_date": {"type": "string", "nullable": True}}, extra=True)
INBOX_ROW = obj({**TASK["properties"],
                 "working_days_left": {"type": "integer", "nullable": True,
                                       "description": "距期限的法定工作日数（逾期为负，无期限为 null）"},
                 "warning": {"type": "string", "enum": ["yellow", "red"], "nullable": True,
                             "description": "黄牌/红牌预警（正常为 null）"},
                 "paused": {"type": "boolean", "description": "补正中，办理时限已暂停"},
                 "clock_label": {"type": "string", "nullable": True,
                                 "description": "期限状态：正常/黄牌/红牌/已暂停计时（补正：理由）"}}, extra=True)
USER_BODY = obj({"user": {"type": "string", "minLength": 1, "maxLength": 100}}, ["user"])
OK = obj({"ok": {"type": "boolean"}}, extra=True)


def _string(name: str, max_length: int) -> str:
    value = json_body().get(name)
    if not isinstance(value, str):
        raise ValidationFailed([FieldError(name, f"{name}：应为文本")])
    if len(value) > max_length:
        raise ValidationFailed([FieldError(name, f"{name}：不能超过 {max_length} 个字")])
    return value


@bp.get("")
@api("我的待办：本单位泳道的任务（mine=true 只看我认领的）；督办/审计看全部", tag="任务",
     query=[q("stage", {"type": "string", "maxLength": 40}), q("project_id", {"type": "integer", "minimum": 1,
                                                                              "maximum": 2**31 - 1}),
            q("unit", {"type": "string", "maxLength": 100}, "仅督办/审计"), q("mine", {"type": "boolean"}),
            q("sort", {"type": "string", "enum": ["due", "-due", "created"]}, "due 期限最近在前"),
            q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
            q("offset", {"type": "integer", "minimum": 0, "maximum": 1000000})],
     responses={200: {"type": "array", "items": INBOX_ROW}})
def inbox() -> ResponseReturnValue:
    return jsonify(readers.inbox(
        ctx(), auth.actor(), stage=str_arg("stage", 40), project_id=int_arg("project_id", minimum=1),
        unit=str_arg("unit"), mine=bool_arg("mine"), sort=choice_arg("sort", ("due", "-due", "created"), "due"),
        limit=int_arg("limit", minimum=1, maximum=1000, default=200) or 200,
        offset=int_arg("offset", maximum=1_000_000, default=0) or 0))


@bp.get("/<id:task_id>")
@api("任务详情：表单 JSON Schema、当前数据、可退回的步骤、意见", tag="任务", responses={200: TASK})
def get(task_id: int) -> ResponseReturnValue:
    return jsonify(task_actions.get_task(ctx(), task_id, auth.actor()))


FILE_STEP = obj({"id": {"type": "integer"}, "task": {"type": "string"}, "title": {"type": "string"},
                 "unit": {"type": "string"}, "completed_at": {"type": "string", "nullable": True},
                 "schema": {"type": "object", "nullable": True}, "data": {"type": "object"},
                 "summary": {"type": "array", "items": {"type": "object"},
                             "description": "该步骤的决定：结论、金额等关键字段"},
                 "attachments": {"type": "object", "description": "字段路径 → 该字段的附件"}}, extra=True)
FILE = obj({"project_id": {"type": "integer"}, "steps": {"type": "array", "items": FILE_STEP,
                                                          "description": "已办步骤，最新在前"}}, extra=True)
BRANCHES = obj({"tasks": {"type": "array", "items": {"type": "string"}},
                "rows": {"type": "array", "items": {"type": "object"}}}, extra=True)
TASK_FILE = obj({**FILE["properties"], "work_item_id": {"type": "integer"},
                 "branches": {**BRANCHES, "nullable": True,
                              "description": "汇总步骤的各并行分支（部门、结论、关键数字、意见、办理人、时间）"}},
                extra=True)


@bp.get("/<id:task_id>/file")
@api("任务的项目档案：此前各步骤提交的表单（只读，最新在前），汇总步骤另附各并行分支的结论对照", tag="任务",
     responses={200: TASK_FILE})
def file(task_id: int) -> ResponseReturnValue:
    return jsonify(project_file.task_file(ctx(), task_id, auth.actor()))


@bp.post("/<id:task_id>/claim")
@api("认领", tag="任务", responses={200: OK})
def claim(task_id: int) -> ResponseReturnValue:
    tasks.claim(ctx(), task_id, auth.actor())
    return jsonify({"ok": True})


@bp.post("/<id:task_id>/unclaim")
@api("取消认领", tag="任务", responses={200: OK})
def unclaim(task_id: int) -> ResponseReturnValue:
    tasks.unclaim(ctx(), task_id, auth.actor())
    return jsonify({"ok": True})


@bp.post("/<id:task_id>/complete")
@api("办理（提交表单）；服务器按 JSON Schema 校验，422 时逐字段给出中文错误", tag="任务", body=FORM_BODY,
     responses={200: obj({"opened": {"type": "array", "items": {"type": "integer"}}}, extra=True)})
def complete(task_id: int) -> ResponseReturnValue:
    done = tasks.complete(ctx(), task_id, form_data(), auth.actor())
    return jsonify({"work_item_id": done.work_item_id, "project_id": done.project_id, "opened": done.opened,
                    "stage": done.stage, "status": done.status, "outcome": done.outcome,
                    # 后加签: the submission is held until the added signers have signed.
                    "held": done.held,
                    # Who acts next, for "已提交，下一步：…" (docs/lists.md).
                    "next": done.next if done.next is not None else worklists.next_steps(ctx(), done.opened)})


CANDIDATES = {"type": "array", "items": obj({"username": {"type": "string"}, "display_name": {"type": "string"},
                                             "unit": {"type": "string"}}, extra=True)}


@bp.get("/<id:task_id>/candidates")
@api("转办、委派可选的人员：任务所在单位的在岗用户（仅任务的办理人可查询）", tag="任务",
     responses={200: CANDIDATES})
def candidates(task_id: int) -> ResponseReturnValue:
    return jsonify(task_actions.candidates(ctx(), task_id, auth.actor()))


@bp.post("/<id:task_id>/reassign")
@api("转办：交给本单位另一用户", tag="任务", body=USER_BODY, responses={200: TASK})
def reassign(task_id: int) -> ResponseReturnValue:
    return jsonify(task_actions.reassign(ctx(), task_id, auth.actor(), _string("user", 100)))


@bp.post("/<id:task_id>/delegate")
@api("委派：本单位另一用户办理后交回", tag="任务", body=USER_BODY, responses={200: TASK})
def delegate(task_id: int) -> ResponseReturnValue:
    return jsonify(task_actions.delegate(ctx(), task_id, auth.actor(), _string("user", 100)))


@bp.post("/<id:task_id>/return")
@api("委派交回委派人", tag="任务", responses={200: TASK})
def return_delegation(task_id: int) -> ResponseReturnValue:
    return jsonify(task_actions.return_delegation(ctx(), task_id, auth.actor()))


@bp.post("/<id:task_id>/send-back")
@api("退回到流程允许的前序步骤（send_back_to）", tag="任务",
     body=obj({"to_task": {"type": "string", "minLength": 1, "maxLength": 100},
               "reason": {"type": "string", "minLength": 1, "maxLength": 2000}}, ["to_task", "reason"]),
     responses={200: obj({"opened": {"type": "array", "items": {"type": "integer"}}})})
def send_back(task_id: int) -> ResponseReturnValue:
    opened = task_actions.send_back(ctx(), task_id, auth.actor(), _string("to_task", 100), _string("reason", 2000))
    return jsonify({"opened": opened})


@bp.post("/<id:task_id>/withdraw")
@api("撤回（拿回）：本人办结的步骤，在下一步尚未认领、填写意见、暂存、上传附件或办结前收回；"
     "下一步任务取消，本步骤重新打开（原数据、原期限），409 说明不能撤回的原因", tag="任务",
     responses={200: obj({"work_item_id": {"type": "integer", "description": "重新打开的本步骤任务"},
                          "withdrawn_id": {"type": "integer"},
                          "cancelled": {"type": "array", "items": {"type": "integer"}}})})
def withdraw_task(task_id: int) -> ResponseReturnValue:
    done = withdraw.withdraw(ctx(), task_id, auth.actor())
    return jsonify({"work_item_id": done.work_item_id, "withdrawn_id": done.withdrawn_id,
                    "cancelled": done.cancelled})


@bp.post("/<id:task_id>/opinions")
@api("填写意见", tag="任务", body=obj({"text": {"type": "string", "minLength": 1, "maxLength": 2000}}, ["text"]),
     responses={201: obj({"id": {"type": "integer"}, "text": {"type": "string"}}, extra=True)})
def opinion(task_id: int) -> ResponseReturnValue:
    return jsonify(task_actions.add_opinion(ctx(), task_id, auth.actor(), _string("text", 2000))), 201


DRAFT = obj({"work_item_id": {"type": "integer"}, "data": {"type": "object"},
             "updated_at": {"type": "string", "description": "UTC"}})


@bp.get("/<id:task_id>/draft")
@api("读取我在该任务上的暂存（没有时 draft 为 null）", tag="任务",
     responses={200: obj({"draft": {**DRAFT, "nullable": True}})})
def draft_get(task_id: int) -> ResponseReturnValue:
    return jsonify({"draft": drafts.load(ctx(), task_id, auth.actor())})


@bp.put("/<id:task_id>/draft")
@api("暂存：保存尚未提交的表单（不校验必填项）；任务办结后自动删除", tag="任务", body=FORM_BODY,
     responses={200: DRAFT})
def draft_put(task_id: int) -> ResponseReturnValue:
    return jsonify(drafts.save(ctx(), task_id, auth.actor(), json_body().get("data")))


@bp.delete("/<id:task_id>/draft")
@api("删除我在该任务上的暂存", tag="任务", responses={200: obj({"ok": {"type": "boolean"},
                                                               "deleted": {"type": "boolean"}})})
def draft_delete(task_id: int) -> ResponseReturnValue:
    return jsonify({"ok": True, "deleted": drafts.discard(ctx(), task_id, auth.actor())})
