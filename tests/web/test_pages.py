"""Page routes without a browser: who may open which page, where each role lands, and that a page
never leaks into the JSON error format of /api (or the other way round)."""
from __future__ import annotations

import re

import pytest

from service.http.app import create_app
from service.operations import identity
from service.web.pages import PAGES, Declarers, ListReaders

HOMES = {"edu": "/inbox", "bigdata": "/inbox", "supervisor": "/dashboard", "auditor": "/dashboard",
         "designer": "/designer", "admin": "/dashboard"}


@pytest.fixture
def client(web_ctx):  # type: ignore[no-untyped-def]
    return create_app(web_ctx, secret_key="pages").test_client()


def login(client, username: str) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/auth/login", json={"username": username, "password": identity.DEMO_PASSWORD})
    assert r.status_code == 200


def test_every_page_asks_for_a_login_and_keeps_the_target(client):
    for path, *_ in PAGES:
        url = re.sub(r"<id:\w+>", "1", path)
        r = client.get(url)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=" + url), url


@pytest.mark.parametrize("username", sorted(HOMES))
def test_each_role_lands_on_its_home_and_sees_only_its_pages(client, username):
    login(client, username)
    assert client.get("/").headers["Location"] == HOMES[username]
    user_roles = set(next(roles for name, _, roles, _ in identity.DEMO_USERS if name == username))
    for path, _, roles, _ in PAGES:
        url = re.sub(r"<id:\w+>", "1", path)
        status = client.get(url).status_code
        may = not roles or (roles & user_roles and (not isinstance(roles, Declarers) or username == "edu"))
        if isinstance(roles, ListReaders):  # 第七条(五): the three bodies' staff, 督办/审计, admins
            may = username in ("bigdata", "finance", "gov", "supervisor", "auditor", "admin")
        assert status == (200 if may else 403), (username, url, status)


@pytest.mark.parametrize("username, offered", [("edu", True), ("edu_leader", True), ("gov", False),
                                               ("bigdata", False), ("finance", False)])
def test_declaring_is_offered_only_to_a_construction_unit(client, username, offered):
    """第六条、第七条(一): 市政府's leader and the reviewers hold worker roles but do not declare: the
    pages neither link nor open 申报项目, as the API refuses them."""
    login(client, username)
    assert ('href="/projects/new"' in client.get("/projects").text) is offered
    assert client.get("/projects/new").status_code == (200 if offered else 403)


def test_errors_are_pages_for_pages_and_json_for_the_api(client):
    login(client, "edu")
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html" and "页面不存在" in page.text
    api = client.get("/api/no-such-endpoint")
    assert api.status_code == 404 and api.is_json


def test_login_page_refuses_to_redirect_off_site(client):
    for target in ("//evil.example/x", "/\\evil.example/x", "https://evil.example/"):
        assert 'data-next=""' in client.get("/login", query_string={"next": target}).text, target
    assert 'data-next="/inbox"' in client.get("/login?next=/inbox").text


def test_logout_is_a_post_with_the_session_token(client):
    login(client, "edu")
    token = client.get("/inbox").text.split('name="csrf-token" content="')[1].split('"')[0]
    assert client.get("/logout").status_code == 405
    assert client.post("/logout", data={"csrf": "forged"}).headers["Location"] == "/home"
    assert client.get("/inbox").status_code == 200  # still signed in
    assert client.post("/logout", data={"csrf": token}).headers["Location"] == "/login"
    assert client.get("/inbox").status_code == 302
