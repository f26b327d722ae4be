"""流程设计 pages in a real browser: the version list, the BPMN modeler (rename a task, 校验,
部署新版本; running instances keep their version), issues marked on the diagram, the DMN editor
and the form designer."""
from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from service.scenario import Driver
from service.storage.models import ProcessInstance, ProcessVersion
from tests.web.conftest import no_js_errors, shot

TASK = "confirm_declaration"  # the first task open after a declaration (参建单位确认申报)
OLD_NAME = "参建单位确认申报"
NEW_NAME = "参建单位确认（第二版）"


def shape(page: Page, element_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f'.djs-element[data-element-id="{element_id}"]')


def open_modeler(page: Page) -> None:
    page.goto("/designer/modeler")
    expect(shape(page, TASK)).to_be_visible()
    expect(page.locator("#validate")).to_be_enabled()


def version_of(ctx, project_id: int) -> int:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        return s.scalar(select(ProcessVersion.version)
                        .join(ProcessInstance, ProcessInstance.version_id == ProcessVersion.id)
                        .where(ProcessInstance.project_id == project_id))


def test_rename_task_deploy_version_2_running_instance_keeps_version_1(web_ctx, sessions) -> None:  # type: ignore[no-untyped-def]
    driver = Driver(web_ctx)
    a = driver.declare("市教育局")
    assert driver.item(a.project_id, TASK).title == OLD_NAME

    page = sessions.as_("designer")
    page.goto("/designer")
    row = page.locator("#version-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.first).to_contain_text("v1")
    expect(row.first).to_contain_text("运行中 1")
    open_link = row.first.get_by_role("link", name="在建模器中打开")
    expect(open_link).to_have_attribute("href", re.compile(r"/designer/modeler\?version=\d+"))

    open_modeler(page)
    expect(page.locator("#base-version")).to_have_text("版本 1")
    # Rename through the diagram: double-click opens the label editor.
    shape(page, TASK).dblclick()
    editor = page.locator(".djs-direct-editing-parent")
    expect(editor).to_be_visible()
    page.keyboard.press("Control+A")
    page.keyboard.type(NEW_NAME)
    box = page.locator("#canvas").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 60, box["y"] + box["height"] - 40)  # empty canvas ends editing
    expect(editor).to_be_hidden()
    expect(shape(page, TASK)).to_contain_text(NEW_NAME)
    expect(page.locator("#dirty-flag")).to_be_visible()
    expect(page.locator("#undo")).to_be_enabled()

    # The properties panel shows the new name and the task's Spiff properties.
    shape(page, TASK).click()
    expect(page.locator("#prop-name")).to_have_value(NEW_NAME)
    expect(page.locator("#prop-spiff-form")).to_have_value("participant_confirmation")
    expect(page.locator("#prop-spiff-sla_days")).to_have_value("5")

    page.get_by_role("button", name="校验").click()
    expect(page.locator("#issues")).to_contain_text("校验通过")
    expect(page.locator("#status")).to_contain_text("校验通过")
    shot(page, "modeler")

    page.get_by_role("button", name="部署新版本").click()
    # The preview names the version replaced and the renamed task before anything goes live.
    expect(page.locator("#preview-replaces")).to_contain_text("版本 1")
    expect(page.locator("#preview-changes")).to_contain_text(NEW_NAME)
    page.locator("#deploy-dialog").get_by_role("button", name="确认部署").click()
    expect(page.locator("#status")).to_contain_text("已部署为新版本：版本 2")
    expect(page.locator("#base-version")).to_have_text("版本 2")
    expect(page.locator("#dirty-flag")).to_be_hidden()
    # Deploying again without a change makes no version 3 (the preview says so; no dialog).
    page.get_by_role("button", name="部署新版本").click()
    expect(page.locator("#status")).to_contain_text("无需部署")
    expect(page.locator("#deploy-dialog")).to_have_count(0)
    no_js_errors(page)

    page.goto("/designer")
    rows = page.locator("#version-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("v2")
    expect(rows.first).to_contain_text("最新")
    expect(rows.nth(1)).to_contain_text("v1")
    expect(rows.nth(1)).to_contain_text("运行中 1")
    shot(page, "designer-versions")

    b = driver.declare("市卫生健康委员会")
    assert version_of(web_ctx, a.project_id) == 1
    assert version_of(web_ctx, b.project_id) == 2
    assert driver.item(a.project_id, TASK).title == OLD_NAME
    assert driver.item(b.project_id, TASK).title == NEW_NAME
    # The version list counts B on version 2.
    page.reload()
    expect(page.locator("#version-table tbody tr").first).to_contain_text("运行中 1")
    no_js_errors(page)


def test_validation_issues_are_marked_on_the_diagram_and_block_deploy(web_ctx, sessions) -> None:  # type: ignore[no-untyped-def]
    page = sessions.as_("designer")
    open_modeler(page)

    # A user task naming a form that does not exist, through the properties panel.
    shape(page, TASK).click()
    page.locator("#prop-spiff-form").fill("no_such_form")
    page.locator("#prop-spiff-form").press("Tab")
    # A condition with an import, on a gateway's outgoing flow (selected with the modeler API,
    # edited in the panel).
    flow = "f_gw_preliminary__merge_plan"
    page.evaluate("id => { const m = window.govflowModeler; "
                  "m.get('selection').select(m.get('elementRegistry').get(id)); }", flow)
    condition = page.locator("#prop-condition")
    expect(condition).to_have_value('preliminary_decision == "入库"')
    condition.fill("import os")
    condition.press("Tab")

    page.get_by_role("button", name="校验").click()
    issues = page.locator("#issue-list li")
    expect(issues).to_have_count(2)
    expect(page.locator("#issue-list")).to_contain_text(flow)
    expect(page.locator("#issue-list")).to_contain_text("表单 no_such_form 不存在")
    expect(shape(page, flow)).to_have_class(re.compile(r"\bgf-issue\b"))
    expect(shape(page, TASK)).to_have_class(re.compile(r"\bgf-issue\b"))
    expect(page.locator("#status")).to_contain_text("校验未通过")

    # Clicking an issue selects its element.
    issues.filter(has_text="no_such_form").click()
    expect(page.locator('[data-testid="prop-id"]')).to_have_text(TASK)
    shot(page, "modeler-issues")

    page.get_by_role("button", name="部署新版本").click()  # the preview refuses it: no dialog to confirm
    expect(page.locator("#status")).to_contain_text("部署被拒绝")
    expect(page.locator("#deploy-dialog")).to_have_count(0)
    expect(page.locator("#issues")).to_contain_text("部署被拒绝")
    expect(page.locator("#issue-list li")).to_have_count(2)
    versions = page.request.get("/api/processes").json()
    assert [v["version"] for v in versions] == [1]

    # 撤销 twice restores the condition and the form property.
    page.get_by_role("button", name="撤销").click()
    page.get_by_role("button", name="撤销").click()
    issues.filter(has_text="no_such_form").click()
    expect(page.locator("#prop-spiff-form")).to_have_value("participant_confirmation")
    page.get_by_role("button", name="校验").click()
    expect(page.locator("#issues")).to_contain_text("校验通过")
    expect(shape(page, flow)).not_to_have_class(re.compile(r"\bgf-issue\b"))
    no_js_errors(page)


def test_dmn_editor_shows_article_13_table(web_ctx, sessions) -> None:  # type: ignore[no-untyped-def]
    page = sessions.as_("designer")
    page.goto("/designer/dmn")
    table = page.locator("#dmn")
    expect(table).to_contain_text("项目变更：备案或重新评审（第十三条）")
    expect(table.get_by_text("第十三条：资金调整数额超过概算总投资15%")).to_be_visible()
    expect(table).to_contain_text("命中策略")
    expect(page.locator("#file")).to_have_value("change_rule.dmn")
    page.get_by_role("button", name="校验").click()
    expect(page.locator("#issues")).to_contain_text("校验通过")
    # The table as dmn-js writes it back is still a valid bundle.
    body = page.evaluate("""async () => {
        const version = await (await fetch('/api/processes/latest')).json();
        const files = {...version.files, 'change_rule.dmn': (await window.govflowDmn.saveXML({format: true})).xml};
        const r = await fetch('/api/processes/validate', {method: 'POST', headers: {'Content-Type': 'application/json',
            'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content}, body: JSON.stringify({files})});
        return r.json();
    }""")
    assert body == {"valid": True, "issues": []}, body
    shot(page, "dmn")
    no_js_errors(page)


def select_form(page: Page, name: str) -> None:
    page.goto("/designer/forms")
    page.locator(f'#form-list li[data-name="{name}"]').click()
    expect(page.locator("#form-revision")).to_be_visible()
    expect(page.locator("#preview .sf-form")).to_be_visible()


def edit_json(page: Page, old: str, new: str) -> None:
    editor = page.locator("#schema-text")
    text = editor.input_value()
    assert old in text, old
    editor.fill(text.replace(old, new, 1))


def test_form_editor_preview_validate_and_save(web_ctx, sessions) -> None:  # type: ignore[no-untyped-def]
    page = sessions.as_("designer")
    select_form(page, "preliminary_review")
    row = page.locator('#form-list li[data-name="preliminary_review"]')
    expect(row).to_contain_text("初审结论（preliminary_review）")
    expect(page.locator("#form-revision")).to_have_text("初始版")
    schema = page.request.get("/api/forms/preliminary_review").json()["schema"]
    title = schema["properties"]["necessity_opinion"]["title"]
    preview = page.locator("#preview")
    expect(preview).to_contain_text(title)

    # A field title edited in the JSON changes the preview label.
    edit_json(page, f'"title": "{title}"', '"title": "必要性意见（新版）"')
    expect(preview).to_contain_text("必要性意见（新版）")
    expect(page.locator("#dirty-flag")).to_be_visible()

    # Broken JSON: the error names line and column, the preview waits.
    good = page.locator("#schema-text").input_value()
    lines = good.split("\n")
    lines[3] = lines[3].rstrip(",")  # drop a comma at the end of line 4
    page.locator("#schema-text").fill("\n".join(lines))
    expect(page.locator("#json-error")).to_contain_text(re.compile(r"第 \d+ 行第 \d+ 列"))
    expect(preview).to_contain_text("JSON 有语法错误")
    page.locator("#schema-text").fill(good)
    expect(page.locator("#json-error")).to_be_hidden()
    expect(preview).to_contain_text("必要性意见（新版）")

    page.get_by_role("button", name="载入示例数据").click()
    example_opinion = schema["examples"][0]["necessity_opinion"]
    expect(preview.locator("textarea").first).to_have_value(example_opinion)

    page.get_by_role("button", name="校验").click()
    expect(page.locator("#form-issues")).to_contain_text("校验通过")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#form-issues")).to_contain_text("已保存为第 1 版")
    expect(page.locator("#form-revision")).to_have_text("第 1 版")
    expect(row).to_contain_text("第 1 版")
    expect(row).to_contain_text("已在线修改")
    expect(page.locator("#dirty-flag")).to_be_hidden()
    saved = page.request.get("/api/forms/preliminary_review").json()["schema"]
    assert saved["properties"]["necessity_opinion"]["title"] == "必要性意见（新版）"
    shot(page, "forms")

    # Removing an engine field (the task's `outputs`) is refused by 校验 and by 保存.
    data = page.request.get("/api/forms/preliminary_review").json()["schema"]
    del data["properties"]["preliminary_decision"]
    data["required"] = [f for f in data["required"] if f != "preliminary_decision"]
    for example in data.get("examples", []):
        example.pop("preliminary_decision", None)
    page.locator("#schema-text").fill(json.dumps(data, ensure_ascii=False, indent=2))
    page.get_by_role("button", name="校验").click()
    issues = page.locator("#form-issues")
    expect(issues).to_contain_text("校验未通过")
    expect(issues).to_contain_text("preliminary_decision")
    expect(issues).to_contain_text("不能删除")
    page.get_by_role("button", name="保存").click()
    expect(issues).to_contain_text("未保存")
    expect(issues).to_contain_text("preliminary_decision")
    assert page.request.get("/api/forms/preliminary_review").json()["revision"] == 1
    no_js_errors(page)
