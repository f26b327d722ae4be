"""The working-day calendar: read a year; load a year's official arrangement (admin)."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.http import auth
from service.http.app import json_body
from service.http.spec import api, obj
from service.http.views.common import ctx
from service.operations import readers

bp = Blueprint("calendar", __name__, url_prefix="/api/calendar")

YEAR_FILE = obj({"year": {"type": "integer"}, "days": {"type": "array", "items": obj(
    {"name": {"type": "string"}, "date": {"type": "string", "format": "date"}, "isOffDay": {"type": "boolean"}},
    ["name", "date", "isOffDay"])}, "papers": {"type": "array", "items": {"type": "string"}},
    "note": {"type": "string"}}, ["year", "days"])


@bp.get("/<year:year>")
@api("某年放假与调休安排及其依据（official/operator/estimated）", tag="日历",
     responses={200: obj({"year": {"type": "integer"}, "basis": {"type": "string"}}, extra=True)})
def read(year: int) -> ResponseReturnValue:
    return jsonify(readers.calendar_year(ctx(), year))


@bp.put("/<year:year>")
@api("载入某年国务院放假安排（管理员）；重新计算预估期限", tag="日历", body=YEAR_FILE,
     responses={200: obj({"recomputed": {"type": "integer"}}, extra=True)})
def load(year: int) -> ResponseReturnValue:
    loaded = readers.load_calendar_year(ctx(), year, json_body(), auth.actor())
    return jsonify({"year": loaded.year, "recomputed": loaded.recomputed,
                    "still_provisional": loaded.still_provisional})
