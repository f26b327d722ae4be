"""会签 in a real browser: the task page of a 参建单位确认 says how far the node is ("3 家中已有 1 家同意"),
and one unit's objection sends the declaration back to the lead unit's inbox with the objection."""
from __future__ import annotations

from playwright.sync_api import expect

from service.operations import tasks
from service.scenario import Driver, worker
from tests.web.conftest import no_js_errors, shot
from tests.web.test_department import field, login
from tests.web.test_designer import TASK, open_modeler, shape

UNITS = ["市民政局", "市卫生健康委员会", "市自然资源和规划局"]


def test_countersign_progress_and_an_objection_back_to_the_lead_unit(sessions, web_ctx):
    driver = Driver(web_ctx)
    pid = driver.declare("市教育局", budget_year=2027, participants=UNITS).project_id
    by_unit = {w.unit.name: w for w in driver.open_items(pid)}
    tasks.complete(web_ctx, by_unit["市民政局"].id, driver.answer("participant_confirmation"), worker("市民政局"))

    health = sessions.new_page()
    login(health, "health")
    health.goto(f"/tasks/{by_unit['市卫生健康委员会'].id}")
    expect(health.locator("#approval-progress")).to_contain_text("会签：3 家中已有 1 家同意")
    expect(health.locator("#approval-progress")).to_contain_text("任一单位有异议即结束")
    health.set_viewport_size({"width": 390, "height": 844})
    assert health.evaluate("document.documentElement.scrollWidth") <= 390
    health.set_viewport_size({"width": 1280, "height": 900})
    field(health, "confirmation").locator("select").select_option("有异议")
    field(health, "responsibilities").locator("textarea").fill("负责提供医疗救助对象数据。")
    health.click("#submit-task")
    # 有异议 needs its content (the form's if/then): the server's 422 is shown under the field.
    expect(field(health, "objection").locator(".sf-error")).to_contain_text("异议内容")
    field(health, "objection").locator("textarea").fill("申报书中的数据共享频次与本单位实际不符，请改为每周更新")
    shot(health, "task-countersign")
    health.click("#submit-task")
    expect(health.locator("#toasts")).to_contain_text("下一步：市教育局 填报入库申请")
    no_js_errors(health)

    edu = sessions.new_page()
    login(edu, "edu")
    edu.goto("/inbox")
    row = edu.locator("#inbox tbody tr[data-task=submit_declaration]")
    expect(row).to_have_count(1)
    lead = driver.item(pid, "submit_declaration")
    expect(row.locator(f'a[href="/tasks/{lead.id}"]')).to_have_count(1)
    edu.goto(f"/tasks/{lead.id}")
    expect(edu.locator("h1")).to_contain_text("第2轮")
    banner = edu.locator("#returned-reason")
    expect(banner).to_contain_text("参建单位异议：")
    expect(banner).to_contain_text("申报书中的数据共享频次与本单位实际不符，请改为每周更新")
    expect(banner).to_contain_text("市卫生健康委员会")
    shot(edu, "task-countersign-objection")
    no_js_errors(edu)

    # The third unit's confirmation was withdrawn by the decision: its page says so, no form to submit.
    nature = sessions.new_page()
    login(nature, "nature")
    nature.goto(f"/tasks/{by_unit['市自然资源和规划局'].id}")
    expect(nature.locator(".notice.warn").first).to_contain_text("无需办理")
    expect(nature.locator("#submit-task")).to_have_count(0)
    no_js_errors(nature)


def test_the_modeler_sets_the_approval_mode_of_a_multi_instance_task(sessions, web_ctx):
    page = sessions.as_("designer")
    open_modeler(page)
    shape(page, TASK).click()
    mode = page.locator("#prop-approval-mode")
    expect(mode).to_have_value("all")
    expect(page.locator("[data-testid=prop-completion]")).to_have_text("approval_objected > 0")
    mode.select_option("sequential")
    expect(page.locator("[data-testid=prop-sequential]")).to_have_text("依次")
    mode = page.locator("#prop-approval-mode")
    mode.select_option("ratio:2/3")
    expect(page.locator("[data-testid=prop-sequential]")).to_have_text("并行")
    expect(page.locator("[data-testid=prop-completion]")).to_contain_text("approval_agreed * 3 >= approval_total * 2")
    shot(page, "modeler-approval-mode")
    # What the panel wrote is what the server's rules accept.
    page.get_by_role("button", name="校验").click()
    expect(page.locator("#issues")).to_contain_text("校验通过")
    xml = page.evaluate("async () => (await window.govflowModeler.saveXML()).xml")
    assert 'name="approval_mode" value="ratio:2/3"' in xml
    # An undo takes the mode and the loop characteristics back together.
    page.locator("#undo").click()
    expect(page.locator("#prop-approval-mode")).to_have_value("sequential")
    expect(page.locator("[data-testid=prop-sequential]")).to_have_text("依次")
    # A task that is not multi-instance has no such select.
    shape(page, "submit_declaration").click()
    expect(page.locator("#prop-approval-mode")).to_have_count(0)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    no_js_errors(page)
