"""The 第十六条 electronic dossier of one project as a ZIP: a self-contained zh-CN summary page, the
steps with their form data, a 审批单 per completed step (HTML with a print stylesheet, and PDF),
the hash-chained audit trail (JSON and CSV) with its verification, the
stored attachment files, and a manifest with the SHA-256 of every file in the archive.

The archive is built in a SpooledTemporaryFile (in memory up to a few MB, then on disk), so a
dossier with large attachments does not sit in memory as a whole."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
import zipfile
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.documents import fields, render
from service.domain.access import Actor
from service.domain.csv_cells import safe_cell
from service.domain.errors import Forbidden, NotFound
from service.domain.labels import beijing, money, state_label, yes_no
from service.operations import countersign_reads, extension_requests, people
from service.operations.attachments import _path as attachment_path
from service.operations.attachments import safe_name
from service.operations.context import Govflow
from service.operations.dossier import _involved, attachment_view, can_export, history, project_summary
from service.operations.dossier import verification as audit_verification
from service.operations.task_actions import task_view
from service.storage.models import Attachment, Opinion, Project, WorkItem, utcnow

SPOOL_BYTES = 8 * 1024 * 1024
AUDIT_CSV_COLUMNS = [("seq", "序号"), ("at", "时间（UTC）"), ("actor", "操作人"), ("action", "动作"),
                     ("work_item_id", "任务"), ("detail", "内容"), ("algorithm", "算法"), ("prev_hash", "前一哈希"),
                     ("hash", "哈希"), ("key_id", "密钥编号"), ("mac", "MAC")]


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str).encode("utf-8")


def export_zip(ctx: Govflow, project_id: int, actor: Actor) -> tuple[IO[bytes], str]:
    """(the ZIP, positioned at 0; the project code). Dossier readers only (403 for others)."""
    with ctx.db.session() as s:
        project = s.get(Project, project_id)
        if project is None:
            raise NotFound("项目不存在")
        if not can_export(actor, project.unit.name, _involved(s, project_id)):
            raise Forbidden("无权导出该项目档案")
        summary, steps, files, schemas, who = collect(ctx, s, project)
        verification = audit_verification(s, project_id)
        records = history(s, project_id, full=True)
        code = project.code
    generated_at = utcnow()

    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    manifest: dict[str, str] = {}
    missing: list[str] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:

        def put(name: str, data: bytes) -> None:
            manifest[name] = hashlib.sha256(data).hexdigest()
            zf.writestr(name, data)

        put("steps.json", _json_bytes(steps))
        put("audit.json", _json_bytes({"project_id": project_id, **verification, "records": records}))
        put("audit.csv", _audit_csv(records))
        for a in files:
            name = f"attachments/{a['id']}-{safe_name(a['filename'])}"
            a["path"] = name
            path = attachment_path(a["sha256"])
            if not path.exists():
                missing.append(name)
                continue
            digest = hashlib.sha256()
            with path.open("rb") as src, zf.open(name, "w", force_zip64=True) as dst:
                while chunk := src.read(1 << 16):
                    digest.update(chunk)
                    dst.write(chunk)
            manifest[name] = digest.hexdigest()
        doc = dossier_documents(summary, steps, schemas, files, who, generated_at, actor.user, missing)
        for st in doc["steps"]:
            html_text = render.approval_html(p=doc["p"], st=st, generated_at=doc["generated_at"])
            put(st["approval_html"], html_text.encode("utf-8"))
            put(st["approval_pdf"], render.pdf(html_text))
        put("summary.html", render.summary_html(**doc, verification=verification, record_count=len(records))
            .encode("utf-8"))
        zf.writestr("manifest.json", _json_bytes({
            "project_id": project_id, "code": code, "generated_at": generated_at.isoformat() + "Z",
            "generated_by": actor.user, "algorithm": "sha256", "files": dict(sorted(manifest.items())),
            "missing": missing}))
    out.seek(0)
    return out, code  # type: ignore[return-value]


def collect(ctx: Govflow, s: Session, project: Project) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                              list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """(summary, completed steps with data and opinions, attachments, form schemas, people's names)."""
    project_id = project.id
    summary = project_summary(project)
    items = list(s.scalars(select(WorkItem).where(WorkItem.project_id == project_id,
                                                  WorkItem.state == "completed").order_by(WorkItem.id)))
    opinions: dict[int, list[dict[str, Any]]] = {}
    for o in s.scalars(select(Opinion).where(Opinion.project_id == project_id).order_by(Opinion.id)):
        opinions.setdefault(o.work_item_id, []).append({"author": o.author, "text": o.text,
                                                        "at": o.at.isoformat()})
    # 加签 opinions enter the dossier under the host step, after its own opinions.
    for item_id, signed in countersign_reads.signed_by_item(s, project_id).items():
        for c in signed:
            opinions.setdefault(item_id, []).append({
                "author": c["signed_by"], "at": c["signed_at"],
                "text": f"【{c['kind_label']} · {c['signer']} · {c['decision']}】{c['opinion']}"})
    # 延期申请 and 催办 of each step (docs/urge-and-extension.md).
    deadline = extension_requests.dossier_entries(s, project_id)
    steps = []
    for item in items:
        step = task_view(item)
        step["deadline"] = deadline.get(item.id, [])
        step["data"] = item.data or {}
        step["opinions"] = opinions.get(item.id, [])
        steps.append(step)
    files = [attachment_view(a) for a in s.scalars(select(Attachment).where(Attachment.project_id == project_id)
                                                    .order_by(Attachment.id))]
    schemas = {st["form"]: _schema(ctx, st["form"]) for st in steps}
    who = people.names(s, [summary["declared_by"], *(st["completed_by"] for st in steps),
                           *(o["author"] for st in steps for o in st["opinions"]), *(a["uploaded_by"] for a in files)])
    return summary, steps, files, schemas, who


def _size(n: int) -> str:
    return f"{n} 字节" if n < 1024 else f"{n / 1024:,.1f} KB" if n < 1 << 20 else f"{n / (1 << 20):,.1f} MB"


def dossier_documents(p: dict[str, Any], steps: list[dict[str, Any]], schemas: dict[str, dict[str, Any] | None],
                      files: list[dict[str, Any]], who: dict[str, dict[str, Any]], generated_at: Any,
                      generated_by: str, missing: list[str]) -> dict[str, Any]:
    """What summary.html and the 审批单 show: labelled fields, Chinese states, Beijing time, people
    by name, each attachment by the step and field it belongs to."""
    def name(user: str | None) -> str:
        return "—" if not user else str((who.get(user) or {}).get("name") or user)

    by_id = {str(a["id"]): a for a in files}
    step_of: dict[int, dict[str, Any]] = {}
    purpose: dict[str, tuple[int, str]] = {}
    shown_steps = []
    for i, st in enumerate(steps, 1):
        schema = schemas.get(st["form"])
        title = st["title"] + (f"（第{st['round']}轮）" if st["round"] > 1 else "")
        for fid, label in fields.file_fields(schema, st["data"]).items():
            purpose.setdefault(fid, (st["id"], label))
        step_of[st["id"]] = {"index": i, "title": title}
        stem = f"approvals/{i:02d}-{safe_name(st['task'])}"
        shown_steps.append({
            **st, "index": i, "completed_by_name": name(st["completed_by"]),
            "completed_at_local": beijing(st["completed_at"]), "state_label": state_label(st["state"]),
            "fields": fields.build(schema, st["data"], lambda fid: (by_id.get(fid) or {}).get("filename")),
            "opinions": [{**o, "author_name": name(o["author"]), "at_local": beijing(o["at"])}
                         for o in st["opinions"]],
            "approval_html": f"{stem}.html", "approval_pdf": f"{stem}.pdf"})
    shown_files = []
    for a in files:
        where = purpose.get(str(a["id"]))
        item_id = where[0] if where else a["work_item_id"]
        step = step_of.get(item_id) if item_id is not None else None
        shown_files.append({**a, "purpose": where[1] if where else "随环节上传的材料",
                            "step": step["title"] if step else ("项目材料" if item_id is None else "办理中的环节"),
                            "step_id": item_id, "present": a.get("path") not in missing,
                            "size_text": _size(int(a["size"] or 0)), "uploaded_by_name": name(a["uploaded_by"]),
                            "uploaded_at_local": beijing(a["uploaded_at"])})
    for st in shown_steps:
        st["files"] = [f for f in shown_files if f["step_id"] == st["id"]]
    facts = [("项目编号", p["code"]), ("项目名称", p["name"]), ("建设单位", p["unit"]), ("预算年度", p["budget_year"]),
             ("参建单位", "、".join(p["participants"]) or "无"), ("投资估算", money(p["estimate"])),
             ("紧急项目", yes_no(p["is_urgent"])), ("当前阶段", p["stage"]), ("状态", state_label(p["status"])),
             ("办理结果", p["outcome"] or "—"), ("申报人", name(p["declared_by"])),
             ("申报时间", f"{beijing(p['declared_at'])}（北京时间）")]
    return {"p": p, "facts": facts, "steps": shown_steps, "files": shown_files,
            "generated_at": beijing(generated_at), "generated_by": name(generated_by)}


def _schema(ctx: Govflow, form: str) -> dict[str, Any] | None:
    return ctx.forms.get(form).schema if ctx.forms.exists(form) else None


def _audit_csv(records: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    buf.write("\ufeff")  # Excel reads UTF-8 CSV as GBK without the BOM
    w = csv.writer(buf)
    w.writerow([title for _, title in AUDIT_CSV_COLUMNS])
    for r in records:
        # .get: records from before migration 0007 carry no key id or MAC.
        w.writerow([safe_cell(json.dumps(r[k], ensure_ascii=False, sort_keys=True) if k == "detail" else r.get(k))
                    for k, _ in AUDIT_CSV_COLUMNS])
    return buf.getvalue().encode("utf-8")
