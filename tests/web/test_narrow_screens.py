"""Every page at phone width (390 px, 爱山东/山东通 in a phone's browser) and at 1280 px.

The pages are enumerated from the Flask url_map, so a page added later is covered without touching
this file. Each is opened as the first demo user who may open it, with a project in progress (the
task page and project page then have their real content). At 390 px nothing may scroll the page
sideways, and 退出 must be reachable (directly or behind 菜单) and sign the user out. At 1280 px the
navigation links show without opening a menu. See docs/responsive.md."""
from __future__ import annotations

import re
from typing import Any

from flask import Flask
from playwright.sync_api import Page, expect

from service.operations import countersign, identity
from service.scenario import Driver, worker
from tests.web.conftest import SHOTS, LiveServer, Session, no_js_errors, shot

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}  # between the breakpoints: menu, but tables not yet cards
DESKTOP = {"width": 1280, "height": 800}
# Tried in this order; the first whose request is answered 200 opens the page. edu first: the
# department view is the one phones are for.
USERS = ["edu", "admin", "supervisor", "designer", "bigdata"]
# Paths that are not pages a user reads (redirects, the sign-in and sign-out endpoints).
NOT_PAGES = {"/", "/home", "/logout", "/favicon.ico", "/login"}


def page_paths(app: Flask, values: dict[str, Any]) -> list[str]:
    """Every GET page of the web blueprint, its arguments filled from `values`."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("web.") or rule.endpoint == "web.static" or "GET" not in (rule.methods or ()):
            continue
        if rule.rule in NOT_PAGES:
            continue
        missing = set(rule.arguments) - set(values)
        assert not missing, f"{rule.rule}: 为参数 {missing} 在 test_narrow_screens.py 的 values 中给一个示例值"
        out.append(re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(values[m.group(1)]), rule.rule))
    return sorted(out)


def scroll_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def widest(page: Page, limit: int) -> list[str]:
    """The elements sticking out past `limit`, to say what overflows when the check fails."""
    return page.evaluate("""(limit) => [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > limit + 0.5
        && !el.closest('.table-wrap, table.list, .djs-container'))
      .slice(0, 8).map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
        ' → ' + Math.round(el.getBoundingClientRect().right))""", limit)


def settle(page: Page, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # charts and diagrams lay out after their data arrives


def sign_out_is_reachable_and_works(page: Page) -> None:
    logout = page.locator("button.logout")
    toggle = page.locator(".nav-toggle")
    if not logout.is_visible():
        expect(toggle).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(logout).to_be_visible()
    expect(page.locator("[data-testid=who]")).to_be_visible()
    box = logout.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    logout.click()
    page.wait_for_url("**/login")


def in_progress(driver: Driver) -> tuple[int, int]:
    """A 市教育局 project at 编制建设方案 after 初审: the task page has a long form, the project page
    a diagram, a timeline and documents."""
    declared = driver.declare("市教育局")
    driver.run(declared.project_id, until="write_plan")
    return declared.project_id, driver.item(declared.project_id, "write_plan").id


def after_reviews(driver: Driver) -> tuple[int, int]:
    """A project past the four departments' 方案评审, at submit_budget: the project page then has the
    parallel reviews side by side, opinions and documents in its file."""
    declared = driver.declare("市教育局", participants=[])
    driver.run(declared.project_id, until="submit_budget")
    return declared.project_id, driver.item(declared.project_id, "submit_budget").id


def test_every_page_fits_a_phone_and_signs_out(sessions: Session, server: LiveServer, web_ctx):  # type: ignore[no-untyped-def]
    driver = Driver(web_ctx)
    project_id, task_id = in_progress(driver)
    later_project, later_task = after_reviews(driver)
    # A 前加签 asked of 市大数据局 on the later task: its signer page (/countersigns/<id>).
    (asked,) = countersign.add(web_ctx, later_task, worker("市教育局"), "before", [{"unit": "市大数据局"}],
                               "请核实预算测算依据")
    app = server.server.app
    paths = page_paths(app, {"project_id": project_id, "task_id": task_id, "countersign_id": asked["id"]})
    assert {"/inbox", f"/tasks/{task_id}", f"/projects/{project_id}"} <= set(paths)
    paths += [f"/projects/{later_project}", f"/tasks/{later_task}"]

    pages: dict[str, Page] = {}
    opened, problems = {}, []
    for path in paths:
        for user in USERS:
            if user not in pages:
                pages[user] = sessions.as_(user)
                pages[user].set_viewport_size(PHONE)
            page = pages[user]
            if page.request.get(path, max_redirects=0).status == 200:
                break
        else:
            problems.append(f"{path}: 没有演示用户能打开")
            continue
        opened[path] = user
        settle(page, path)
        width = scroll_width(page)
        if width > PHONE["width"]:
            problems.append(f"{path}（{user}）宽 {width}px：{widest(page, PHONE['width'])}")
        shot(page, "phone" + re.sub(r"\W+", "-", path).rstrip("-"))
        if path in ("/inbox", f"/tasks/{task_id}", f"/projects/{project_id}"):
            name = {"/inbox": "inbox", f"/tasks/{task_id}": "task", f"/projects/{project_id}": "project"}[path]
            shot(page, f"phone-{name}")
            SHOTS.mkdir(parents=True, exist_ok=True)  # one screen, as the phone shows it
            if name == "task":  # the form's end: the stacked action buttons
                page.locator("#task-actions").evaluate("el => el.scrollIntoView({block: 'center'})")
            page.screenshot(path=str(SHOTS / f"phone-{name}-screen.png"))
            page.evaluate("window.scrollTo(0, 0)")
        page.set_viewport_size(TABLET)
        page.wait_for_timeout(200)
        if (width := scroll_width(page)) > TABLET["width"]:
            problems.append(f"{path}（{user}）在 768px 宽 {width}px：{widest(page, TABLET['width'])}")
        page.set_viewport_size(PHONE)
        no_js_errors(page)
        sign_out_is_reachable_and_works(page)
        r = page.request.post("/api/auth/login", data={"username": user, "password": identity.DEMO_PASSWORD})
        assert r.ok
    print("opened as:", opened)
    assert not problems, "\n".join(problems)


def test_sign_in_error_and_forbidden_pages_fit_a_phone(sessions: Session):
    page = sessions.new_page()
    page.set_viewport_size(PHONE)
    settle(page, "/login")
    assert scroll_width(page) <= PHONE["width"], widest(page, PHONE["width"])
    signed_in = sessions.as_("edu")
    signed_in.set_viewport_size(PHONE)
    for path in ("/designer", "/no-such-page"):  # 403 and 404 pages
        settle(signed_in, path)
        assert scroll_width(signed_in) <= PHONE["width"], (path, widest(signed_in, PHONE["width"]))
    no_js_errors(page)
    no_js_errors(signed_in)


def test_desktop_shows_the_navigation_without_a_menu(sessions: Session, web_ctx):  # type: ignore[no-untyped-def]
    in_progress(Driver(web_ctx))
    for user, path in (("edu", "/inbox"), ("admin", "/dashboard"), ("designer", "/designer/modeler")):
        page = sessions.as_(user)
        page.set_viewport_size(DESKTOP)
        settle(page, path)
        links = page.locator(".mainnav a")
        assert links.count() >= 2
        for i in range(links.count()):
            expect(links.nth(i)).to_be_visible()
        expect(page.locator(".nav-toggle")).to_be_hidden()
        expect(page.locator("button.logout")).to_be_visible()
        assert scroll_width(page) <= DESKTOP["width"], (path, widest(page, DESKTOP["width"]))
        no_js_errors(page)


def test_the_menu_opens_closes_and_follows_a_link_on_a_phone(sessions: Session):
    page = sessions.as_("edu")
    page.set_viewport_size(PHONE)
    settle(page, "/inbox")
    toggle = page.locator(".nav-toggle")
    link = page.locator(".mainnav a[href='/projects']")
    expect(link).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(link).to_be_visible()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(link).to_be_hidden()
    toggle.click()
    shot(page, "phone-menu")
    link.click()
    page.wait_for_url("**/projects")
    expect(page.locator(".mainnav a[href='/projects']")).to_be_hidden()  # a new page starts closed
    no_js_errors(page)


def test_inbox_rows_are_cards_with_their_headings_on_a_phone(sessions: Session, web_ctx):  # type: ignore[no-untyped-def]
    in_progress(Driver(web_ctx))
    page = sessions.as_("edu")
    page.set_viewport_size(PHONE)
    settle(page, "/inbox")
    row = page.locator("#inbox tbody tr[data-task=write_plan]")
    expect(row).to_have_count(1)
    expect(page.locator("#inbox thead")).to_be_hidden()
    # Headings come from <thead> (js/responsive.js), on rows the page drew after loading.
    expect(row.locator("td[data-label=任务]")).to_contain_text("编制建设方案")
    expect(row.locator("td[data-label=剩余工作日]")).to_contain_text("20 个工作日")
    cell = row.locator("td[data-label=任务]")
    assert cell.evaluate("td => getComputedStyle(td, '::before').content") == '"任务"'
    card = row.bounding_box()
    assert card is not None and card["x"] >= 0 and card["x"] + card["width"] <= PHONE["width"], card
    claim = row.locator("td.actions-cell button")
    assert claim.bounding_box()["width"] > PHONE["width"] / 2  # type: ignore[index]  # full width, easy to tap
    page.set_viewport_size(DESKTOP)  # the same rows are a table again
    expect(page.locator("#inbox thead")).to_be_visible()
    no_js_errors(page)


def test_task_dialogs_fit_a_phone(sessions: Session, web_ctx):  # type: ignore[no-untyped-def]
    _, task_id = in_progress(Driver(web_ctx))
    page = sessions.as_("edu")
    page.set_viewport_size(PHONE)
    settle(page, f"/tasks/{task_id}")
    page.locator("#task-actions button", has_text="转办").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert scroll_width(page) <= PHONE["width"]
    no_js_errors(page)
