"""加签 in a real browser: the holder (市教育局) adds a 前加签 signer from another unit (市公安局) in the
task page's dialog, cannot submit until it is signed, the signer finds it under 待我加签, reads the
file and signs on its page, then the holder completes; both pages fit 390 px."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from service.scenario import Driver
from tests.web.conftest import no_js_errors, shot
from tests.web.test_task_actions import audit_records, csrf, work_item, write_plan_task


def fits_phone(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_before_countersign_from_another_unit(sessions, web_ctx):
    project_id, item_id, _ = write_plan_task(web_ctx)
    answer = Driver(web_ctx).answer(work_item(web_ctx, item_id).form)

    edu = sessions.as_("edu")
    edu.goto(f"/tasks/{item_id}")
    # The whole form as a saved draft (暂存), so 提交 has something valid to send.
    r = edu.request.put(f"/api/tasks/{item_id}/draft", data={"data": answer}, headers={"X-CSRF-Token": csrf(edu)})
    assert r.ok, r.text()
    edu.reload()
    edu.locator("#countersign-add").click()
    box = edu.locator("dialog.gf-dialog")
    expect(box.locator("h2")).to_have_text("加签")
    box.get_by_role("button", name="确认加签").click()
    expect(box.locator(".form-error")).to_have_text("请选择至少一个加签单位或人员")
    box.locator("#countersign-kind").select_option("before")
    box.locator(".cs-signer").first.select_option("unit:市公安局")
    box.locator("#countersign-note").fill("请核实数据安全措施")
    box.get_by_role("button", name="确认加签").click()
    expect(edu.locator("#countersign-list")).to_contain_text("市公安局")
    expect(edu.locator("#countersign-list")).to_contain_text("待签署")
    edu.locator("#submit-task").click()
    expect(edu.locator("#toasts")).to_contain_text("尚有 1 个加签未完成：市公安局")
    assert work_item(web_ctx, item_id).state == "open"
    shot(edu, "countersign-task")
    no_js_errors(edu)

    police = sessions.as_("police")
    police.goto("/inbox")
    todo = police.locator("#countersign-todo")
    expect(todo).to_contain_text("编制建设方案")
    todo.get_by_role("link").first.click()
    expect(police.locator("h1")).to_have_text("前加签：编制建设方案")
    expect(police.locator("#countersign-main")).to_contain_text("说明：请核实数据安全措施")
    # The project file so far: the signer's unit reads it like an involved unit.
    expect(police.locator("details.fv-step").first).to_be_visible()
    police.locator("#countersign-opinion").fill("数据安全措施可行。")
    shot(police, "countersign-signer")
    fits_phone(police)
    police.set_viewport_size({"width": 1280, "height": 900})
    police.locator("#countersign-sign").click()
    police.wait_for_url("**/inbox*")
    expect(police.locator("#toasts")).to_contain_text("已签署：同意")
    expect(police.locator("#countersign-todo")).to_have_count(0)
    no_js_errors(police)

    edu.reload()
    expect(edu.locator("#countersign-list")).to_contain_text("数据安全措施可行。")
    expect(edu.locator("#countersign-list")).to_contain_text("同意")
    fits_phone(edu)
    edu.set_viewport_size({"width": 1280, "height": 900})
    edu.locator("#submit-task").click()
    edu.wait_for_url("**/inbox*")
    assert work_item(web_ctx, item_id).state == "completed"
    [signed] = audit_records(edu, project_id, "countersign_signed")
    assert signed["actor"] == "police" and signed["detail"]["decision"] == "同意"
    no_js_errors(edu)
