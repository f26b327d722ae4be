"""Process analytics (流程运行分析): the heatmap figures and stage durations, for designers and
supervisors."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.http import auth
from service.http.spec import api, obj, q
from service.http.views.common import ctx, int_arg, str_arg
from service.operations import process_analytics

bp = Blueprint("process_analytics", __name__, url_prefix="/api/process-analytics")

DAYS = {"type": "integer", "nullable": True}
INT = {"type": "integer"}
ELEMENT = obj({"passed": INT, "completed": INT, "median_days": DAYS, "p90_days": DAYS, "waiting": INT,
               "waiting_median_days": DAYS})
STAGE = obj({"year": INT, "unit": {"type": "string"}, "stage": {"type": "string"}, "completed": INT,
             "median_days": DAYS, "p90_days": DAYS, "total_days": INT})
RESULT = obj({"process_key": {"type": "string"}, "versions": {"type": "array", "items": INT},
              "latest_version_id": INT, "as_of": {"type": "string", "format": "date"},
              "elements": {"type": "object", "additionalProperties": ELEMENT},
              "stages": {"type": "array", "items": STAGE}}, extra=True)


@bp.get("")
@api("流程运行分析：各环节经过的实例数、当前等待数、耗时中位数与 P90（工作日），及按年度、单位、阶段的耗时表"
     "（流程设计、督办、审计）", tag="流程",
     query=[q("process", {"type": "string", "maxLength": 100}, "流程标识（默认 govflow_lifecycle）"),
            q("version_id", INT, "只看某一版本（默认全部版本）"),
            q("year", {"type": "integer", "minimum": 2000, "maximum": 2100}, "预算年度"),
            q("unit", {"type": "string", "maxLength": 100}, "办理单位名称")],
     responses={200: RESULT})
def analytics() -> ResponseReturnValue:
    actor = auth.actor()
    process_analytics.require_reader(actor)
    return jsonify(process_analytics.analytics(
        ctx(), actor, process_key=str_arg("process") or process_analytics.DEFAULT_PROCESS,
        version_id=int_arg("version_id", minimum=1), year=int_arg("year", minimum=2000, maximum=2100),
        unit=str_arg("unit")))
