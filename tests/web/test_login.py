"""Signing in through the login page; pages ask for a login and keep roles apart."""
from __future__ import annotations

import re

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


def test_after_sign_in_a_next_with_a_tab_stays_on_the_site(sessions, server):
    """/login?next=/%09/evil.example/x: browsers drop the tab and would read //evil.example. The
    server sends no such target, and the page script checks again: here the target is planted in
    the page (as a server bug would) and the browser still lands on this site."""
    page = sessions.new_page()
    page.goto("/login?next=/%09/evil.example/x")
    assert page.locator("#login-form").get_attribute("data-next") == ""
    for planted in ("/\t/evil.example/x", "/\\evil.example/x", "/\n/evil.example/x", "https://evil.example/x"):
        page.goto("/login")
        page.evaluate("(t) => { document.getElementById('login-form').dataset.next = t; }", planted)
        page.fill("input[name=username]", "edu")
        page.fill("input[name=password]", "govflow-demo")
        page.click("button[type=submit]")
        page.wait_for_url("**/inbox")
        assert page.url.startswith(server.url + "/"), (planted, page.url)
        # Leave the inbox before signing out: its requests still in flight would answer 401 and
        # send the page to /login?next=/inbox, racing the next goto.
        page.wait_for_load_state("networkidle")
        page.goto("about:blank")
        page.context.clear_cookies()
    # A local target is kept.
    page.goto("/login?next=/projects%3Fyear%3D2027")
    page.fill("input[name=username]", "edu")
    page.fill("input[name=password]", "govflow-demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/projects?year=2027")
    no_js_errors(page)


def test_main_pages_run_under_the_content_security_policy(sessions, web_ctx):
    """Every main page loads with the strict policy and reports no violation (the conftest turns a
    securitypolicyviolation into a page error): login, inbox, task, project, modeler, dashboard."""
    from service.scenario import Driver

    driver = Driver(web_ctx)
    declared = driver.declare("市教育局")
    task_id = driver.open_items(declared.project_id)[0].id

    page = sessions.new_page()
    response = page.goto("/login")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    no_js_errors(page)

    edu = sessions.as_("edu")
    edu.goto("/inbox")
    expect(edu.locator("#inbox-table tbody tr, table tbody tr").first).to_be_visible()
    edu.goto(f"/tasks/{task_id}")
    expect(edu.locator("form").first).to_be_visible()
    edu.goto(f"/projects/{declared.project_id}")
    expect(edu.locator("#diagram[data-ready]")).to_have_count(1)
    edu.goto("/projects")
    edu.goto("/notifications")
    edu.wait_for_load_state("networkidle")
    no_js_errors(edu)

    designer = sessions.as_("designer")
    designer.goto("/designer/modeler")
    expect(designer.locator('.djs-element[data-element-id="write_plan"]')).to_be_visible()
    designer.goto("/designer/dmn")
    designer.goto("/designer/forms")
    designer.wait_for_load_state("networkidle")
    no_js_errors(designer)

    supervisor = sessions.as_("supervisor")
    supervisor.goto("/dashboard")
    supervisor.goto("/admin/calendar")
    supervisor.wait_for_load_state("networkidle")
    no_js_errors(supervisor)


def test_signing_out_ends_the_session_for_the_old_cookie(sessions, server):
    """The 退出 button: the page's cookie, copied before, opens nothing afterwards."""
    page = sessions.as_("edu")
    page.goto("/inbox")
    saved = page.context.cookies()
    page.click("button.logout")
    # Polled, not awaited as one navigation: a request of the page that gets 401 while the sign-out
    # is under way sends it to /login?next=… too, which aborts the form's own navigation.
    expect(page).to_have_url(re.compile(r"/login(\?|$)"))
    replay = sessions.browser.new_context(base_url=server.url)
    try:
        replay.add_cookies(saved)
        assert replay.request.get("/api/auth/me").status == 401
        assert "/login" in replay.new_page().goto("/inbox").url
    finally:
        replay.close()
