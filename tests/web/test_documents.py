"""Documents in the browser (docs/documents.md): 导出档案 only where it works, the printable 审批单
(no script, the print stylesheet), the register's Excel export, messages that are short and linked."""
from __future__ import annotations

import io
import re
import zipfile

from openpyxl import load_workbook
from playwright.sync_api import expect

from service.scenario import Driver
from tests.web.conftest import no_js_errors, shot


def test_export_button_only_where_the_export_works(sessions, web_ctx):
    driver = Driver(web_ctx)
    pid = driver.declare("市教育局", participants=[]).project_id
    driver.run(pid, until="review_consolidate")

    other = sessions.as_("nature")  # 市自然资源和规划局: nothing to do with this project
    other.goto(f"/projects/{pid}")
    expect(other.locator("#project-facts")).to_contain_text("东营市智慧教育平台")
    expect(other.locator("#export-zip")).to_have_count(0)
    expect(other.locator("#approval-sheets")).to_have_count(0)
    assert other.request.get(f"/api/projects/{pid}/export.zip").status == 403  # what the button would have met
    no_js_errors(other)

    own = sessions.as_("edu")
    own.goto(f"/projects/{pid}")
    button = own.locator("#export-zip")
    expect(button).to_be_visible()
    with own.expect_download() as info:
        button.click()
    z = zipfile.ZipFile(info.value.path())
    assert "summary.html" in z.namelist() and any(n.endswith(".pdf") for n in z.namelist())

    # The 审批单 of a completed step: a document page, printable, with no script and no inline style.
    sheet = own.locator("#approval-sheets a", has_text="编制建设方案").first
    expect(sheet).to_have_attribute("href", re.compile(r"^/tasks/\d+/approval$"))
    page = sessions.as_("edu")
    page.goto(sheet.get_attribute("href") or "")
    expect(page.locator("h1")).to_have_text("编制建设方案审批单")
    expect(page.locator("table.inner").first).to_contain_text("软件开发")  # 投资概算明细 as a table
    expect(page.locator("table.kv").first).to_contain_text("东营市智慧教育平台")
    assert page.evaluate("document.scripts.length") == 0
    for width in (390, 1280):  # phones and desks: nothing wider than the screen
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    own.set_viewport_size({"width": 390, "height": 900})
    assert own.evaluate("document.documentElement.scrollWidth") <= 390
    page.emulate_media(media="print")
    expect(page.locator(".print-actions")).to_be_hidden()
    shot(page, "approval-sheet")
    no_js_errors(page)
    no_js_errors(own)


def test_register_excel_export_carries_the_filters(sessions, web_ctx):
    driver = Driver(web_ctx)
    driver.declare("市教育局")
    health = driver.declare("市卫生健康委员会", project_name="东营市健康医疗大数据平台", participants=[])
    page = sessions.as_("edu")
    page.goto("/projects")
    expect(page.locator("#projects tbody tr")).to_have_count(2)
    page.select_option("#f-unit", "市卫生健康委员会")
    expect(page.locator("#export-xlsx")).to_have_attribute("href", re.compile(r"/api/projects/export\.xlsx\?unit="))
    with page.expect_download() as info:
        page.click("#export-xlsx")
    rows = list(load_workbook(io.BytesIO(open(info.value.path(), "rb").read())).active.values)
    assert [r[0] for r in rows[1:]] == [health.code] and rows[1][6] == "在办"
    no_js_errors(page)
