"""Attachments of the project dossier: upload (multipart), list, download."""
from __future__ import annotations

import re
from urllib.parse import quote

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


# Types a browser shows without running anything of the file; still sent as downloads. Anything
# else (text/html, SVG, XML…) goes out as octet-stream: an uploader must not make the site's origin
# serve their page.
SAFE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})
# Even if a browser were to render it: no script, no plugin, no same-origin access.
DOWNLOAD_POLICY = "sandbox; default-src 'none'; frame-ancestors 'none'"


def content_disposition(filename: str) -> str:
    """attachment with an ASCII fallback name and the exact UTF-8 name as RFC 5987 filename*
    (Chinese file names survive; quotes, backslashes and control characters cannot break out)."""
    fallback = re.sub(r'[^\x20-\x7e]|["\\]', "_", filename).strip() or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@bp.get("/attachments/<id:attachment_id>")
@api("下载附件", tag="附件", produces="application/octet-stream", responses={200: {"type": "string",
                                                                               "format": "binary"}})
def download(attachment_id: int) -> ResponseReturnValue:
    meta, path = attachments.open_attachment(ctx(), attachment_id, auth.actor())
    declared = str(meta["content_type"] or "").split(";", 1)[0].strip().lower()
    mimetype = declared if declared in SAFE_TYPES else "application/octet-stream"
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=meta["filename"],
                         etag=meta["sha256"])
    response.headers["Content-Disposition"] = content_disposition(str(meta["filename"]))
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
