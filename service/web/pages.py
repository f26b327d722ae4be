"""Page routes. Each page names the roles that may open it; data access is decided by /api."""
from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Blueprint, current_app, g, redirect, render_template, request, session
from flask.typing import ResponseReturnValue

from service.domain.access import WORKER_ROLES, may_read_lists
from service.operations import sessions

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")

VENDOR = Path(__file__).parent / "static" / "vendor"

class Declarers(frozenset[str]):
    """The 建设单位's people: these roles in a unit of kind "department" (第六条、第七条(一)); a
    reviewer, 市政府's leader or 督办 never sees 申报项目, as the API would refuse them."""


DECLARERS = Declarers({"department", "leader"})


class ListReaders(frozenset[str]):
    """第七条(五): staff of 市大数据局, 市财政局 and 市政府, 督办/审计 and admins (access.may_read_lists)."""


LIST_READERS = ListReaders(WORKER_ROLES | {"supervisor", "auditor", "admin"})
WINDOW_MANAGERS = frozenset({"supervisor", "admin"})


def may_open(user: Any, roles: frozenset[str]) -> bool:
    if not roles:
        return True
    if not set(user.roles) & roles:
        return False
    if isinstance(roles, ListReaders):
        return may_read_lists(user.actor())
    return not isinstance(roles, Declarers) or bool(user.may_declare)


# (label, path, roles that see the link); the first link a user may see is their home page.
NAV: list[tuple[str, str, frozenset[str]]] = [
    ("我的待办", "/inbox", WORKER_ROLES),
    ("督办看板", "/dashboard", frozenset({"supervisor", "auditor", "admin"})),
    ("流程设计", "/designer", frozenset({"designer", "admin"})),
    ("项目库", "/projects", WORKER_ROLES | {"supervisor", "auditor", "admin", "designer"}),
    ("申报项目", "/projects/new", DECLARERS),
    ("消息", "/notifications", WORKER_ROLES | {"supervisor"}),
    ("工作日历", "/admin/calendar", frozenset({"admin", "designer", "supervisor", "auditor"})),
    ("年度清单", "/annual-lists", LIST_READERS),
    ("申报期", "/admin/declaration-windows", WINDOW_MANAGERS),
    ("用户管理", "/admin/users", frozenset({"admin"})),
]
DESIGNERS = frozenset({"designer", "admin"})
SUPERVISORS = frozenset({"supervisor", "auditor", "admin"})
SIGNED_IN: frozenset[str] = frozenset()  # any signed-in user


def _user() -> Any:
    """The signed-in user of the page request: service.http.auth resolved the session cookie
    against its server-side record before the view."""
    current = g.get("web_session")
    return current.user if current is not None else None


def csrf_token() -> str:
    """The session's token for /api writes made with the session cookie (service.http.auth checks it)."""
    current = g.get("web_session")
    return current.csrf if current is not None else ""


def page(roles: frozenset[str]) -> Callable[[Callable[..., ResponseReturnValue]], Callable[..., ResponseReturnValue]]:
    """Signed-in users with one of `roles` (any role when empty); others go to the login page or get 403."""

    def wrap(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @wraps(view)
        def guarded(**kwargs: Any) -> ResponseReturnValue:
            user = _user()
            if user is None:
                return redirect("/login?next=" + quote(request.full_path.rstrip("?"), safe="/?=&"))
            if not may_open(user, roles):
                return render_template("forbidden.html", **_globals(user)), 403
            return view(user=user, **kwargs)

        return guarded

    return wrap


def _globals(user: Any) -> dict[str, Any]:
    nav = [(label, path) for label, path, who in NAV if user is not None and may_open(user, who)]
    return {"user": user, "nav": nav, "csrf": csrf_token() if user is not None else "",
            "vendor_missing": not (VENDOR / "versions.json").exists(), "active": request.path}


def render(template: str, user: Any, *, page_data: dict[str, Any] | None = None, **context: Any) -> str:
    """`page_data` reaches the page's script as JSON (<script id="page-data">), never as markup."""
    text = json.dumps(page_data or {}, ensure_ascii=False).replace("<", "\\u003c")
    return render_template(template, **_globals(user), **context, page_data=text)


def home_for(user: Any) -> str:
    for _, path, who in NAV:
        if may_open(user, who):
            return path
    return "/projects"


@bp.get("/")
def index() -> ResponseReturnValue:
    user = _user()
    return redirect(home_for(user) if user is not None else "/login")


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    return redirect("/static/favicon.svg", code=301)


# Characters browsers drop from a URL before reading it (WHATWG URL: tab and newline anywhere,
# C0 controls and space at the ends), so "/\t/evil.example" navigates like "//evil.example".
_DROPPED = re.compile(r"[\t\n\r]")
_EDGES = "".join(chr(c) for c in range(0x21))


def local_target(raw: str | None) -> str:
    """`raw` as the browser would read it if that is a path on this site, else "" (then the page
    goes home). Only "/" followed by something other than "/" or "\\": browsers read "//host" and
    "/\\host" as another host; any other control character is refused outright."""
    target = _DROPPED.sub("", raw or "").strip(_EDGES)
    if not target.startswith("/") or target[1:2] in ("/", "\\") or "\\" in target:
        return ""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return ""
    return target


@bp.get("/login")
def login() -> ResponseReturnValue:
    # Only local paths: an open redirect would let a phishing link land users elsewhere after login.
    # The page script checks the same again before it navigates (static/js/pages/login.js).
    return render_template("login.html", **_globals(None), next=local_target(request.args.get("next")),
                           oidc=current_app.config.get("OIDC") is not None)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    # A POST with the session's token: a link or image on another site cannot sign users out.
    current = g.get("web_session")
    sent = request.form.get("csrf", "")
    if current is not None and hmac.compare_digest(sent, current.csrf):
        sessions.close_session(current_app.extensions["govflow"], current.id)
        session.clear()
        return redirect("/login")
    return redirect("/login" if current is None else "/home")


@bp.get("/home")
@page(SIGNED_IN)
def home(user: Any) -> ResponseReturnValue:
    return redirect(home_for(user))


def _simple(path: str, template: str, roles: frozenset[str], title: str, endpoint: str) -> None:
    def view(user: Any, **kwargs: Any) -> ResponseReturnValue:
        return render(template, user, title=title, page_data=kwargs)

    view.__name__ = endpoint
    bp.add_url_rule(path, endpoint, page(roles)(view))


# Pages: (path, template, roles, title). Templates live in templates/, scripts in static/js/pages/.
PAGES: list[tuple[str, str, frozenset[str], str]] = [
    ("/inbox", "inbox.html", SIGNED_IN, "我的待办"),
    ("/tasks/<id:task_id>", "task.html", SIGNED_IN, "办理任务"),
    ("/countersigns/<id:countersign_id>", "countersign.html", SIGNED_IN, "加签"),
    ("/projects", "projects.html", SIGNED_IN, "项目库"),
    ("/projects/new", "declare.html", DECLARERS, "申报项目"),
    ("/projects/<id:project_id>", "project.html", SIGNED_IN, "项目详情"),
    ("/notifications", "notifications.html", SIGNED_IN, "消息"),
    ("/dashboard", "dashboard.html", SUPERVISORS, "督办看板"),
    ("/designer", "designer.html", DESIGNERS, "流程设计"),
    ("/designer/modeler", "modeler.html", DESIGNERS, "流程建模"),
    ("/designer/dmn", "dmn.html", DESIGNERS, "决策表"),
    ("/designer/forms", "forms.html", DESIGNERS, "表单设计"),
    ("/designer/migrations", "migrations.html", DESIGNERS, "实例迁移"),
    ("/designer/analytics", "analytics.html", frozenset({"designer", "supervisor", "auditor", "admin"}),
     "流程运行分析"),
    ("/admin/calendar", "calendar.html", frozenset({"admin", "designer", "supervisor", "auditor"}), "工作日历"),
    ("/admin/users", "admin_users.html", frozenset({"admin"}), "用户管理"),
    ("/annual-lists", "annual_lists.html", LIST_READERS, "年度项目清单"),
    ("/admin/declaration-windows", "declaration_windows.html", WINDOW_MANAGERS, "申报期与预算安排"),
]


def _register_pages() -> None:
    for path, template, roles, title in PAGES:
        _simple(path, template, roles, title, "page_" + template.removesuffix(".html"))


_register_pages()


def error_page(status: int, message: str) -> ResponseReturnValue:
    """HTML errors for page paths (service.http.errors answers JSON under /api)."""
    return render_template("error.html", **_globals(_user()), status=status, message=message), status
