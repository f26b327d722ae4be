"""Attachments of the project dossier: content on the local filesystem under its SHA-256 (so a
file uploaded twice is stored once and a name can never choose the path), metadata in the database."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from service.config import REPO_ROOT
from service.domain.access import WORKER_ROLES, Actor
from service.domain.errors import FieldError, Forbidden, GovflowError, NotFound, ValidationFailed
from service.domain.visibility import can_see_dossier
from service.operations import audit, copy_readers, people
from service.operations.context import Govflow
from service.operations.dossier import _involved, attachment_view
from service.storage import locks
from service.storage.models import Attachment, Project, WorkItem, utcnow

DEFAULT_MAX_BYTES = 20 * 1024 * 1024


class TooLarge(GovflowError):
    """HTTP 413."""

    code = "too_large"


def attachments_dir() -> Path:
    return Path(os.environ.get("GOVFLOW_ATTACHMENTS_DIR", REPO_ROOT / "var" / "attachments"))


def max_bytes() -> int:
    return int(os.environ.get("GOVFLOW_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def safe_name(name: str) -> str:
    """Keep the user's (often Chinese) file name for display, minus paths and control characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f<>:\"|?*]", "_", name).strip(" .")
    return name[:200] or "附件"


def _path(sha: str) -> Path:
    return attachments_dir() / sha[:2] / sha


def _store(stream: IO[bytes], limit: int) -> tuple[str, int]:
    """Stream to a temporary file while hashing; refuse as soon as the limit is passed."""
    root = attachments_dir()
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1 << 16):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"附件不能超过 {limit // (1024 * 1024)} MB")
                digest.update(chunk)
                out.write(chunk)
        sha = digest.hexdigest()
        final = _path(sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        return sha, size
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def upload(ctx: Govflow, project_id: int, filename: str, stream: IO[bytes], content_type: str | None,
           actor: Actor, work_item_id: int | None = None) -> dict[str, Any]:
    with ctx.db.session() as s:
        project = s.get(Project, project_id)
        if project is None or not can_see_dossier(actor, project.unit.name, _involved(s, project_id)):
            raise NotFound("项目不存在")
        if not actor.roles & WORKER_ROLES or actor.unit is None:
            raise Forbidden("当前角色只能查看，不能上传附件")
        if work_item_id is not None:
            item = s.get(WorkItem, work_item_id)
            if item is None or item.project_id != project_id or item.unit.name != actor.unit:
                raise ValidationFailed([FieldError("work_item_id", "任务不属于本项目或本单位")])
    name = safe_name(filename or "")
    sha, size = _store(stream, max_bytes())
    if size == 0:
        raise ValidationFailed([FieldError("file", "附件：不能为空文件")])
    with ctx.db.session() as s:
        project = locks.project(s, project_id)  # the project's audit chain grows: its writers queue
        if project is None:
            raise NotFound("项目不存在")
        row = Attachment(project_id=project_id, work_item_id=work_item_id, filename=name,
                         content_type=(content_type or "application/octet-stream")[:100], size=size, sha256=sha,
                         unit_id=None, uploaded_by=actor.user, uploaded_at=utcnow())
        s.add(row)
        s.flush()
        audit.append(s, project, actor=actor.user, action="attachment_added", work_item_id=work_item_id,
                     detail={"attachment_id": row.id, "filename": name, "size": size, "sha256": sha},
                     algorithm=ctx.settings.audit_hash)
        return people.add_names(s, attachment_view(row))  # type: ignore[no-any-return]


def open_attachment(ctx: Govflow, attachment_id: int, actor: Actor) -> tuple[dict[str, Any], Path]:
    with ctx.db.session() as s:
        row = s.get(Attachment, attachment_id)
        project = s.get(Project, row.project_id) if row is not None else None
        # 抄送 recipients download what the project file they were copied shows them.
        if row is None or project is None or not (can_see_dossier(actor, project.unit.name, _involved(s, project.id))
                                                  or copy_readers.reads_file(s, actor, project.id)):
            raise NotFound("附件不存在")
        path = _path(row.sha256)
        if not path.exists():
            raise NotFound("附件文件缺失，请联系系统管理员")
        return attachment_view(row), path


def list_for_project(ctx: Govflow, project_id: int, actor: Actor) -> list[dict[str, Any]]:
    with ctx.db.session() as s:
        project = s.get(Project, project_id)
        if project is None or not can_see_dossier(actor, project.unit.name, _involved(s, project_id)):
            raise NotFound("项目不存在")
        return people.add_names(s, [attachment_view(a) for a in s.scalars(  # type: ignore[no-any-return]
            select(Attachment).where(Attachment.project_id == project_id).order_by(Attachment.id))])
