"""Process versions: list, validate, deploy (designers)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from service.domain.access import require_designer
from service.domain.errors import FieldError, ValidationFailed
from service.engine.dialects import is_model_name
from service.engine.validation import text_to_xml_bytes
from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj
from service.http.views.common import ctx
from service.operations import process_deploys, processes, readers

bp = Blueprint("processes", __name__, url_prefix="/api/processes")

BUNDLE = obj({"files": {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1,
                        "description": "文件名（.bpmn/.bpmn20.xml/.dmn）→ 文件内容"}}, ["files"])
REPLACES = {"type": ["integer", "null"], "description": "预览时被替换的版本 id；其间已有他人部署则 409"}
REASON = {"type": ["string", "null"], "maxLength": 500, "description": "说明（记入部署记录与审计）"}
DEPLOY_BODY = obj({**BUNDLE["properties"], "replaces": REPLACES, "reason": REASON}, ["files"])
ROLLBACK_BODY = obj({"replaces": REPLACES, "reason": REASON})
PREVIEW = obj({"process_key": {"type": "string"}, "replaces": {"type": ["object", "null"]},
               "effect": {"type": "string", "enum": ["new_version", "make_current", "unchanged"]},
               "valid": {"type": "boolean"}, "issues": {"type": "array", "items": {"type": "object"}},
               "changes": {"type": "object"}}, extra=True)
DEPLOY_ROW = obj({"id": {"type": "integer"}, "action": {"type": "string"}, "version": {"type": ["integer", "null"]},
                  "replaced_version": {"type": ["integer", "null"]}, "actor": {"type": "string"},
                  "at": {"type": "string"}}, extra=True)
UPLOAD = {"type": "object", "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}
ISSUES = obj({"issues": {"type": "array", "items": {"type": "object"}}}, extra=True)
VERSION = obj({"id": {"type": "integer"}, "process_key": {"type": "string"}, "version": {"type": "integer"}},
              extra=True)
INSTANCES = obj({"running": {"type": "integer"}, "total": {"type": "integer"}}, ["running", "total"])
VERSION_ROW = obj({**VERSION["properties"], "instances": INSTANCES}, extra=True)
VERSION_DETAIL = obj({**VERSION["properties"], "checksum": {"type": "string"}, "deployed_by": {"type": "string"},
                      "deployed_at": {"type": "string"},
                      "files": {"type": "object", "additionalProperties": {"type": "string"},
                                "description": "文件名 → 文件内容（BPMN/DMN 源文件）"},
                      "instances": INSTANCES}, extra=True)
MAX_BUNDLE_FILES = 50


def _bundle() -> dict[str, bytes]:
    """A bundle from multipart upload (field `files`, repeated) or JSON {files: {name: text}}."""
    if request.mimetype == "multipart/form-data":
        files = {f.filename or "": f.read() for f in request.files.getlist("files")}
    else:
        raw = json_body().get("files")
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise ValidationFailed([FieldError("files", "files：应为 文件名 → 文件内容 的对象")])
        files = {str(k): text_to_xml_bytes(v) for k, v in raw.items()}
    errors = [FieldError(f"files/{name}", f"{name}：只接受 .bpmn、.bpmn20.xml 或 .dmn 文件")
              for name in files if not is_model_name(name)]
    if not files:
        errors.append(FieldError("files", "files：至少上传一个 .bpmn 文件"))
    if len(files) > MAX_BUNDLE_FILES:
        errors.append(FieldError("files", f"files：最多 {MAX_BUNDLE_FILES} 个文件"))
    if errors:
        raise ValidationFailed(errors)
    return files


@bp.get("")
@api("流程版本列表（含各版本运行中/全部实例数）", tag="流程", responses={200: {"type": "array", "items": VERSION_ROW}})
def list_versions() -> ResponseReturnValue:
    require_designer(auth.actor())
    return jsonify(readers.process_versions(ctx()))


@bp.get("/latest")
@api("主流程的最新版本及其源文件（设计人员；督办只读）", tag="流程", responses={200: VERSION_DETAIL})
def latest() -> ResponseReturnValue:
    return jsonify(readers.process_version(ctx(), auth.actor()))


@bp.get("/<id:version_id>")
@api("一个流程版本及其源文件、实例数（设计人员；督办只读）", tag="流程", responses={200: VERSION_DETAIL})
def get(version_id: int) -> ResponseReturnValue:
    return jsonify(readers.process_version(ctx(), auth.actor(), version_id))


@bp.post("/validate")
@api("校验 BPMN/DMN（不部署）；issues 列出元素与行号", tag="流程", body=BUNDLE, responses={200: ISSUES})
def validate() -> ResponseReturnValue:
    require_designer(auth.actor())
    issues = processes.validate(ctx(), _bundle())
    return jsonify({"valid": not issues, "issues": [i.to_dict() for i in issues]})


def _options() -> tuple[int | None, str | None]:
    """`replaces` and `reason` from the JSON body or the multipart form."""
    if request.mimetype == "multipart/form-data":
        raw = request.form
    else:
        raw = json_body() if request.get_data(cache=True).strip() else {}  # rollback may send no body
    replaces, reason = raw.get("replaces"), raw.get("reason")
    errors = []
    if isinstance(replaces, str) and replaces.strip().isdecimal():
        replaces = int(replaces)
    if replaces in ("", None):
        replaces = None
    elif isinstance(replaces, bool) or not isinstance(replaces, int):
        errors.append(FieldError("replaces", "replaces：应为被替换版本的 id（整数）"))
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        errors.append(FieldError("reason", "reason：应为不超过 500 字的说明"))
    if errors:
        raise ValidationFailed(errors)
    return replaces, (reason or "").strip() or None


def _deployed(deployed: processes.Deployed) -> dict[str, object]:
    return {"id": deployed.id, "process_key": deployed.process_key, "version": deployed.version,
            "created": deployed.created, "promoted": deployed.promoted, "replaced_version": deployed.replaced_version}


@bp.post("/preview")
@api("部署预览：将替换哪个版本、与之相比增删的元素/表单/泳道，以及与部署相同的校验结果（不部署）", tag="流程",
     body=BUNDLE, responses={200: PREVIEW})
def preview() -> ResponseReturnValue:
    return jsonify(processes.preview(ctx(), _bundle(), auth.actor()))


@bp.post("")
@api("部署新流程版本并设为最新；与历史版本相同时重新设为最新；不合格时 422 并列出元素级错误", tag="流程",
     body=DEPLOY_BODY, responses={201: VERSION, 200: VERSION})
def deploy() -> ResponseReturnValue:
    files = _bundle()
    replaces, reason = _options()
    deployed = processes.deploy(ctx(), files, auth.actor(), promote=True, replaces=replaces, reason=reason)
    return jsonify(_deployed(deployed)), 201 if deployed.created else 200


@bp.get("/<id:version_id>/preview")
@api("回退预览：把此版本重新设为最新会带来的变化，及其能否运行（同一校验）", tag="流程", responses={200: PREVIEW})
def rollback_preview(version_id: int) -> ResponseReturnValue:
    return jsonify(processes.rollback_preview(ctx(), version_id, auth.actor()))


@bp.post("/<id:version_id>/rollback")
@api("回退：把历史版本重新设为最新（新申报的项目使用它；运行中的项目不受影响）；记入审计", tag="流程",
     body=ROLLBACK_BODY, responses={200: VERSION})
def rollback(version_id: int) -> ResponseReturnValue:
    replaces, reason = _options()
    return jsonify(_deployed(processes.rollback(ctx(), version_id, auth.actor(), replaces=replaces, reason=reason)))


@bp.get("/deploys")
@api("主流程的部署记录（部署、重新部署、回退），"
     "新的在前", tag="流程", responses={200: {"type": "array", "items": DEPLOY_ROW}})
def deploys() -> ResponseReturnValue:
    require_designer(auth.actor())
    return jsonify(process_deploys.history(ctx(), processes.MAIN_PROCESS))
