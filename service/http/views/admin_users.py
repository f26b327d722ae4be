"""User administration (admins only; others 403): people, their units and roles (docs/people.md)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj
from service.http.views.common import ctx
from service.operations import user_admin

bp = Blueprint("admin_users", __name__, url_prefix="/api/admin")

ADMIN_USER = obj({"id": {"type": "integer"}, "username": {"type": "string"}, "display_name": {"type": "string"},
                  "unit": {"type": "string", "nullable": True}, "roles": {"type": "array", "items": {"type": "string"}},
                  "phone": {"type": "string"}, "email": {"type": "string"}, "active": {"type": "boolean"}}, extra=True)
_EDIT = {"display_name": {"type": "string", "minLength": 1, "maxLength": 50},
         "phone": {"type": "string", "maxLength": 40}, "email": {"type": "string", "maxLength": 200},
         "unit": {"type": "string", "maxLength": 100, "nullable": True},
         "roles": {"type": "array", "items": {"type": "string", "enum": sorted(user_admin.ROLE_LABELS)}}}
CREATE = obj({"username": {"type": "string", "minLength": 2, "maxLength": 50},
              "password": {"type": "string", "minLength": 1, "maxLength": 200}, **_EDIT},
             ["username", "password", "display_name", "roles"])
EDIT = obj(_EDIT)
PASSWORD = obj({"password": {"type": "string", "minLength": 1, "maxLength": 200}}, ["password"])


@bp.get("/users")
@api("用户列表：姓名、用户名、单位、角色、电话、邮箱、是否在岗（管理员）", tag="用户管理",
     responses={200: {"type": "array", "items": ADMIN_USER}})
def users() -> ResponseReturnValue:
    return jsonify(user_admin.list_users(ctx(), auth.actor()))


@bp.get("/units")
@api("单位列表（管理员分配用户单位用）", tag="用户管理",
     responses={200: {"type": "array", "items": obj({"id": {"type": "integer"}, "name": {"type": "string"},
                                                     "kind": {"type": "string"}})}})
def units() -> ResponseReturnValue:
    return jsonify(user_admin.list_units(ctx(), auth.actor()))


@bp.post("/users")
@api("新建用户（初始密码须符合密码规则；用户名重复 409）", tag="用户管理", body=CREATE,
     responses={201: ADMIN_USER})
def create() -> ResponseReturnValue:
    return jsonify(user_admin.create(ctx(), auth.actor(), json_body(), address=auth.address())), 201


@bp.put("/users/<username>")
@api("修改用户的姓名、电话、邮箱、单位、角色（改单位或角色时该用户需重新登录）", tag="用户管理", body=EDIT,
     responses={200: ADMIN_USER})
def edit(username: str) -> ResponseReturnValue:
    return jsonify(user_admin.update(ctx(), auth.actor(), username, json_body(), address=auth.address()))


@bp.post("/users/<username>/deactivate")
@api("停用用户（其会话和令牌立即失效；不能停用自己或最后一位管理员）", tag="用户管理",
     responses={200: ADMIN_USER})
def deactivate(username: str) -> ResponseReturnValue:
    return jsonify(user_admin.set_active(ctx(), auth.actor(), username, False, address=auth.address()))


@bp.post("/users/<username>/reactivate")
@api("重新启用用户", tag="用户管理", responses={200: ADMIN_USER})
def reactivate(username: str) -> ResponseReturnValue:
    return jsonify(user_admin.set_active(ctx(), auth.actor(), username, True, address=auth.address()))


@bp.post("/users/<username>/password")
@api("重置用户密码（结束该用户的所有会话和令牌）", tag="用户管理", body=PASSWORD, responses={200: ADMIN_USER})
def reset_password(username: str) -> ResponseReturnValue:
    return jsonify(user_admin.reset_password(ctx(), auth.actor(), username, json_body().get("password"),
                                             address=auth.address()))
