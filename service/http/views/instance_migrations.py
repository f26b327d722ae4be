"""实例迁移: move running instances between versions of a process (designers; docs/instance-migration.md)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.domain.access import require_designer
from service.domain.errors import FieldError, ValidationFailed
from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj
from service.http.views.common import ctx
from service.operations import instance_migration

bp = Blueprint("instance_migrations", __name__, url_prefix="/api/process-migrations")

ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
IDS = {"type": "array", "maxItems": instance_migration.MAX_INSTANCES, "items": ID}
BODY = obj({"from_version_id": ID, "to_version_id": ID, "instance_ids": IDS}, ["from_version_id", "to_version_id"])
STR_LIST = {"type": "array", "items": {"type": "string"}}
DRY_RUN = obj({"from_version": {"type": "integer"}, "to_version": {"type": "integer"},
               "instances": {"type": "array", "items": obj({
                   "instance_id": {"type": "integer"}, "project_id": {"type": "integer"}, "code": {"type": "string"},
                   "name": {"type": "string"}, "stage": {"type": "string"}, "safe": {"type": "boolean"},
                   "reasons": STR_LIST, "active": STR_LIST})},
               "not_running_on_source": {"type": "array", "items": {"type": "integer"}}})
RESULT = obj({"from_version": {"type": "integer"}, "to_version": {"type": "integer"}, "migrated": {"type": "integer"},
              "results": {"type": "array", "items": obj({"instance_id": {"type": "integer"},
                                                         "migrated": {"type": "boolean"}, "reasons": STR_LIST},
                                                        extra=True)}})


def _int(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value < 2**31:
        raise ValidationFailed([FieldError(name, f"{name}：应为流程版本的编号（正整数）")])
    return value


def _ids(body: dict[str, Any], *, required: bool) -> list[int] | None:
    value = body.get("instance_ids")
    if value is None and not required:
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v < 2**31
                                              for v in value):
        raise ValidationFailed([FieldError("instance_ids", "instance_ids：应为实例编号的列表")])
    return value


@bp.post("/dry-run")
@api("迁移预检：原版本上运行中的实例（或所选实例）能否迁移到目标版本，逐个说明原因；不做任何修改（流程设计人员）",
     tag="流程", body=BODY, responses={200: DRY_RUN})
def dry_run() -> ResponseReturnValue:
    actor = auth.actor()
    require_designer(actor)  # who, before what: another role's malformed body is a 403
    body = json_body()
    return jsonify(instance_migration.dry_run(ctx(), actor, _int(body, "from_version_id"),
                                              _int(body, "to_version_id"), _ids(body, required=False)))


@bp.post("")
@api("迁移所选实例到目标版本：逐个在各自的事务中再次检查、迁移并留痕；不安全的不迁移并说明原因（流程设计人员）",
     tag="流程", body=BODY, responses={200: RESULT})
def migrate() -> ResponseReturnValue:
    actor = auth.actor()
    require_designer(actor)
    body = json_body()
    return jsonify(instance_migration.migrate(ctx(), actor, _int(body, "from_version_id"),
                                              _int(body, "to_version_id"), _ids(body, required=True) or []))
