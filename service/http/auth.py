"""Authentication: password login (scrypt hashes, throttled) giving a server-side browser session
and a bearer token, password change and reset, optional OIDC sign-in; and the one place that
resolves the Actor of a request (docs/security.md)."""
from __future__ import annotations

import datetime as dt
import hmac
import os
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from service.domain.access import Actor
from service.domain.errors import FieldError, Forbidden, ValidationFailed
from service.http.client_address import client_address, parse_trusted
from service.http.spec import api, obj
from service.operations import identity, security_events, sessions
from service.operations.identity import Unauthenticated
from service.operations.sign_in_throttle import TooManyAttempts
from service.storage.models import utcnow

bp = Blueprint("auth", __name__, url_prefix="/api/auth")


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    scope: str = "openid profile"

    @staticmethod
    def from_env(env: Any = os.environ) -> OidcConfig | None:
        """Off unless GOVFLOW_OIDC_ISSUER, _CLIENT_ID and _CLIENT_SECRET are all set."""
        issuer, cid, secret = (env.get("GOVFLOW_OIDC_ISSUER"), env.get("GOVFLOW_OIDC_CLIENT_ID"),
                               env.get("GOVFLOW_OIDC_CLIENT_SECRET"))
        if not (issuer and cid and secret):
            return None
        return OidcConfig(issuer.rstrip("/"), cid, secret, env.get("GOVFLOW_OIDC_SCOPE", "openid profile"))


def init_app(app: Flask) -> None:
    app.config.setdefault("TRUSTED_PROXIES", parse_trusted(os.environ.get("GOVFLOW_TRUSTED_PROXIES")))
    # Tests replace the clock to walk through idle expiry and lockouts without waiting.
    app.config.setdefault("GOVFLOW_CLOCK", utcnow)
    app.before_request(_resolve_actor)
    app.register_error_handler(TooManyAttempts, _too_many_attempts)
    app.register_blueprint(bp)
    config: OidcConfig | None = app.config.get("OIDC")
    if config is not None:
        from authlib.integrations.flask_client import OAuth

        oauth = OAuth(app)
        oauth.register("govflow_idp", client_id=config.client_id, client_secret=config.client_secret,
                       server_metadata_url=f"{config.issuer}/.well-known/openid-configuration",
                       client_kwargs={"scope": config.scope})
        app.extensions["govflow_oauth"] = oauth


def now() -> dt.datetime:
    return current_app.config["GOVFLOW_CLOCK"]()  # type: ignore[no-any-return]


def address() -> str:
    return client_address(request.remote_addr, request.headers.get("X-Forwarded-For"),
                          current_app.config["TRUSTED_PROXIES"])


def _too_many_attempts(exc: TooManyAttempts) -> tuple[Response, int, dict[str, str]]:
    return jsonify({"error": exc.to_dict()}), 429, {"Retry-After": str(exc.retry_after)}


def web_session() -> sessions.SessionView | None:
    """The request's live browser session (resolved once, before the view)."""
    return g.get("web_session")


def _resolve_actor() -> ResponseReturnValue | None:
    """Every request but static files is resolved here, once: the bearer token (API only) or the
    session cookie, each one indexed lookup joined with the user. Views read g.actor and never check
    roles: the operations do, through service.domain.access."""
    g.actor = None
    g.user = None
    g.web_session = None
    # Static files and the probes (/healthz must answer without the database) resolve nobody.
    if request.endpoint == "web.static" or request.endpoint in ("probes.healthz", "probes.readyz", "probes.metrics"):
        return None
    is_api = request.path.startswith("/api")
    ctx = current_app.extensions["govflow"]
    user = None
    header = request.headers.get("Authorization", "")
    if is_api and header.startswith("Bearer "):
        user = identity.user_for_token(ctx, header[7:].strip())
    elif "sid" in session:
        g.web_session = sessions.resolve(ctx, str(session["sid"]), now=now())
        if g.web_session is None:
            session.clear()  # ended, idle or expired: the browser drops the dead cookie
        else:
            user = g.web_session.user
            if is_api:
                _check_csrf()
    if user is not None:
        g.user = user
        g.actor = user.actor()
    if not is_api:
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    public = bool(getattr(view, "api_doc", {}).get("public")) or request.endpoint is None
    if user is None and not public:
        raise Unauthenticated("请先登录")
    return None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _check_csrf() -> None:
    """A write authenticated by the session cookie must carry the session's token in X-CSRF-Token
    (the pages read it from their <meta>): a form on another site can make the browser send the
    cookie, but cannot read the token. Bearer-token calls need no such check."""
    if request.method in SAFE_METHODS or request.endpoint in ("auth.login", "auth.logout"):
        return
    sent = request.headers.get("X-CSRF-Token", "")
    expected = g.web_session.csrf if g.web_session is not None else ""
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden("页面已过期或请求来源不明（CSRF 校验失败），请刷新页面后重试")


def actor() -> Actor:
    return g.actor  # type: ignore[no-any-return]


LOGIN = obj({"username": {"type": "string", "minLength": 1, "maxLength": 100},
             "password": {"type": "string", "minLength": 1, "maxLength": 200}}, ["username", "password"])
USER = obj({"id": {"type": "integer"}, "username": {"type": "string"}, "display_name": {"type": "string"},
            "unit": {"type": "string", "nullable": True}, "roles": {"type": "array", "items": {"type": "string"}}},
           extra=True)
PASSWORD = obj({"old": {"type": "string", "minLength": 1, "maxLength": 200},
                "new": {"type": "string", "minLength": 1, "maxLength": 200}}, ["old", "new"])
RESET = obj({"new": {"type": "string", "minLength": 1, "maxLength": 200}}, ["new"])
OK = obj({"ok": {"type": "boolean"}})


def _start_session(user_id: int) -> sessions.SessionView:
    ctx = current_app.extensions["govflow"]
    previous = web_session()
    if previous is not None:
        # Signing in again replaces this browser's session; a token handed out before stays valid.
        sessions.close_session(ctx, previous.id, with_token=False)
    sid, web = sessions.open_session(ctx, user_id, now=now())
    session.clear()
    session["sid"] = sid
    return web


@bp.post("/login")
@api("密码登录：返回 API 令牌并建立浏览器会话（失败过多时 429）", tag="认证", body=LOGIN, public=True,
     responses={200: obj({"token": {"type": "string"}, "expires_at": {"type": "string"}, "user": USER}, extra=True),
                429: None})
def login() -> ResponseReturnValue:
    from service.http.app import json_body

    data = json_body()
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise Unauthenticated("用户名或密码错误")
    ctx = current_app.extensions["govflow"]
    user = identity.authenticate(ctx, username, password, address=address(), now=now())
    web = _start_session(user.id)
    token, expires = identity.issue_token(ctx, user.id, session_id=web.id)
    return jsonify({"token": token, "expires_at": expires.isoformat() + "Z", "user": user.to_dict(),
                    "csrf": web.csrf})


@bp.post("/logout")
@api("退出登录（结束本次登录的会话和令牌）", tag="认证", responses={200: OK})
def logout() -> ResponseReturnValue:
    ctx = current_app.extensions["govflow"]
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        identity.revoke_token(ctx, header[7:].strip())
    current = web_session()
    if current is not None:
        sessions.close_session(ctx, current.id)
    session.clear()
    return jsonify({"ok": True})


@bp.post("/password")
@api("修改密码（结束该用户的所有会话和令牌，需重新登录）", tag="认证", body=PASSWORD, responses={200: OK, 429: None})
def change_password() -> ResponseReturnValue:
    from service.http.app import json_body

    data = json_body()
    old, new = data.get("old"), data.get("new")
    if not isinstance(old, str) or not old:
        raise ValidationFailed([FieldError("old", "原密码：不能为空")])
    if not isinstance(new, str):
        raise ValidationFailed([FieldError("new", "新密码：不能为空")])
    identity.change_password(current_app.extensions["govflow"], g.user.id, old, new, address=address(), now=now())
    session.clear()
    return jsonify({"ok": True})


@bp.post("/users/<username>/password")
@api("管理员重置用户密码（结束该用户的所有会话和令牌）", tag="认证", body=RESET, responses={200: OK})
def reset_password(username: str) -> ResponseReturnValue:
    from service.http.app import json_body

    new = json_body().get("new")
    if not isinstance(new, str):
        raise ValidationFailed([FieldError("new", "新密码：不能为空")])
    identity.reset_password(current_app.extensions["govflow"], actor(), username, new, address=address())
    return jsonify({"ok": True})


@bp.get("/security-events")
@api("安全事件（登录锁定、修改和重置密码；管理员）", tag="认证",
     responses={200: {"type": "array", "items": obj({}, extra=True)}})
def security_event_list() -> ResponseReturnValue:
    kind = request.args.get("kind") or None
    return jsonify(security_events.recent(current_app.extensions["govflow"], actor(), kind=kind))


@bp.get("/me")
@api("当前用户", tag="认证", responses={200: USER})
def me() -> ResponseReturnValue:
    return jsonify(g.user.to_dict())


@bp.get("/oidc/login")
@api("统一身份认证登录（未配置时 404）", tag="认证", public=True, responses={302: None})
def oidc_login() -> ResponseReturnValue:
    oauth = current_app.extensions.get("govflow_oauth")
    if oauth is None:
        from service.domain.errors import NotFound

        raise NotFound("未配置统一身份认证")
    return oauth.govflow_idp.authorize_redirect(url_for("auth.oidc_callback", _external=True))


@bp.get("/oidc/callback")
@api("统一身份认证回调（未配置时 404）", tag="认证", public=True, responses={302: None})
def oidc_callback() -> ResponseReturnValue:
    oauth = current_app.extensions.get("govflow_oauth")
    if oauth is None:
        from service.domain.errors import NotFound

        raise NotFound("未配置统一身份认证")
    token = oauth.govflow_idp.authorize_access_token()
    claims = token.get("userinfo") or oauth.govflow_idp.userinfo()
    user = identity.user_from_claims(current_app.extensions["govflow"], claims)
    _start_session(user.id)
    return redirect("/")
