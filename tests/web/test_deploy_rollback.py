"""流程设计 in a real browser: 设为最新版本 (rollback) with its preview, the deploy records, and an
earlier version that could no longer run refused with its problems. (The deploy preview in the
modeler: tests/web/test_designer.py.)"""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from service.domain.access import Actor
from service.operations import processes
from service.scenario import Driver
from service.storage.models import ProcessInstance, ProcessVersion
from tests.web.conftest import no_js_errors, shot

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
FOREIGN = Path(__file__).resolve().parents[1] / "engine" / "fixtures" / "dialects" / "foreign_lifecycle.bpmn"
DESIGNER = Actor("designer", None, frozenset({"designer"}))


def test_rollback_from_the_version_list_after_a_preview(web_ctx, sessions) -> None:  # type: ignore[no-untyped-def]
    files = processes.bundle_from_directory(PROCESSES)
    files["lifecycle.bpmn"] = files["lifecycle.bpmn"].replace("填报入库申请".encode(), "填报入库申请（第二版）"
                                                                                 "".encode(), 1)
    processes.deploy(web_ctx, files, DESIGNER, promote=True)
    with web_ctx.db.session() as s:  # a version stored before deploy checked runnability (issue 13)
        v1 = s.scalar(select(ProcessVersion).where(ProcessVersion.version == 1))
        s.add(ProcessVersion(process_key=v1.process_key, version=3, checksum="f" * 64,
                             sources={"foreign.bpmn": FOREIGN.read_text()}, spec_json=v1.spec_json, deployed_by="x"))

    page = sessions.as_("designer")
    page.goto("/designer")
    rows = page.locator("#version-table tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator('#version-table tr[data-version="2"]')).to_contain_text("最新")

    # The unrunnable version: refused before any dialog, with its problems located.
    page.locator('#version-table tr[data-version="3"]').get_by_role("button", name="设为最新版本").click()
    expect(page.locator("#status")).to_contain_text("无法运行")
    expect(page.locator("#rollback-issues")).to_contain_text("sign_paper")
    expect(page.locator("#rollback-issues")).to_contain_text("第 5 行")
    expect(page.locator("#deploy-dialog")).to_have_count(0)

    page.locator('#version-table tr[data-version="1"]').get_by_role("button", name="设为最新版本").click()
    dialog = page.locator("#deploy-dialog")
    expect(dialog.locator("#preview-replaces")).to_contain_text("把版本 1 重新设为最新")
    expect(dialog.locator("#preview-replaces")).to_contain_text("版本 2")
    expect(dialog.locator("#preview-changes")).to_contain_text("填报入库申请（第二版）")
    page.locator("#deploy-reason").fill("第二版标题有误")
    shot(page, "designer-rollback-preview")
    dialog.get_by_role("button", name="确认回退").click()
    expect(page.locator("#status")).to_contain_text("已把版本 1 设为最新")
    expect(page.locator('#version-table tr[data-version="1"]')).to_contain_text("最新")
    expect(page.locator('#version-table tr[data-version="2"]')).to_contain_text("历史版本")
    first = page.locator("#deploy-table tbody tr").first
    expect(first).to_contain_text("回退到历史版本")
    expect(first).to_contain_text("第二版标题有误")
    expect(first).to_contain_text("v1")
    shot(page, "designer-deploys")
    no_js_errors(page)

    declared = Driver(web_ctx).declare("市教育局")
    with web_ctx.db.session() as s:
        version = s.scalar(select(ProcessVersion.version)
                        .join(ProcessInstance, ProcessInstance.version_id == ProcessVersion.id)
                           .where(ProcessInstance.project_id == declared.project_id))
    assert version == 1
