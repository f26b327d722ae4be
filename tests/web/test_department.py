"""The department pages in a real browser: 市教育局 works a task from its inbox through the
schema form (server-side errors shown under their fields), the project page with its diagram and
timeline, the register with filters and CSV, and the declaration form."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from service.operations import identity
from service.scenario import Driver
from tests.web.conftest import no_js_errors, shot


def login(page: Page, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", identity.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox*")


def field(page: Page, path: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-path="{path}"]')


def fill_plan(page: Page, estimate_total: str) -> None:
    """编制建设方案 as a clerk fills it: texts, the estimate row, the yes/no questions, the choices, the file."""
    for name in ("necessity", "feasibility", "construction_goals", "technical_design", "deployment_requirements",
                 "crypto_plan", "data_catalog"):
        field(page, name).locator("textarea").fill("按《东营市市级政务数字化项目管理办法》要求编制。")
    field(page, "estimate_total").locator("input").fill(estimate_total)
    field(page, "estimate_items/0/category").locator("select").select_option("软件开发")
    field(page, "estimate_items/0/item_name").locator("input").fill("平台软件开发")
    field(page, "estimate_items/0/amount").locator("input").fill("480")
    for name in ("uses_gov_cloud", "gov_extranet", "big_data_platform", "city_brain", "cloud_native", "ipv6",
                 "xinchuang", "emergency_plan"):
        field(page, name).locator("input[value=true]").check()
    field(page, "ai_on_gov_cloud").locator("select").select_option("基于政务云建设")
    field(page, "mobile_channel").locator("select").select_option("爱山东")
    field(page, "mlps_level").locator("select").select_option("第三级")


def test_department_user_works_a_task_from_the_inbox_with_inline_errors(sessions, web_ctx):
    driver = Driver(web_ctx)
    declared = driver.declare("市教育局")
    driver.run(declared.project_id, until="write_plan")

    page = sessions.new_page()
    login(page, "edu")
    row = page.locator("#inbox tbody tr[data-task=write_plan]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(declared.code)
    expect(row).to_contain_text("方案编制和报送")
    expect(row).to_contain_text("市教育局")
    expect(row.locator("td.days-left")).to_contain_text("20 个工作日")
    shot(page, "inbox")

    row.locator("a.task-link").click()
    page.wait_for_url(re.compile(r"/tasks/\d+$"))
    expect(page.locator("h1")).to_contain_text("编制建设方案")
    # A new task opens empty: nothing from the form's example is prefilled.
    expect(field(page, "necessity").locator("textarea")).to_have_value("")
    fill_plan(page, estimate_total="-5")
    # The plan document goes up through the attachment API; the field keeps its id.
    field(page, "plan_document").locator("input[type=file]").set_input_files(
        {"name": "建设方案.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 plan"})
    expect(field(page, "plan_document").locator(".sf-file-current a")).to_have_text("建设方案.pdf")

    page.click("#submit-task")
    error = field(page, "estimate_total").locator(".sf-error")
    expect(error).to_have_text("投资概算总额（万元）：不能小于 0")
    expect(field(page, "estimate_total")).to_have_class(re.compile(r"\bhas-error\b"))
    expect(page.locator(".sf-error")).to_have_count(1)  # only the wrong field is marked
    expect(field(page, "estimate_total").locator("input")).to_be_focused()
    shot(page, "task-form-errors")

    field(page, "estimate_total").locator("input").fill("480")
    shot(page, "task")
    page.click("#submit-task")
    page.wait_for_url("**/inbox*")
    expect(page.locator("#toasts")).to_contain_text("已提交：编制建设方案")
    expect(page.locator("#inbox tbody tr[data-task=write_plan]")).to_have_count(0)
    no_js_errors(page)

    # The next step is the participating unit's confirmation, in 市民政局's inbox.
    civil = sessions.as_("civil")
    civil.goto("/inbox")
    nxt = civil.locator("#inbox tbody tr[data-task=confirm_plan]")
    expect(nxt).to_have_count(1)
    expect(nxt).to_contain_text(declared.code)
    expect(nxt).to_contain_text("市民政局")
    # The form data reached the server as typed values.
    plan = next(s for s in driver_steps(web_ctx, declared.project_id) if s.task_name == "write_plan")
    assert plan.data["estimate_total"] == 480
    assert plan.data["estimate_items"][0] == {"category": "软件开发", "item_name": "平台软件开发", "amount": 480}
    assert plan.data["function_points"] == [] and plan.data["uses_gov_cloud"] is True
    assert plan.data["plan_document"].isdigit()
    assert "opinion" not in plan.data and "risks" not in plan.data  # empty optional fields are omitted


def driver_steps(ctx, project_id):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from service.storage.models import WorkItem

    with ctx.db.session() as s:
        return list(s.scalars(select(WorkItem).where(WorkItem.project_id == project_id,
                                                     WorkItem.state == "completed")))


def test_project_page_shows_the_diagram_markers_timeline_and_dossier(sessions, web_ctx):
    driver = Driver(web_ctx)
    declared = driver.declare("市教育局")
    driver.run(declared.project_id, until="review_bigdata")

    page = sessions.as_("edu")
    page.goto(f"/projects/{declared.project_id}")
    expect(page.locator("#diagram[data-ready]")).to_have_count(1)
    expect(page.locator('#diagram [data-element-id="write_plan"]')).to_have_class(re.compile(r"\bgf-completed\b"))
    expect(page.locator('#diagram [data-element-id="review_police"]')).to_have_class(re.compile(r"\bgf-active\b"))
    expect(page.locator('#diagram [data-element-id="review_consolidate"]')).not_to_have_class(
        re.compile(r"\bgf-(completed|active)\b"))
    expect(page.locator("#process-version")).to_have_text("流程版本 v1")
    expect(page.locator("#timeline li[data-action=task_completed]")).to_have_count(6)
    expect(page.locator("#timeline")).to_contain_text("编制建设方案")
    expect(page.locator("#current-tasks tbody tr")).to_have_count(4)
    expect(page.locator("#current-tasks")).to_contain_text("市密码管理局")
    expect(page.locator("#audit-status")).to_contain_text("审计链完整")
    expect(page.locator("#export-zip")).to_have_attribute("href", f"/api/projects/{declared.project_id}/export.zip")
    shot(page, "project")
    no_js_errors(page)


def test_register_filters_and_exports_the_same_rows(sessions, web_ctx):
    driver = Driver(web_ctx)
    edu = driver.declare("市教育局")
    health = driver.declare("市卫生健康委员会", project_name="东营市健康医疗大数据平台", participants=[])

    page = sessions.as_("edu")
    page.goto("/projects")
    expect(page.locator("#projects tbody tr")).to_have_count(2)
    expect(page.locator("#projects tbody")).to_contain_text("在办")  # status in Chinese, not "active"
    page.select_option("#f-unit", "市卫生健康委员会")
    expect(page.locator("#projects tbody tr")).to_have_count(1)
    expect(page.locator("#projects tbody tr")).to_contain_text(health.code)
    expect(page.locator("#export-csv")).to_have_attribute("href", re.compile(r"/api/projects/export\.csv\?unit="))
    page.select_option("#f-status", "active")
    shot(page, "projects")
    csv = page.request.get(page.locator("#export-csv").get_attribute("href") or "")
    assert csv.ok
    text = csv.body().decode("utf-8-sig")
    assert health.code in text and edu.code not in text
    page.select_option("#f-status", "completed")
    expect(page.locator("#projects tbody")).to_contain_text("没有符合筛选条件的项目")
    page.click("#f-reset")
    expect(page.locator("#projects tbody tr")).to_have_count(2)
    page.locator(f"#projects a:text('{edu.code}')").click()
    page.wait_for_url(f"**/projects/{edu.project_id}")
    no_js_errors(page)


def fill_declaration(page: Page, *, phone: str, year: str) -> None:
    field(page, "project_name").locator("input").fill("东营市智慧教育平台二期")
    field(page, "project_type").locator("select").select_option("升级改造")
    field(page, "budget_year").locator("input").fill(year)
    field(page, "project_leader").locator("input").fill("王建国")
    field(page, "contact_person").locator("input").fill("李明")
    field(page, "contact_phone").locator("input").fill(phone)
    for name in ("construction_basis", "necessity", "existing_systems", "goals_and_content", "infrastructure_relation"):
        field(page, name).locator("textarea").fill("依据东营市2027年度市级政务数字化项目统建计划。")
    field(page, "proposed_mlps_level").locator("select").select_option("第三级")
    field(page, "crypto_application").locator("input[value=true]").check()
    field(page, "investment_estimate").locator("input").fill("300")
    field(page, "investment_breakdown/0/category").locator("select").select_option("软件开发")
    field(page, "investment_breakdown/0/amount").locator("input").fill("300")
    field(page, "funding_source").locator("select").select_option("一般公共预算")
    field(page, "construction_period_months").locator("input").fill("12")
    field(page, "performance_targets/0/level1").locator("select").select_option("产出指标")
    field(page, "performance_targets/0/level2").locator("input").fill("数量指标")
    field(page, "performance_targets/0/level3").locator("input").fill("整合系统数量")
    field(page, "performance_targets/0/target_value").locator("input").fill("≥2个")


def test_declare_page_rejects_an_invalid_declaration_inline_and_accepts_a_valid_one(sessions, web_ctx):
    page = sessions.as_("edu")
    page.goto("/projects/new")
    expect(field(page, "is_urgent").locator("input[value=false]")).to_be_checked()  # the schema default
    fill_declaration(page, phone="12345", year="2027")
    # A second performance row left empty: its required cells are reported on that row.
    field(page, "performance_targets").locator("button.sf-add").click()
    page.click("#declare-submit")
    expect(field(page, "contact_phone").locator(".sf-error")).to_contain_text("联系电话")
    expect(field(page, "performance_targets/1/level2").locator(".sf-error")).to_contain_text("必填")
    expect(field(page, "performance_targets/0/level2").locator(".sf-error")).to_have_count(0)
    shot(page, "declare")

    # The form is right but the 2031 window is not open: the rule (第六条) leads the form.
    field(page, "performance_targets").locator(".sf-row").nth(1).locator("button.sf-row-remove").click()
    expect(field(page, "performance_targets").locator(".sf-row")).to_have_count(1)
    field(page, "contact_phone").locator("input").fill("0546-8221234")
    field(page, "budget_year").locator("input").fill("2031")
    page.click("#declare-submit")
    expect(page.locator(".sf-summary")).to_contain_text("第六条")
    expect(page.locator(".sf-summary")).to_contain_text("2031 年度政务数字化项目申报尚未开放")
    expect(field(page, "contact_phone").locator(".sf-error")).to_have_count(0)

    field(page, "budget_year").locator("input").fill("2027")
    page.click("#declare-submit")
    page.wait_for_url(re.compile(r"/projects/\d+$"))
    expect(page.locator("h1")).to_have_text("东营市智慧教育平台二期")
    expect(page.locator("#toasts")).to_contain_text("申报成功")
    expect(page.locator("#current-tasks")).to_contain_text("初审（财政意见）")
    no_js_errors(page)
