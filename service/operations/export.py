"""The 第十六条 electronic dossier of one project as a ZIP: a self-contained zh-CN summary page, the
steps with their form data, the hash-chained audit trail (JSON and CSV) with its verification, the
stored attachment files, and a manifest with the SHA-256 of every file in the archive.

The archive is built in a SpooledTemporaryFile (in memory up to a few MB, then on disk), so a
dossier with large attachments does not sit in memory as a whole."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import json
import tempfile
import zipfile
from typing import IO, Any

from sqlalchemy import select

from service.domain.access import Actor
from service.domain.csv_cells import safe_cell
from service.domain.errors import Forbidden, NotFound
from service.domain.visibility import can_see_dossier
from service.operations.attachments import _path as attachment_path
from service.operations.attachments import safe_name
from service.operations.context import Govflow
from service.operations.dossier import _involved, attachment_view, history, project_summary
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
        if not can_see_dossier(actor, project.unit.name, _involved(s, project_id)):
            raise Forbidden("无权导出该项目档案")
        summary = project_summary(project)
        items = list(s.scalars(select(WorkItem).where(WorkItem.project_id == project_id,
                                                      WorkItem.state == "completed").order_by(WorkItem.id)))
        opinions: dict[int, list[dict[str, Any]]] = {}
        for o in s.scalars(select(Opinion).where(Opinion.project_id == project_id).order_by(Opinion.id)):
            opinions.setdefault(o.work_item_id, []).append({"author": o.author, "text": o.text,
                                                            "at": o.at.isoformat()})
        steps = []
        for item in items:
            step = task_view(item)
            step["data"] = item.data or {}
            step["opinions"] = opinions.get(item.id, [])
            steps.append(step)
        files = [attachment_view(a) for a in s.scalars(select(Attachment).where(Attachment.project_id == project_id)
                                                        .order_by(Attachment.id))]
        verification = audit_verification(s, project_id)
        records = history(s, project_id, full=True)
        titles = {item.form: _titles(ctx, item.form) for item in items}
        code = project.code

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
        put("summary.html", _summary_html(summary, steps, titles, files, verification, missing).encode("utf-8"))
        zf.writestr("manifest.json", _json_bytes({
            "project_id": project_id, "code": code, "generated_at": utcnow().isoformat() + "Z",
            "generated_by": actor.user, "algorithm": "sha256", "files": dict(sorted(manifest.items())),
            "missing": missing}))
    out.seek(0)
    return out, code  # type: ignore[return-value]


def _titles(ctx: Govflow, form: str) -> dict[str, str]:
    if not ctx.forms.exists(form):
        return {}
    props = ctx.forms.get(form).schema.get("properties", {})
    return {k: str(v.get("title", k)) for k, v in props.items() if isinstance(v, dict)}


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


def _e(value: Any) -> str:
    if value is None:
        return "—"
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, dict | list):
        return html.escape(json.dumps(value, ensure_ascii=False))
    return html.escape(str(value))


def _local(iso: str | None) -> str:
    if not iso:
        return "—"
    at = dt.datetime.fromisoformat(iso).replace(tzinfo=dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8)))
    return at.strftime("%Y-%m-%d %H:%M")


def _summary_html(p: dict[str, Any], steps: list[dict[str, Any]], titles: dict[str, dict[str, str]],
                  files: list[dict[str, Any]], verification: dict[str, Any], missing: list[str]) -> str:
    facts = [("项目编号", p["code"]), ("项目名称", p["name"]), ("建设单位", p["unit"]), ("预算年度", p["budget_year"]),
             ("参建单位", "、".join(p["participants"]) or "—"), ("投资估算（万元）", p["estimate"]),
             ("紧急项目", p["is_urgent"]), ("阶段", p["stage"]), ("状态", p["status"]), ("结果", p["outcome"]),
             ("申报人", p["declared_by"]), ("申报时间", _local(p["declared_at"]))]
    rows = []
    for i, st in enumerate(steps, 1):
        opinion = st["data"].get("opinion")
        extra = "；".join(f"{o['author']}：{o['text']}" for o in st["opinions"])
        rows.append(f"<tr><td>{i}</td><td>{_e(st['title'])}（第{st['round']}轮）</td><td>{_e(st['unit'])}</td>"
                    f"<td>{_e(st['completed_by'])}</td><td>{_local(st['completed_at'])}</td>"
                    f"<td>{_e('；'.join(x for x in (opinion, extra) if x) or None)}</td></tr>")
    forms = []
    for i, st in enumerate(steps, 1):
        labels = titles.get(st["form"], {})
        items = "".join(f"<dt>{_e(labels.get(k, k))}</dt><dd>{_e(v)}</dd>" for k, v in st["data"].items())
        forms.append(f"<h3>{i}. {_e(st['title'])}</h3><dl>{items or '<dt>—</dt><dd>无表单数据</dd>'}</dl>")
    attachments = "".join(f"<tr><td>{a['id']}</td><td>{_e(a['filename'])}</td><td>{a['size']}</td>"
                          f"<td><code>{a['sha256']}</code></td><td>{_e(a['uploaded_by'])}</td>"
                          f"<td>{_local(a['uploaded_at'])}</td></tr>" for a in files)
    ok = verification["verified"]
    check = ("审计链校验通过：全部记录的哈希链、MAC、链头与检查点一致" if ok else
             "审计链校验未通过：" + _e("；".join(b["message"] for b in verification["breaks"])))
    gone = f"<p class=bad>以下附件文件缺失：{_e('、'.join(missing))}</p>" if missing else ""
    return ("<!doctype html><html lang=zh-CN><meta charset=utf-8>"
            f"<title>项目档案 {_e(p['code'])} {_e(p['name'])}</title>"
            "<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
            "td,th{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}"
            "dt{font-weight:bold;margin-top:.4em}dd{margin-left:2em}.ok{color:#060}.bad{color:#b00}</style>"
            f"<h1>项目电子档案（第十六条）</h1><h2>{_e(p['code'])} {_e(p['name'])}</h2>"
            "<h2>项目概况</h2><table>" + "".join(f"<tr><th>{k}</th><td>{_e(v)}</td></tr>" for k, v in facts)
            + "</table><h2>办理过程</h2><table><tr><th>#</th><th>环节</th><th>办理单位</th><th>办理人</th>"
            "<th>办结时间（北京时间）</th><th>意见</th></tr>" + "".join(rows) + "</table>"
            "<h2>各环节表单</h2>" + "".join(forms)
            + "<h2>附件</h2><table><tr><th>编号</th><th>文件名</th><th>字节</th><th>SHA-256</th><th>上传人</th>"
            "<th>上传时间</th></tr>" + attachments + "</table>" + gone
            + f"<h2>审计链</h2><p class={'ok' if ok else 'bad'}>{check}</p>"
            "<p>审计记录见 audit.json / audit.csv；各文件的 SHA-256 见 manifest.json。</p></html>")
