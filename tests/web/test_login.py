"""Signing in through the login page; pages ask for a login and keep roles apart."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.web.conftest import no_js_errors, shot


def test_login_page_signs_in_and_lands_on_the_home_of_the_role(sessions):
    page = sessions.new_page()
    page.goto("/inbox")
    assert "/login" in page.url
    page.fill("input[name=username]", "edu")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("用户名或密码错误")
    shot(page, "login")
    page.fill("input[name=password]", "govflow-demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox")
    expect(page.locator(".who-unit")).to_have_text("市教育局")
    no_js_errors(page)


def test_a_department_cannot_open_the_designer(sessions):
    page = sessions.as_("edu")
    response = page.goto("/designer")
    assert response is not None and response.status == 403
    assert "无权访问" in page.content()
