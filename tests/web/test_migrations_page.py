"""实例迁移 in a real browser: the designer runs the dry run, sees which projects can move and why
others cannot, migrates, and the project page shows the version change."""
from __future__ import annotations

from playwright.sync_api import expect

from service.domain.access import Actor
from service.operations import processes
from service.scenario import Driver
from tests.operations.migration_versions import with_check_after_review, without_police_review
from tests.web.conftest import no_js_errors, shot

DESIGNER = Actor("designer", None, frozenset({"designer"}))


def test_designer_dry_runs_and_migrates_a_running_project(sessions, web_ctx):
    driver = Driver(web_ctx)
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="review_bigdata")
    processes.deploy(web_ctx, with_check_after_review(), DESIGNER)
    processes.deploy(web_ctx, without_police_review(), DESIGNER)
    page = sessions.as_("designer")
    page.goto("/designer/migrations")
    expect(page.locator("#from-version option")).to_have_count(3)
    page.select_option("#from-version", label="v1（运行中 1）")
    page.select_option("#to-version", label="v3 · 当前")
    page.get_by_role("button", name="预检").click()
    row = page.locator("#migration-table tbody tr").first
    expect(row).to_contain_text("不能迁移")
    expect(row).to_contain_text("方案评审（市公安局）")
    expect(page.locator("#migrate")).to_be_disabled()

    page.select_option("#to-version", label="v2")
    page.get_by_role("button", name="预检").click()
    expect(row).to_contain_text("可以迁移")
    page.locator("#migrate").click()
    page.locator("dialog.gf-dialog[open]").get_by_role("button", name="迁移").click()
    expect(page.locator("#toasts")).to_contain_text("已迁移 1 个项目")
    expect(page.locator("#migration-report")).to_contain_text("没有运行中的项目")
    expect(page.locator("#from-version")).to_contain_text("v1（运行中 0）")
    shot(page, "instance-migration")
    no_js_errors(page)

    page.goto(f"/projects/{pid}")
    expect(page.locator("#project-facts")).to_contain_text("自 v1 迁移")
    expect(page.locator("#timeline")).to_contain_text("流程版本迁移：v1 → v2")
    no_js_errors(page)
