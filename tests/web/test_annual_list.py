"""年度项目清单 in the browser (desktop): 市大数据局 compiles the 建议清单 on the page, 市财政局
co-signs it, 市政府 approves it with its 文号 and leaves one project off; after 预算安排完成 on the
申报期 page, an urgent project goes through a 追加清单 the same way (第六条、第七条(五))."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from service.scenario import Driver
from tests.web.conftest import no_js_errors, shot

YEAR = 2027


def ready(page: Page, path: str, root: str = "#al-root") -> None:
    page.goto(path)
    expect(page.locator(root)).to_have_attribute("data-ready", "1")


def compile_and_cosign(sessions, pids: list[int], name: str) -> None:  # type: ignore[no-untyped-def]
    bigdata = sessions.as_("bigdata")
    ready(bigdata, f"/annual-lists?year={YEAR}")
    for i, pid in enumerate(pids, start=1):
        bigdata.locator(f"[data-pick='{pid}']").check()
        bigdata.locator(f"[data-priority='{pid}']").fill(str(i))
    bigdata.locator("#al-note").fill("按轻重缓急排序")
    bigdata.locator("#al-save").click()
    expect(bigdata.locator("#al-ok")).to_contain_text("草稿已保存")
    expect(bigdata.locator(".al-list[data-status='draft']")).to_be_visible()
    shot(bigdata, f"annual-list-{name}-compiled")
    no_js_errors(bigdata)

    finance = sessions.as_("finance")
    ready(finance, f"/annual-lists?year={YEAR}")
    finance.locator("#al-cosign-opinion").fill("同意，预算规模在年度控制数内")
    finance.locator("#al-cosign").click()
    expect(finance.locator("#al-ok")).to_contain_text("已会签")
    no_js_errors(finance)


def test_compile_cosign_approve_and_a_supplementary_list_through_the_pages(sessions, web_ctx):  # type: ignore[no-untyped-def]
    driver = Driver(web_ctx)
    a = driver.declare("市教育局", budget_year=YEAR, participants=[]).project_id
    b = driver.declare("市卫生健康委员会", budget_year=YEAR, participants=[]).project_id
    for pid in (a, b):
        driver.run(pid)
    compile_and_cosign(sessions, [a, b], "main")

    gov = sessions.as_("gov")
    ready(gov, f"/annual-lists?year={YEAR}")
    gov.locator(f"[data-keep='{b}']").uncheck()
    gov.locator(f"[data-amount='{a}']").fill("600")
    gov.locator("#al-approve").click()  # no 文号, and above the proposal without a reason
    expect(gov.locator("#al-error")).to_contain_text("文号")
    gov.locator("#al-doc").fill("东政字〔2026〕15号")
    gov.locator("#al-approve").click()
    expect(gov.locator("#al-error")).to_contain_text("须填写理由")
    expect(gov.locator(".al-field-error")).to_contain_text("450")
    shot(gov, "annual-list-approve-refused")
    gov.locator(f"[data-amount='{a}']").fill("450")
    gov.locator("#al-approve").click()
    expect(gov.locator("#al-ok")).to_contain_text("列入 1 个项目，未列入 1 个")
    expect(gov.locator(".al-list[data-status='approved']")).to_contain_text("东政字〔2026〕15号")
    shot(gov, "annual-list-approved")
    no_js_errors(gov)
    assert [w.task_name for w in driver.open_items(a)] == ["consistency_request"]

    supervisor = sessions.as_("supervisor")
    ready(supervisor, "/admin/declaration-windows", "#dw-root")
    supervisor.locator(f"[data-arranged='{YEAR}']").click()
    supervisor.locator(f"[data-confirm-arranged='{YEAR}']").click()
    expect(supervisor.locator("#dw-ok")).to_contain_text("预算安排已完成")
    expect(supervisor.locator(f"tr[data-year='{YEAR}']")).to_contain_text("已完成")
    shot(supervisor, "declaration-windows")
    no_js_errors(supervisor)

    urgent = driver.declare("市民政局", budget_year=YEAR, participants=[], is_urgent=True,
                            urgent_basis="市政府临时部署的防汛应急指挥系统").project_id
    driver.run(urgent)
    compile_and_cosign(sessions, [urgent], "supplementary")
    ready(gov, f"/annual-lists?year={YEAR}")
    expect(gov.locator(".al-list[data-status='cosigned'] h2")).to_contain_text("第 1 批追加清单")
    gov.locator("#al-doc").fill("东政字〔2027〕3号")
    gov.locator("#al-approve").click()
    expect(gov.locator("#al-ok")).to_contain_text("列入 1 个项目")
    expect(gov.locator(".al-list[data-status='approved']")).to_have_count(2)
    shot(gov, "annual-list-supplementary")
    no_js_errors(gov)
    assert [w.task_name for w in driver.open_items(urgent)] == ["consistency_request"]

    edu = sessions.as_("edu")  # another department: the page is not theirs
    assert edu.request.get("/annual-lists", max_redirects=0).status == 403
