"""Attachments of the project dossier: upload (multipart), list, download."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, send_file
from flask.typing import ResponseReturnValue

from service.domain.errors import FieldError, ValidationFailed
from service.http import auth
from service.http.spec import api, obj
from service.http.views.common import ctx
from service.operations import attachments

bp = Blueprint("attachments", __name__, url_prefix="/api")

ATTACHMENT = obj({"id": {"type": "integer"}, "filename": {"type": "string"}, "size": {"type": "integer"},
                  "sha256": {"type": "string"}}, extra=True)
UPLOAD = {"type": "object", "required": ["file"],
          "properties": {"file": {"type": "string", "format": "binary"},
                         "work_item_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}}


@bp.get("/projects/<id:project_id>/attachments")
@api("项目档案附件列表", tag="附件", responses={200: {"type": "array", "items": ATTACHMENT}})
def list_(project_id: int) -> ResponseReturnValue:
    return jsonify(attachments.list_for_project(ctx(), project_id, auth.actor()))


@bp.post("/projects/<id:project_id>/attachments")
@api("上传附件（超过上限 413）", tag="附件", multipart=UPLOAD, responses={201: ATTACHMENT})
def upload(project_id: int) -> ResponseReturnValue:
    if request.mimetype != "multipart/form-data" or "file" not in request.files:
        raise ValidationFailed([FieldError("file", "附件：请以 multipart/form-data 上传 file 字段")])
    upload = request.files["file"]
    raw_item = request.form.get("work_item_id")
    work_item_id = None
    if raw_item:
        if not raw_item.isdigit() or not 0 < int(raw_item) < 2**31:
            raise ValidationFailed([FieldError("work_item_id", "任务 id 应为正整数")])
        work_item_id = int(raw_item)
    row = attachments.upload(ctx(), project_id, upload.filename or "", upload.stream, upload.mimetype, auth.actor(),
                             work_item_id)
    return jsonify(row), 201


@bp.get("/attachments/<id:attachment_id>")
@api("下载附件", tag="附件", produces="application/octet-stream", responses={200: {"type": "string",
                                                                               "format": "binary"}})
def download(attachment_id: int) -> ResponseReturnValue:
    meta, path = attachments.open_attachment(ctx(), attachment_id, auth.actor())
    return send_file(path, mimetype=meta["content_type"], as_attachment=True, download_name=meta["filename"],
                     etag=meta["sha256"])
