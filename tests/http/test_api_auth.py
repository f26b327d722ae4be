"""Password login, bearer tokens, browser session, OIDC switch and claim mapping."""
from __future__ import annotations

import re

import pytest

from service.domain.errors import Forbidden
from service.http.auth import OidcConfig
from service.operations import identity


def test_login_gives_token_and_session(app):
    c = app.test_client()
    r = c.post("/api/auth/login", json={"username": "finance", "password": identity.DEMO_PASSWORD})
    assert r.status_code == 200 and r.json["user"]["unit"] == "市财政局"
    token = r.json["token"]
    # The session cookie alone authenticates the browser.
    assert c.get("/api/auth/me").json["username"] == "finance"
    fresh = app.test_client()
    assert fresh.get("/api/auth/me").status_code == 401
    assert fresh.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert fresh.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert fresh.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_wrong_password_and_unknown_user_look_the_same(app):
    c = app.test_client()
    a = c.post("/api/auth/login", json={"username": "edu", "password": "nope"})
    b = c.post("/api/auth/login", json={"username": "nobody", "password": "nope"})
    assert a.status_code == b.status_code == 401 and a.json == b.json
    assert a.json["error"]["message"] == "用户名或密码错误"
    assert c.post("/api/auth/login", json={"username": 1}).status_code == 401


def test_every_api_endpoint_but_the_public_ones_needs_login(app):
    c = app.test_client()
    doc = c.get("/api/openapi.json").json
    for path, methods in doc["paths"].items():
        # Every id parameter, including those of routes added later, gets a plausible value.
        url = re.sub(r"\{\w*_id\}", "1", path).replace("{budget_year}", "2027").replace("{year}", "2027")
        for method, op in methods.items():
            r = getattr(c, method)(url, json={})
            if op.get("security") == []:
                # Public; login answers 401 for missing credentials, by design.
                assert r.status_code != 401 or path == "/api/auth/login", (method, path)
            else:
                assert r.status_code == 401, (method, path, r.status_code)
                assert r.json["error"]["code"] == "unauthenticated"


def test_oidc_is_off_without_configuration(app):
    assert OidcConfig.from_env({}) is None
    assert OidcConfig.from_env({"GOVFLOW_OIDC_ISSUER": "https://idp.example/realms/gov"}) is None
    cfg = OidcConfig.from_env({"GOVFLOW_OIDC_ISSUER": "https://idp.example/realms/gov/",
                               "GOVFLOW_OIDC_CLIENT_ID": "govflow", "GOVFLOW_OIDC_CLIENT_SECRET": "s"})
    assert cfg is not None and cfg.issuer == "https://idp.example/realms/gov"
    assert app.test_client().get("/api/auth/oidc/login").status_code == 404


def test_oidc_configured_registers_the_client(ctx, monkeypatch):
    from service.http.app import create_app

    monkeypatch.setenv("GOVFLOW_OIDC_ISSUER", "https://idp.example/realms/gov")
    monkeypatch.setenv("GOVFLOW_OIDC_CLIENT_ID", "govflow")
    monkeypatch.setenv("GOVFLOW_OIDC_CLIENT_SECRET", "secret")
    app = create_app(ctx, secret_key="t")
    assert "govflow_oauth" in app.extensions


def test_oidc_claims_map_onto_registered_users_only(app, ctx):
    user = identity.user_from_claims(ctx, {"sub": "idp-123", "preferred_username": "edu"})
    assert (user.username, user.unit, user.roles) == ("edu", "市教育局", ["department"])
    # Bound: later sign-ins match on sub, whatever name the provider sends.
    assert identity.user_from_claims(ctx, {"sub": "idp-123", "preferred_username": "x"}).username == "edu"
    with pytest.raises(Forbidden):
        identity.user_from_claims(ctx, {"sub": "idp-999", "preferred_username": "edu"})  # already bound
    with pytest.raises(Forbidden):
        identity.user_from_claims(ctx, {"sub": "idp-777", "preferred_username": "stranger"})
    with pytest.raises(Forbidden):
        identity.user_from_claims(ctx, {})


def test_openapi_and_docs_page(app):
    c = app.test_client()
    doc = c.get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.") and "/api/tasks/{task_id}/complete" in doc["paths"]
    page = c.get("/api/docs")
    assert page.status_code == 200 and "text/html" in page.content_type
    text = page.get_data(as_text=True)
    assert "/api/tasks/{task_id}/complete" in text and "http" not in text.split("<body")[0].lower().replace(
        "http-equiv", "")


def test_cookie_session_writes_need_the_csrf_token(app, ctx):
    from service.scenario import Driver

    declared = Driver(ctx).declare("市教育局", participants=[])
    c = app.test_client()
    login = c.post("/api/auth/login", json={"username": "finance", "password": identity.DEMO_PASSWORD})
    task = next(t for t in c.get("/api/tasks").json if t["project_id"] == declared.project_id)
    # Reads need no token; a write with the cookie alone is refused (another site could make it).
    refused = c.post(f"/api/tasks/{task['id']}/claim")
    assert refused.status_code == 403 and "CSRF" in refused.json["error"]["message"]
    wrong = c.post(f"/api/tasks/{task['id']}/claim", headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    ok = c.post(f"/api/tasks/{task['id']}/claim", headers={"X-CSRF-Token": login.json["csrf"]})
    assert ok.status_code == 200, ok.json
    # A bearer token is not sent by browsers on their own: no CSRF token needed.
    fresh = app.test_client()
    bearer = {"Authorization": f"Bearer {login.json['token']}"}
    assert fresh.post(f"/api/tasks/{task['id']}/unclaim", headers=bearer).status_code == 200
