"""Authentication: password login (scrypt hashes) giving a browser session and a bearer token,
optional OIDC sign-in; and the one place that resolves the Actor of a request."""
from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from service.domain.access import Actor
from service.domain.errors import Forbidden
from service.http.spec import api, obj
from service.operations import identity
from service.operations.identity import Unauthenticated

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
    app.before_request(_resolve_actor)
    app.register_blueprint(bp)
    config: OidcConfig | None = app.config.get("OIDC")
    if config is not None:
        from authlib.integrations.flask_client import OAuth

        oauth = OAuth(app)
        oauth.register("govflow_idp", client_id=config.client_id, client_secret=config.client_secret,
                       server_metadata_url=f"{config.issuer}/.well-known/openid-configuration",
                       client_kwargs={"scope": config.scope})
        app.extensions["govflow_oauth"] = oauth


def _resolve_actor() -> ResponseReturnValue | None:
    """Every /api request is authenticated here, once; views read g.actor and never check roles:
    the operations do, through service.domain.access."""
    g.actor = None
    g.user = None
    if not request.path.startswith("/api"):
        return None
    ctx = current_app.extensions["govflow"]
    user = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = identity.user_for_token(ctx, header[7:].strip())
    elif "user_id" in session:
        user = identity.get_user(ctx, int(session["user_id"]))
        _check_csrf()
    view = current_app.view_functions.get(request.endpoint or "")
    public = bool(getattr(view, "api_doc", {}).get("public")) or request.endpoint is None
    if user is None and not public:
        raise Unauthenticated("请先登录")
    if user is not None:
        g.user = user
        g.actor = user.actor()
    return None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _check_csrf() -> None:
    """A write authenticated by the session cookie must carry the session's token in X-CSRF-Token
    (the pages read it from their <meta>): a form on another site can make the browser send the
    cookie, but cannot read the token. Bearer-token calls need no such check."""
    if request.method in SAFE_METHODS or request.endpoint in ("auth.login", "auth.logout"):
        return
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent or not hmac.compare_digest(sent, str(session.get("csrf", ""))):
        raise Forbidden("页面已过期或请求来源不明（CSRF 校验失败），请刷新页面后重试")


def actor() -> Actor:
    return g.actor  # type: ignore[no-any-return]


LOGIN = obj({"username": {"type": "string", "minLength": 1, "maxLength": 100},
             "password": {"type": "string", "minLength": 1, "maxLength": 200}}, ["username", "password"])
USER = obj({"id": {"type": "integer"}, "username": {"type": "string"}, "display_name": {"type": "string"},
            "unit": {"type": "string", "nullable": True}, "roles": {"type": "array", "items": {"type": "string"}}},
           extra=True)


@bp.post("/login")
@api("密码登录：返回 API 令牌并建立浏览器会话", tag="认证", body=LOGIN, public=True,
     responses={200: obj({"token": {"type": "string"}, "expires_at": {"type": "string"}, "user": USER})})
def login() -> ResponseReturnValue:
    from service.http.app import json_body

    data = json_body()
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise Unauthenticated("用户名或密码错误")
    ctx = current_app.extensions["govflow"]
    user = identity.authenticate(ctx, username, password)
    token, expires = identity.issue_token(ctx, user.id)
    session.clear()
    session["user_id"] = user.id
    session["csrf"] = secrets.token_urlsafe(32)
    return jsonify({"token": token, "expires_at": expires.isoformat() + "Z", "user": user.to_dict(),
                    "csrf": session["csrf"]})


@bp.post("/logout")
@api("退出登录（撤销当前令牌）", tag="认证", responses={200: obj({"ok": {"type": "boolean"}})})
def logout() -> ResponseReturnValue:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        identity.revoke_token(current_app.extensions["govflow"], header[7:].strip())
    session.clear()
    return jsonify({"ok": True})


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
    session.clear()
    session["user_id"] = user.id
    session["csrf"] = secrets.token_urlsafe(32)
    return redirect("/")
