"""Paged, searchable lists (docs/lists.md): 待办/已办/我发起的, the 项目库 register, messages, and the
unread count behind the 消息 badge. Each answers {items, total, page, per_page, pages}; the older
array endpoints (/api/tasks, /api/projects, /api/notifications) stay for their callers."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from service.http import auth
from service.http.spec import api, obj, q
from service.http.views.common import bool_arg, choice_arg, ctx, int_arg, str_arg
from service.operations import oversight_lists, worklists

bp = Blueprint("lists", __name__, url_prefix="/api")

KINDS = ("remind_before", "remind_due", "escalation", "late_filing", "urge", "extension_requested",
         "extension_decided", "cc", "withdrawn", "approval_closed", "approval_objected", "countersign", "substitute",
         "annual_list")
PAGING = [q("page", {"type": "integer", "minimum": 1, "maximum": 100000}, "页码，从 1 开始"),
          q("per_page", {"type": "integer", "minimum": 1, "maximum": worklists.MAX_PER_PAGE},
            f"每页条数（默认 {worklists.DEFAULT_PER_PAGE}，最多 {worklists.MAX_PER_PAGE}）")]
SEARCH = q("q", {"type": "string", "maxLength": 100}, "项目编号或名称（包含，不区分大小写）")


def page_of(items: dict[str, object]) -> dict[str, object]:
    return obj({"items": {"type": "array", "items": items}, "total": {"type": "integer"},
                "page": {"type": "integer"}, "per_page": {"type": "integer"}, "pages": {"type": "integer"}},
               ["items", "total", "page", "per_page"], extra=True)


ROW = {"type": "object"}


def _page() -> worklists.PageRequest:
    # Out-of-range values are refused with the field named (422), never silently clamped.
    return worklists.PageRequest(
        page=int_arg("page", minimum=1, maximum=100_000, default=1) or 1,
        per_page=int_arg("per_page", minimum=1, maximum=worklists.MAX_PER_PAGE,
                         default=worklists.DEFAULT_PER_PAGE) or worklists.DEFAULT_PER_PAGE)


@bp.get("/tasks/search")
@api("待办（todo，本单位泳道的任务）、已办（done，我办结的任务及结论）、我发起的（mine，本单位申报的项目及当前步骤）；"
     "按项目编号或名称搜索，按阶段、单位、期限状态筛选，分页", tag="任务",
     query=[q("view", {"type": "string", "enum": list(worklists.VIEWS)}, "todo 待办 / done 已办 / mine 我发起的"),
            SEARCH, q("stage", {"type": "string", "maxLength": 40}),
            q("unit", {"type": "string", "maxLength": 100}, "办理单位（我发起的：当前步骤的办理单位）；只能缩小范围"),
            q("due", {"type": "string", "enum": list(worklists.DUE_STATES)},
              "overdue 已逾期 / due_soon 3 个工作日内到期 / ok 正常"),
            q("mine", {"type": "boolean"}, "待办：只看我认领的"),
            q("sort", {"type": "string", "enum": ["due", "-due", "created"]}, "待办：due 期限最近在前"), *PAGING],
     responses={200: page_of(ROW)})
def search_tasks() -> ResponseReturnValue:
    due = choice_arg("due", (*worklists.DUE_STATES, ""), "")
    return jsonify(worklists.tasks_page(
        ctx(), auth.actor(), view=choice_arg("view", worklists.VIEWS, "todo"), q=str_arg("q"),
        stage=str_arg("stage", 40), unit=str_arg("unit"), due=due or None, assigned_to_me=bool_arg("mine"),
        sort=choice_arg("sort", ("due", "-due", "created"), "due"), page=_page()))


@bp.get("/projects/search")
@api("项目库：按项目编号或名称搜索，按年度、单位、阶段、状态筛选，分页（最新在前）", tag="项目",
     query=[SEARCH, q("year", {"type": "integer", "minimum": 2000, "maximum": 2100}, "预算年度"),
            q("unit", {"type": "string", "maxLength": 100}, "建设单位"),
            q("stage", {"type": "string", "maxLength": 40}),
            q("status", {"type": "string", "enum": ["active", "completed", "ended"]}), *PAGING],
     responses={200: page_of(ROW)})
def search_projects() -> ResponseReturnValue:
    status = choice_arg("status", ("active", "completed", "ended", ""), "")
    return jsonify(worklists.projects_page(
        ctx(), q=str_arg("q"), year=int_arg("year", minimum=2000, maximum=2100), unit=str_arg("unit"),
        stage=str_arg("stage", 40), status=status or None, page=_page()))


@bp.get("/projects/choices")
@api("项目库筛选项：出现过的预算年度、建设单位、阶段", tag="项目",
     responses={200: obj({"years": {"type": "array"}, "units": {"type": "array"}, "stages": {"type": "array"}})})
def project_choices() -> ResponseReturnValue:
    return jsonify(worklists.project_choices(ctx()))


@bp.get("/notifications/search")
@api("本单位的站内消息：按项目编号、名称或标题搜索，未读、类型筛选，分页（最新在前）", tag="督办",
     query=[q("q", {"type": "string", "maxLength": 100}, "项目编号、名称或消息标题"), q("unread", {"type": "boolean"}),
            q("kind", {"type": "string", "enum": list(KINDS)}), *PAGING],
     responses={200: page_of(ROW)})
def search_notifications() -> ResponseReturnValue:
    kind = choice_arg("kind", (*KINDS, ""), "")
    return jsonify(worklists.notifications_page(ctx(), auth.actor(), q=str_arg("q"), unread=bool_arg("unread"),
                                                kind=kind or None, page=_page()))


@bp.get("/notifications/unread-count")
@api("本单位的未读消息数（导航栏“消息”的角标）", tag="督办", responses={200: obj({"unread": {"type": "integer"}})})
def unread_count() -> ResponseReturnValue:
    return jsonify({"unread": worklists.unread_count(ctx(), auth.actor())})


OVERSIGHT = [q("unit", {"type": "string", "maxLength": 100}), q("open_only", {"type": "boolean"}), *PAGING]


@bp.get("/late-filings/search")
@api("督办看板：逾期备案，分页（最新在前）", tag="督办", query=OVERSIGHT, responses={200: page_of(ROW)})
def search_late_filings() -> ResponseReturnValue:
    return jsonify(oversight_lists.late_filings_page(ctx(), auth.actor(), unit=str_arg("unit"),
                                                     open_only=bool_arg("open_only"), page=_page()))


@bp.get("/warnings/search")
@api("督办看板：逾期与督办任务（红牌、补正暂停、已升级督办；yellow=true 含黄牌），分页（督办级别高、逾期多的在前）",
     tag="督办", query=[q("unit", {"type": "string", "maxLength": 100}),
                      q("stage", {"type": "string", "maxLength": 40}),
                      q("min_level", {"type": "integer", "minimum": 0, "maximum": 9}, "最低督办级别（0 含未升级）"),
                      q("yellow", {"type": "boolean"}, "同时列出黄牌（临近到期）"), *PAGING],
     responses={200: page_of(ROW)})
def search_warnings() -> ResponseReturnValue:
    return jsonify(oversight_lists.warnings_page(
        ctx(), auth.actor(), unit=str_arg("unit"), stage=str_arg("stage", 40),
        min_level=int_arg("min_level", minimum=0, maximum=9, default=0) or 0, yellow=bool_arg("yellow"), page=_page()))


@bp.get("/rectifications/search")
@api("督办看板：整改记录，分页（最新在前）", tag="督办", query=OVERSIGHT, responses={200: page_of(ROW)})
def search_rectifications() -> ResponseReturnValue:
    return jsonify(oversight_lists.rectifications_page(ctx(), auth.actor(), unit=str_arg("unit"),
                                                       open_only=bool_arg("open_only"), page=_page()))
