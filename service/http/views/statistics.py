"""Supervision statistics (督办统计) for 督办 and 审计."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from service.domain.access import require_overseer
from service.domain.deadlines import local_date
from service.http import auth
from service.http.spec import api, obj, q
from service.http.views.common import ctx, int_arg
from service.operations import statistics
from service.storage.models import utcnow

bp = Blueprint("statistics", __name__, url_prefix="/api/statistics")

INT = {"type": "integer"}
OVERDUE = {"overdue": INT, "escalated": INT, "max_level": INT, "max_days_overdue": INT}
OVERVIEW = obj({
    "period": obj({"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}},
                  ["from", "to"]),
    "overdue_by_unit": {"type": "array", "items": obj({"unit": {"type": "string"}, **OVERDUE})},
    "overdue_by_stage": {"type": "array", "items": obj({"stage": {"type": "string"}, **OVERDUE})},
    "on_time": {"type": "array", "items": obj({"unit": {"type": "string"}, "completed": INT, "on_time": INT,
                                               "late": INT, "rate": {"type": "number", "nullable": True}})},
    "weekly": {"type": "array", "items": obj({"week_start": {"type": "string", "format": "date"}, "completed": INT,
                                              "on_time": INT, "late": INT, "opened": INT,
                                              "overdue_open_at_end": INT})},
    "open_rectifications": INT, "late_filings": INT}, extra=True)
DATE = {"type": "string", "format": "date"}


@bp.get("/overview")
@api("督办统计：按单位、阶段的逾期与督办级别，按期办结率，周趋势，整改与逾期备案（督办、审计）", tag="统计",
     query=[q("from", DATE, "开始日期（默认结束日期前 90 天）"), q("to", DATE, "结束日期（默认今天）"),
            q("weeks", {"type": "integer", "minimum": 1, "maximum": statistics.MAX_WEEKS}, "周趋势的周数（默认 8）")],
     responses={200: OVERVIEW})
def overview() -> ResponseReturnValue:
    actor = auth.actor()
    # Role first: a department learns nothing about the parameters it may not use.
    require_overseer(actor)
    now = utcnow()
    start, to, weeks = statistics.parse_period(request.args.get("from"), request.args.get("to"),
                                               int_arg("weeks", minimum=1, maximum=statistics.MAX_WEEKS),
                                               local_date(now))
    return jsonify(statistics.overview(ctx(), actor, date_from=start, date_to=to, weeks=weeks, now=now))
