"""Task forms admin: everyone signed in reads the forms; designers validate and save revisions."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj
from service.http.views.common import ctx
from service.operations import form_admin

bp = Blueprint("forms", __name__, url_prefix="/api/forms")

NULLABLE_TEXT = {"type": "string", "nullable": True}
SOURCE = {"type": "string", "enum": ["file", "db"]}
FORM_ROW = obj({"name": {"type": "string"}, "title": {"type": "string"}, "revision": {"type": "integer"},
                "source": SOURCE, "tasks": {"type": "array", "items": {"type": "string"}}},
               ["name", "title", "revision", "source", "tasks"], extra=True)
FORM = obj({"name": {"type": "string"}, "schema": {"type": "object"}, "revision": {"type": "integer"},
            "source": SOURCE, "saved_by": NULLABLE_TEXT, "saved_at": NULLABLE_TEXT},
           ["name", "schema", "revision", "source", "saved_by", "saved_at"], extra=True)
SCHEMA_BODY = obj({"schema": {"type": "object", "description": "JSON Schema（draft 2020-12）"}}, ["schema"])
ISSUES = {"type": "array", "items": obj({"path": {"type": "string"}, "message": {"type": "string"}},
                                       ["path", "message"])}
SAVED = obj({"name": {"type": "string"}, "revision": {"type": "integer"}, "checksum": {"type": "string"},
             "source": SOURCE, "saved_by": {"type": "string"}, "saved_at": {"type": "string"}}, extra=True)


@bp.get("")
@api("任务表单列表：版本、来源（文件/数据库）、使用该表单的用户任务", tag="表单",
     responses={200: {"type": "array", "items": FORM_ROW}})
def list_() -> ResponseReturnValue:
    auth.actor()
    return jsonify(form_admin.list_forms(ctx()))


@bp.get("/<name>")
@api("一个表单的当前 JSON Schema 及其版本", tag="表单", responses={200: FORM})
def get(name: str) -> ResponseReturnValue:
    auth.actor()
    return jsonify(form_admin.get_form(ctx(), name))


@bp.post("/<name>/validate")
@api("校验表单定义（不保存）：JSON Schema、示例数据、流程输出字段约定", tag="表单", body=SCHEMA_BODY,
     responses={200: obj({"valid": {"type": "boolean"}, "issues": ISSUES}, ["valid", "issues"])})
def validate(name: str) -> ResponseReturnValue:
    return jsonify(form_admin.validate(ctx(), name, json_body().get("schema"), auth.actor()))


@bp.put("/<name>")
@api("保存表单新版本（设计人员）；不合格时 422 并列出 issues", tag="表单", body=SCHEMA_BODY, responses={200: SAVED})
def save(name: str) -> ResponseReturnValue:
    return jsonify(form_admin.save(ctx(), name, json_body().get("schema"), auth.actor()))
