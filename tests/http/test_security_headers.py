"""Security headers on API, pages and static files; attachments served as downloads with a safe
type; the login page's `next` only ever names a path on this site."""
from __future__ import annotations

import io
from urllib.parse import quote

import pytest

from service.http.app import create_app
from service.http.security_headers import PAGE_POLICY
from service.operations import identity
from service.scenario import Driver
from service.web.pages import local_target

COMMON = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}


def _common(response) -> None:  # type: ignore[no-untyped-def]
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (name, response.headers)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_headers_on_api_pages_and_static(app, api):
    c = app.test_client()
    c.post("/api/auth/login", json={"username": "edu", "password": identity.DEMO_PASSWORD})
    for url in ("/api/auth/me", "/api/tasks", "/api/no-such", "/api/openapi.json"):
        r = c.get(url)
        _common(r)
        assert r.headers["Content-Security-Policy"].startswith("default-src 'none'"), url
        assert r.headers["Cache-Control"] == "no-store"
    for url in ("/inbox", "/login", "/no-such-page", "/static/js/api.js", "/static/css/app.css"):
        r = c.get(url)
        assert r.status_code in (200, 404), url
        _common(r)
        assert r.headers["Content-Security-Policy"] == PAGE_POLICY, url
    # Errors answered before any view (401) carry them too.
    _common(app.test_client().get("/api/tasks"))
    # The docs page keeps its own, stricter policy: its one inline style, no script at all.
    docs = c.get("/api/docs").headers["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in docs and "script-src" not in docs and "default-src 'none'" in docs
    assert c.get_cookie("session").http_only
    assert not c.get_cookie("session").secure


def test_pages_carry_no_inline_script_or_handler(app):
    """What makes the page policy satisfiable: scripts only from /static, data blocks not executable."""
    import re

    from service.web.pages import PAGES

    c = app.test_client()
    c.post("/api/auth/login", json={"username": "admin", "password": identity.DEMO_PASSWORD})
    for path, *_ in PAGES + [("/login",)]:
        html = c.get(path.replace("<id:task_id>", "1").replace("<id:project_id>", "1")).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=\"/static/" in tag or 'type="application/json"' in tag, (path, tag)
        assert not re.search(r"\son[a-z]+=", html), path
        assert " style=" not in html, path


def test_cookie_secure_flag_by_environment(ctx, monkeypatch):
    monkeypatch.setenv("GOVFLOW_COOKIE_SECURE", "1")
    identity.seed_demo_users(ctx)
    app = create_app(ctx, secret_key="t")
    assert app.config["SESSION_COOKIE_NAME"] == "session"
    c = app.test_client()
    r = c.post("/api/auth/login", json={"username": "edu", "password": identity.DEMO_PASSWORD},
               base_url="https://govflow.example")
    assert "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize(("filename", "declared", "served"), [
    ("page.html", "text/html", "application/octet-stream"),
    ("drawing.svg", "image/svg+xml", "application/octet-stream"),
    ("建设方案.pdf", "application/pdf", "application/pdf"),
    ('a"b\\c.png', "image/png", "image/png"),
])
def test_attachments_are_downloads_with_a_safe_type(api, ctx, filename, declared, served):
    data = Driver(ctx).answer("declaration", {"budget_year": 2027, "participants": []})
    pid = api.as_("edu").post("/api/projects", json={"data": data}).json["project_id"]
    body = b"<html><script>alert(document.cookie)</script></html>"
    up = api.as_("edu").post(f"/api/projects/{pid}/attachments",
                             data={"file": (io.BytesIO(body), filename, declared)}, content_type="multipart/form-data")
    assert up.status_code == 201, up.json
    r = api.as_("edu").get(f"/api/attachments/{up.json['id']}")
    assert r.status_code == 200 and r.data == body
    assert r.mimetype == served
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"")
    assert disposition.endswith("filename*=UTF-8''" + quote(up.json["filename"], safe=""))
    fallback = disposition.split('filename="', 1)[1].split('";', 1)[0]
    assert fallback.isascii() and '"' not in fallback and "\\" not in fallback
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Security-Policy"].startswith("sandbox")


OFF_SITE = ["/%09/evil.example/x", "/%0a/evil.example/x", "/%0d/evil.example/x", "//evil.example/x",
            "/\\evil.example/x", "/%5Cevil.example/x", "https://evil.example/x", "https:evil.example",
            "%09//evil.example", "%20//evil.example", "/%09%0a/%0d/evil.example", "javascript:alert(1)", "evil.example"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_login_next_refuses_every_off_site_form(app, target):
    page = app.test_client().get("/login?next=" + target)
    assert page.status_code == 200 and 'data-next=""' in page.text, target


def test_login_next_keeps_local_paths():
    assert local_target("/projects?year=2027") == "/projects?year=2027"
    assert local_target("/tasks/5") == "/tasks/5"
    assert local_target("/\t/evil.example") == ""
    assert local_target(" /inbox ") == "/inbox"  # what the browser would open
    assert local_target("/in\tbox") == "/inbox"
    assert local_target(None) == ""

