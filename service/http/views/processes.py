"""Process versions: list, validate, deploy (designers)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from service.domain.access import require_designer
from service.domain.errors import FieldError, ValidationFailed
from service.engine.validation import text_to_xml_bytes
from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj
from service.http.views.common import ctx
from service.operations import processes, readers

bp = Blueprint("processes", __name__, url_prefix="/api/processes")

BUNDLE = obj({"files": {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1,
                        "description": "文件名（.bpmn/.dmn）→ 文件内容"}}, ["files"])
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
    errors = [FieldError(f"files/{name}", f"{name}：只接受 .bpmn 或 .dmn 文件")
              for name in files if not name.endswith((".bpmn", ".dmn"))]
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


@bp.post("")
@api("部署新流程版本；不合格时 422 并列出元素级错误", tag="流程", body=BUNDLE,
     responses={201: VERSION, 200: VERSION})
def deploy() -> ResponseReturnValue:
    deployed = processes.deploy(ctx(), _bundle(), auth.actor())
    body = {"id": deployed.id, "process_key": deployed.process_key, "version": deployed.version,
            "created": deployed.created}
    return jsonify(body), 201 if deployed.created else 200
