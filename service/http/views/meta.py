"""The OpenAPI document, the offline docs page, and the users a worker may hand a task to."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from service.http import auth
from service.http.spec import api, build, docs_page, obj, q
from service.http.views.common import ctx, str_arg
from service.operations import readers

bp = Blueprint("meta", __name__, url_prefix="/api")


@bp.get("/openapi.json")
@api("OpenAPI 3 文档", tag="文档", public=True, responses={200: {"type": "object"}})
def openapi() -> ResponseReturnValue:
    return jsonify(_doc())


@bp.get("/docs")
@api("浏览接口文档（离线可用）", tag="文档", public=True, produces="text/html", responses={200: {"type": "string"}})
def docs() -> ResponseReturnValue:
    # Its own policy (service.http.security_headers keeps it): one inline <style>, no script at all.
    return docs_page(_doc()), 200, {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy":
                                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
                                    "base-uri 'none'; form-action 'none'"}


def _doc() -> dict:  # type: ignore[type-arg]
    doc = current_app.extensions.get("govflow_openapi")
    if doc is None:
        doc = current_app.extensions["govflow_openapi"] = build(current_app)
    return doc  # type: ignore[no-any-return]


USER_LIST = {"type": "array", "items": obj({"username": {"type": "string"}}, extra=True)}


@bp.get("/users")
@api("本单位用户（转办、委派的对象）；督办和管理员可按单位查询", tag="用户",
     query=[q("unit", {"type": "string", "maxLength": 100}, "单位名称（仅督办/管理员）")], responses={200: USER_LIST})
def users() -> ResponseReturnValue:
    return jsonify(readers.unit_users(ctx(), auth.actor(), str_arg("unit")))
