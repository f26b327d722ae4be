"""Password login, bearer tokens, server-side browser sessions (logout, idle expiry, password
change and reset end them), OIDC switch and claim mapping."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from service.domain.errors import Forbidden
from service.http.auth import OidcConfig
from service.operations import identity
from service.scenario import Driver
from service.storage.models import ApiToken, SecurityEvent, WebSession, utcnow

NEW_PASSWORD = "Dongying-2027-New"


def _login(app, username: str = "edu", password: str = identity.DEMO_PASSWORD):  # type: ignore[no-untyped-def]
    client = app.test_client()
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.json
    return client, r.json


def _replay(app, client):  # type: ignore[no-untyped-def]
    """A new client carrying a copy of `client`'s session cookie (what a thief would hold)."""
    copy = app.test_client()
    copy.set_cookie(app.config["SESSION_COOKIE_NAME"], client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value)
    return copy


def _declaration(ctx):  # type: ignore[no-untyped-def]
    return {"data": Driver(ctx).answer("declaration", {"budget_year": 2027, "participants": []})}


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


def test_the_unknown_user_hash_costs_what_a_new_password_hash_costs():
    """identity._DUMMY_HASH is written out (no scrypt at import): it must stay as expensive to check
    as the hashes generate_password_hash makes now, or an unknown name would answer faster."""
    from werkzeug.security import check_password_hash, generate_password_hash

    method = generate_password_hash("x", method="scrypt").split("$", 1)[0]
    assert identity._DUMMY_HASH.split("$", 1)[0] == method == "scrypt:32768:8:1"
    assert check_password_hash(identity._DUMMY_HASH, "govflow-no-such-user")


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


def test_the_cookie_carries_only_an_opaque_session_id(app, ctx):
    client, body = _login(app)
    value = client.get_cookie("session").value
    data = app.session_interface.get_signing_serializer(app).loads(value)
    assert set(data) == {"sid"} and body["csrf"] not in value
    with ctx.db.session() as s:
        row = s.scalars(select(WebSession)).one()
        # Stored as a hash: the table does not hold what the cookie holds.
        assert row.id != data["sid"] and len(row.id) == 64 and row.csrf == body["csrf"]


def test_logout_ends_the_session_for_every_copy_of_the_cookie(app, ctx):
    client, body = _login(app)
    thief = _replay(app, client)
    assert thief.get("/api/auth/me").json["username"] == "edu"
    csrf = {"X-CSRF-Token": body["csrf"]}
    assert thief.post("/api/projects", json=_declaration(ctx), headers=csrf).status_code == 201
    assert client.post("/api/auth/logout", headers=csrf).status_code == 200
    assert thief.get("/api/auth/me").status_code == 401
    assert thief.post("/api/projects", json=_declaration(ctx), headers=csrf).status_code in (401, 403)
    # The pages too: back to the login page.
    assert thief.get("/inbox").status_code == 302
    # The bearer token of the same sign-in ended with it.
    bearer = {"Authorization": f"Bearer {body['token']}"}
    assert app.test_client().get("/api/auth/me", headers=bearer).status_code == 401


def test_logout_with_the_token_ends_its_browser_session_too(app):
    client, body = _login(app)
    assert app.test_client().post("/api/auth/logout", headers={"Authorization": f"Bearer {body['token']}"}
                                  ).status_code == 200
    assert client.get("/api/auth/me").status_code == 401


def test_logout_in_one_process_is_seen_by_another(app, ctx):
    """Two apps with their own engines on one database stand for two gunicorn workers (a real
    gunicorn run is in test_sessions_gunicorn.py)."""
    from service.http.app import create_app
    from tests.conftest import make_ctx

    other_ctx = make_ctx(ctx.settings.database_url)
    try:
        other = create_app(other_ctx, secret_key="test")
        client, body = _login(app)
        there = _replay(other, client)
        assert there.get("/api/auth/me").status_code == 200
        client.post("/api/auth/logout", headers={"X-CSRF-Token": body["csrf"]})
        assert there.get("/api/auth/me").status_code == 401
    finally:
        other_ctx.close()


def test_an_idle_session_expires(app, ctx):
    now = [utcnow()]
    app.config["GOVFLOW_CLOCK"] = lambda: now[0]
    client, _ = _login(app)
    idle = dt.timedelta(minutes=ctx.settings.session_idle_minutes)
    now[0] += idle - dt.timedelta(minutes=1)
    assert client.get("/api/auth/me").status_code == 200  # seen: the idle time starts again
    now[0] += idle - dt.timedelta(minutes=1)
    assert client.get("/api/auth/me").status_code == 200
    now[0] += idle + dt.timedelta(seconds=1)
    assert client.get("/api/auth/me").status_code == 401
    # And no session outlives its absolute end, however busy.
    client, _ = _login(app)
    end = now[0] + dt.timedelta(hours=ctx.settings.session_max_hours)
    while now[0] < end - dt.timedelta(hours=1):
        now[0] += dt.timedelta(hours=1)
        assert client.get("/api/auth/me").status_code == 200
    now[0] = end
    assert client.get("/api/auth/me").status_code == 401


def test_password_change_ends_every_session_and_token_of_the_user(app, ctx):
    laptop, first = _login(app)
    phone, _ = _login(app)
    script_token = identity.issue_token(ctx, first["user"]["id"])[0]
    other_user, other = _login(app, "health")
    r = laptop.post("/api/auth/password", json={"old": identity.DEMO_PASSWORD, "new": NEW_PASSWORD},
                    headers={"X-CSRF-Token": first["csrf"]})
    assert r.status_code == 200, r.json
    for client in (laptop, phone):
        assert client.get("/api/auth/me").status_code == 401
    for token in (first["token"], script_token):
        assert app.test_client().get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert other_user.get("/api/auth/me").status_code == 200  # another user's session is untouched
    with ctx.db.session() as s:
        uid = first["user"]["id"]
        assert s.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == uid)) == 0
        assert s.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == uid)) == 0
        assert s.scalar(select(SecurityEvent.kind).where(SecurityEvent.username == "edu")) == "password_changed"
    old = app.test_client().post("/api/auth/login", json={"username": "edu", "password": identity.DEMO_PASSWORD})
    assert old.status_code == 401
    _login(app, "edu", NEW_PASSWORD)


def test_password_change_checks_the_old_password_and_the_policy(app):
    client, body = _login(app)
    csrf = {"X-CSRF-Token": body["csrf"]}
    wrong = client.post("/api/auth/password", json={"old": "nope", "new": NEW_PASSWORD}, headers=csrf)
    assert wrong.status_code == 422 and wrong.json["error"]["errors"] == [{"path": "old", "message": "原密码：不正确"}]
    for new, message in (("Short-1", "新密码：至少 10 个字符"),
                         ("alllowercaseletters", "新密码：须包含大写字母、小写字母、数字、符号中的至少三类"),
                         ("My-edu-Password-1", "新密码：不能包含用户名"),
                         (identity.DEMO_PASSWORD, "新密码：")):
        r = client.post("/api/auth/password", json={"old": identity.DEMO_PASSWORD, "new": new}, headers=csrf)
        assert r.status_code == 422, new
        assert any(e["path"] == "new" and e["message"].startswith(message) for e in r.json["error"]["errors"]), r.json
    # Cookie-authenticated like every write: without the CSRF token it is refused.
    assert client.post("/api/auth/password", json={"old": identity.DEMO_PASSWORD, "new": NEW_PASSWORD}
                       ).status_code == 403
    assert client.get("/api/auth/me").status_code == 200  # nothing changed


def test_admin_resets_a_password_and_signs_the_user_out_everywhere(app, api, ctx):
    edu, body = _login(app)
    assert api.as_("finance").post("/api/auth/users/edu/password", json={"new": NEW_PASSWORD}).status_code == 403
    assert api.as_("admin").post("/api/auth/users/nobody/password", json={"new": NEW_PASSWORD}).status_code == 404
    weak = api.as_("admin").post("/api/auth/users/edu/password", json={"new": "weak"})
    assert weak.status_code == 422 and weak.json["error"]["errors"][0]["path"] == "new"
    assert api.as_("admin").post("/api/auth/users/edu/password", json={"new": NEW_PASSWORD}).status_code == 200
    assert edu.get("/api/auth/me").status_code == 401
    assert api.as_("edu").get("/api/auth/me").status_code == 401
    _login(app, "edu", NEW_PASSWORD)
    events = api.as_("admin").get("/api/auth/security-events", query_string={"kind": "password_reset"}).json
    assert [(e["username"], e["detail"]["by"]) for e in events] == [("edu", "admin")]
    assert api.as_("finance").get("/api/auth/security-events").status_code == 403


def test_signing_in_again_replaces_the_browsers_session(app):
    client, first = _login(app)
    stale = _replay(app, client)
    second = client.post("/api/auth/login", json={"username": "edu", "password": identity.DEMO_PASSWORD}).json
    assert stale.get("/api/auth/me").status_code == 401  # the id from before is gone (no fixation)
    assert client.get("/api/auth/me").status_code == 200 and second["csrf"] != first["csrf"]
    bearer = {"Authorization": f"Bearer {first['token']}"}
    assert app.test_client().get("/api/auth/me", headers=bearer).status_code == 200
