"""People, not usernames, in a real browser (docs/people.md): pages show 姓名, 转办 picks a person
of the unit from a list, and 用户管理 creates a user who then signs in and deactivates one who then
cannot."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from service.domain.access import Actor
from service.operations import projects, tasks
from service.scenario import Driver
from tests.web.conftest import no_js_errors, shot

EDU = Actor("edu", "市教育局", frozenset({"department"}))  # 王晓燕; edu_leader is 刘建国


def edu_project_at_write_plan(ctx) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A project declared by edu (王晓燕), standing at 编制建设方案, claimed by edu."""
    driver = Driver(ctx)
    pid = projects.declare(ctx, driver.answer("declaration", {"participants": []}), EDU).project_id
    driver.run(pid, until="write_plan")
    item = driver.item(pid, "write_plan")
    tasks.claim(ctx, item.id, EDU)
    return pid, item.id


def no_bare_username(page: Page, *usernames: str) -> None:
    text = page.locator("main").inner_text()
    for name in usernames:
        assert not re.search(rf"(?<![A-Za-z_]){name}(?![A-Za-z_])", text), (name, text)


def dialog(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("dialog.gf-dialog[open]")


def test_pages_show_names_not_usernames(sessions, web_ctx):
    pid, item_id = edu_project_at_write_plan(web_ctx)
    leader = sessions.as_("edu_leader")
    expect(leader.locator("[data-testid=who]")).to_have_count(0)  # API sign-in only; the page shows it
    leader.goto("/inbox")
    expect(leader.locator("[data-testid=who]")).to_have_text("刘建国")
    row = leader.locator(f"#inbox tbody tr[data-task-id='{item_id}']")
    expect(row.locator("td.assignee")).to_have_text("王晓燕")
    no_bare_username(leader, "edu", "edu_leader")

    leader.goto(f"/tasks/{item_id}")
    expect(leader.locator("#task-assignee")).to_have_text("认领人：王晓燕")
    expect(leader.locator(".notice")).to_contain_text("该任务已由 王晓燕 认领")
    no_bare_username(leader, "edu", "edu_leader")

    leader.goto(f"/projects/{pid}")
    expect(leader.locator("#project-facts")).to_contain_text("王晓燕 ·")
    timeline = leader.locator("main")
    expect(timeline).to_contain_text("王晓燕")
    no_bare_username(leader, "edu", "edu_leader")
    shot(leader, "people-project-names")
    no_js_errors(leader)


def test_reassign_picks_a_person_of_the_unit_from_a_list(sessions, web_ctx):
    _, item_id = edu_project_at_write_plan(web_ctx)
    edu = sessions.as_("edu")
    edu.goto(f"/tasks/{item_id}")
    edu.locator("#task-actions").get_by_role("button", name="转办").click()
    box = dialog(edu)
    options = box.locator("#assign-user option")
    # Names only, the colleagues of 市教育局 but not edu itself (GET /api/tasks/{id}/candidates).
    # The list is filled after the dialog opens, so wait for it before reading it whole.
    expect(options).to_have_count(2)
    assert options.evaluate_all("els => els.map(e => [e.value, e.textContent])") == [["", "请选择"],
                                                                                    ["edu_leader", "刘建国"]]
    box.locator("#assign-user").select_option(label="刘建国")
    box.get_by_role("button", name="转办").click()
    edu.wait_for_url("**/inbox*")
    expect(edu.locator("#toasts")).to_contain_text("已转办给 刘建国")
    expect(edu.locator(f"#inbox tbody tr[data-task-id='{item_id}'] td.assignee")).to_have_text("刘建国")
    edu.goto(f"/tasks/{item_id}")
    expect(edu.locator("main")).to_contain_text("转办给 刘建国")  # the history, by name
    no_js_errors(edu)


def _login(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="登录").click()


def test_admin_creates_a_user_who_then_signs_in(sessions, web_ctx):
    admin = sessions.as_("admin")
    admin.goto("/inbox")  # any page: the nav offers 用户管理 to admins only
    admin.goto("/admin/users")
    expect(admin.locator(".mainnav a.on")).to_have_text("用户管理")
    expect(admin.locator("#user-list li[data-username=edu] .person-name")).to_have_text("王晓燕")
    admin.locator("#new-user").click()
    box = dialog(admin)
    box.locator("input[name=username]").fill("sunli")
    box.locator("input[name=password]").fill("Dongying-2027")
    box.locator("input[name=display_name]").fill("孙丽")
    box.locator("select[name=unit]").select_option("市财政局")
    box.locator("input[name=roles][value=reviewer]").check()
    box.locator("input[name=phone]").fill("0546-8226601")
    box.locator("input[name=email]").fill("sun.li@")
    box.get_by_role("button", name="创建").click()
    expect(box.locator("[data-field=email]")).to_contain_text("电子邮箱：格式不正确")  # the server's, under the field
    box.locator("input[name=email]").fill("sun.li@czj.example.gov.cn")
    box.get_by_role("button", name="创建").click()
    expect(box).to_have_count(0)
    card = admin.locator("#user-list li[data-username=sunli]")
    expect(card).to_contain_text("孙丽")
    expect(card).to_contain_text("市财政局")
    expect(card).to_contain_text("审核人")
    expect(card).to_contain_text("0546-8226601")
    shot(admin, "people-admin-users")
    admin.set_viewport_size({"width": 390, "height": 844})
    assert admin.evaluate("document.documentElement.scrollWidth") <= 390
    no_js_errors(admin)

    newcomer = sessions.new_page()
    _login(newcomer, "sunli", "Dongying-2027")
    newcomer.wait_for_url("**/inbox*")
    expect(newcomer.locator("[data-testid=who]")).to_have_text("孙丽")


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in(sessions, web_ctx):
    edu = sessions.as_("edu")
    edu.goto("/inbox")
    expect(edu.locator("[data-testid=who]")).to_have_text("王晓燕")

    admin = sessions.as_("admin")
    admin.goto("/admin/users")
    admin.locator("#user-list li[data-username=edu] .deactivate").click()
    dialog(admin).get_by_role("button", name="停用").click()
    expect(admin.locator("#user-list li[data-username=edu]")).to_have_count(0)  # hidden unless 显示已停用
    admin.locator("#show-inactive").check()
    expect(admin.locator("#user-list li[data-username=edu]")).to_contain_text("已停用")

    edu.goto("/inbox")  # the session ended with the deactivation
    expect(edu).to_have_url(re.compile(r"/login\?next=/inbox"))
    _login(edu, "edu", "govflow-demo")
    expect(edu.locator("#login-error")).to_be_visible()
    expect(edu).to_have_url(re.compile(r"/login"))

    admin.locator("#user-list li[data-username=edu] .reactivate").click()
    dialog(admin).get_by_role("button", name="启用").click()
    expect(admin.locator("#user-list li[data-username=edu] .deactivate")).to_be_visible()
    _login(edu, "edu", "govflow-demo")
    edu.wait_for_url("**/inbox*")
    no_js_errors(admin)
