"""Projects: declare, the register of the 项目库 (with CSV), one project's dossier, its audit trail."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, send_file
from flask.typing import ResponseReturnValue

from service.domain.errors import FieldError, ValidationFailed
from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj, q
from service.http.views.common import choice_arg, ctx, int_arg, str_arg
from service.operations import dossier, export, project_file, projects, spreadsheet, worklists

bp = Blueprint("projects", __name__, url_prefix="/api/projects")

FORM_BODY = obj({"data": {"type": "object", "description": "表单数据（JSON Schema 见 forms/ 与任务详情）"}},
                ["data"])
PROJECT = obj({"id": {"type": "integer"}, "code": {"type": "string"}, "stage": {"type": "string"},
               "status": {"type": "string"}}, extra=True)
VERSION_REF = obj({"id": {"type": "integer"}, "process_key": {"type": "string"}, "version": {"type": "integer"}})
PROJECT_DETAIL = obj({**PROJECT["properties"], "version": {**VERSION_REF, "nullable": True},
                     "can_export": {"type": "boolean", "description": "调用者可导出项目电子档案（第十六条）"}},
                    extra=True)
IDS = {"type": "array", "items": {"type": "string"}}
DIAGRAM = obj({"version_id": {"type": "integer"}, "process_key": {"type": "string"}, "version": {"type": "integer"},
               "bpmn": {"type": "string", "description": "流程版本的主 BPMN 源文件"},
               "completed": IDS, "active": IDS, "overdue": IDS,
               "counts": {"type": "object", "additionalProperties": {"type": "integer"},
                          "description": "元素 id → 已完成次数（用户任务按每一轮计）"}},
              ["version_id", "process_key", "version", "bpmn", "completed", "active", "overdue", "counts"])
FILTERS = [q("year", {"type": "integer", "minimum": 2000, "maximum": 2100}, "预算年度"),
           q("unit", {"type": "string", "maxLength": 100}, "建设单位"),
           q("stage", {"type": "string", "maxLength": 40}, "阶段"),
           q("status", {"type": "string", "enum": ["active", "completed", "ended"]}, "状态"),
           q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
           q("offset", {"type": "integer", "minimum": 0, "maximum": 1000000})]


def form_data() -> dict:  # type: ignore[type-arg]
    data = json_body().get("data")
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("data", "data：应为表单数据对象")])
    return data


@bp.post("")
@api("申报项目（填报入库申请）", tag="项目", body=FORM_BODY,
     responses={201: obj({"project_id": {"type": "integer"}, "code": {"type": "string"}}, extra=True)})
def declare() -> ResponseReturnValue:
    declared = projects.declare(ctx(), form_data(), auth.actor())
    return jsonify({"project_id": declared.project_id, "code": declared.code, "stage": declared.stage,
                    "open_tasks": declared.open_work_items,
                    "next": worklists.next_steps(ctx(), declared.open_work_items)}), 201


def _register() -> list[dict]:  # type: ignore[type-arg]
    status = choice_arg("status", ("active", "completed", "ended", ""), "")
    return dossier.register(ctx(), year=int_arg("year", minimum=2000, maximum=2100), unit=str_arg("unit"),
                            stage=str_arg("stage", 40), status=status or None,
                            limit=int_arg("limit", minimum=1, maximum=1000, default=500) or 500,
                            offset=int_arg("offset", maximum=1_000_000, default=0) or 0)


@bp.get("")
@api("项目库登记册（按年度、单位、阶段、状态筛选）", tag="项目", query=FILTERS,
     responses={200: {"type": "array", "items": PROJECT}})
def register() -> ResponseReturnValue:
    return jsonify(_register())


@bp.get("/export.csv")
@api("项目库登记册导出 CSV", tag="项目", query=FILTERS, produces="text/csv", responses={200: {"type": "string"}})
def export_csv() -> ResponseReturnValue:
    text = dossier.register_csv(_register())
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=projects.csv; filename*=UTF-8''%E9%A1%B9%E7%9B%AE%E5%BA%93.csv"})


@bp.get("/export.xlsx")
@api("项目库登记册导出 Excel（与 CSV 相同的筛选与列）", tag="项目", query=FILTERS,
     produces=spreadsheet.XLSX_MIME, responses={200: {"type": "string", "format": "binary"}})
def export_xlsx() -> ResponseReturnValue:
    data = spreadsheet.register_xlsx(_register())
    return Response(data, mimetype=spreadsheet.XLSX_MIME, headers={
        "Content-Disposition": "attachment; filename=projects.xlsx; filename*=UTF-8''%E9%A1%B9%E7%9B%AE%E5%BA%93.xlsx"})


@bp.get("/<id:project_id>")
@api("项目详情：阶段、当前任务、最近的已办步骤（可见部分）、意见、附件、最近的历程"
     "（history_next 为更早一页的游标）、流程版本", tag="项目", responses={200: PROJECT_DETAIL})
def get(project_id: int) -> ResponseReturnValue:
    return jsonify(dossier.project_detail(ctx(), project_id, auth.actor()))


HISTORY_PAGE = obj({"project_id": {"type": "integer"}, "items": {"type": "array", "items": {"type": "object"}},
                    "next": {"type": "integer", "nullable": True,
                             "description": "更早一页的游标（作为 before 传入）；没有更早的记录时为 null"},
                    "total": {"type": "integer"}}, ["project_id", "items", "next", "total"], extra=True)


@bp.get("/<id:project_id>/history")
@api("项目办理历程分页：序号小于 before 的最近 limit 条（页内按时间先后）", tag="项目",
     query=[q("before", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
            q("limit", {"type": "integer", "minimum": 1, "maximum": dossier.HISTORY_MAX_PAGE})],
     responses={200: HISTORY_PAGE})
def history(project_id: int) -> ResponseReturnValue:
    before = int_arg("before", minimum=1)
    limit = int_arg("limit", minimum=1, maximum=dossier.HISTORY_MAX_PAGE, default=dossier.HISTORY_PAGE)
    return jsonify(dossier.project_history(ctx(), project_id, auth.actor(), before=before,
                                           limit=limit or dossier.HISTORY_PAGE))


@bp.get("/<id:project_id>/file")
@api("项目档案：已办各步骤提交的表单、决定和附件（最新在前）；仅建设单位、参建单位、承办单位和督办、审计可查看",
     tag="项目", responses={200: obj({"project_id": {"type": "integer"}, "steps": {"type": "array"}}, extra=True)})
def project_file_view(project_id: int) -> ResponseReturnValue:
    return jsonify(project_file.project_file(ctx(), project_id, auth.actor()))


@bp.get("/<id:project_id>/audit")
@api("项目审计链；verified 表示哈希链完整", tag="项目",
     responses={200: obj({"verified": {"type": "boolean"}, "records": {"type": "array"}}, extra=True)})
def audit_trail(project_id: int) -> ResponseReturnValue:
    return jsonify(dossier.audit_trail(ctx(), project_id, auth.actor()))


@bp.get("/<id:project_id>/diagram")
@api("项目流程图：流程版本的 BPMN 源文件及已完成、进行中、逾期的元素", tag="项目", responses={200: DIAGRAM})
def diagram(project_id: int) -> ResponseReturnValue:
    return jsonify(dossier.diagram(ctx(), project_id, auth.actor()))


@bp.get("/<id:project_id>/export.zip")
@api("导出项目电子档案（第十六条）ZIP：summary.html、steps.json、audit.json/csv、附件、manifest.json", tag="项目",
     produces="application/zip", responses={200: {"type": "string", "format": "binary"}})
def export_zip(project_id: int) -> ResponseReturnValue:
    archive, code = export.export_zip(ctx(), project_id, auth.actor())
    return send_file(archive, mimetype="application/zip", as_attachment=True, download_name=f"{code}.zip",
                     max_age=0)
