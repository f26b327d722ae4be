"""批量办理 and 代理设置 on the inbox, in a real browser: batchable rows get a checkbox, one form
completes them each, the summary names the task that failed; a substitute is named and cancelled
from the 代理设置 card; both at 390 px without sideways scrolling."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect
from sqlalchemy import select

from service.operations import identity, substitutes, tasks
from service.scenario import Driver, worker
from service.storage.models import Substitute, WorkItem
from tests.web.conftest import no_js_errors, shot

PHONE = {"width": 390, "height": 844}


def test_batch_completion_from_the_inbox(sessions, web_ctx):
    driver = Driver(web_ctx)
    ids = []
    for n in range(4):
        pid = driver.declare("市教育局", project_name=f"参建项目{n}", participants=["市民政局"]).project_id
        ids.append(driver.item(pid, "confirm_declaration").id)
    other = driver.declare("市民政局", project_name="民政自建项目", participants=[]).project_id  # noqa: F841

    civil = sessions.as_("civil")
    civil.goto("/inbox")
    picks = civil.locator("#inbox tbody tr[data-task=confirm_declaration] input.batch-pick")
    expect(picks).to_have_count(4)
    expect(civil.locator("#batch-open")).to_be_disabled()
    for i in range(4):
        picks.nth(i).check()
    expect(civil.locator("#batch-open")).to_have_text("批量办理（4）")
    # One of them is done elsewhere meanwhile: the batch reports it and completes the others.
    tasks.complete(web_ctx, ids[1], driver.answer("participant_confirmation"), worker("市民政局"))

    civil.click("#batch-open")
    dialog = civil.locator("dialog.gf-dialog")
    expect(dialog).to_contain_text("批量办理 4 项")
    # Submitting without the required fields: shown on the form, nothing is completed.
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator("p.form-error")).to_contain_text("表单填写有误")
    expect(dialog.locator('[data-path="confirmation"] .sf-error')).to_be_visible()
    dialog.locator('[data-path="confirmation"] select').select_option("同意")
    dialog.locator('[data-path="responsibilities"] textarea').fill("提供低保对象数据，配合业务协同。")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_have_count(0)
    result = civil.locator("#batch-result")
    expect(result).to_contain_text("成功 3 项，失败 1 项")
    expect(result).to_contain_text("该任务已办结")
    expect(civil.locator("#inbox tbody tr[data-task=confirm_declaration]")).to_have_count(0)
    with web_ctx.db.session() as s:
        states = [s.get(WorkItem, i).state for i in ids]
    assert states == ["completed"] * 4
    shot(civil, "inbox-batch-result")
    no_js_errors(civil)


def test_substitute_card_and_the_substitutes_todo(sessions, web_ctx):
    identity.create_user(web_ctx, "civil2", unit="市民政局", roles=["department"],
                         password=identity.DEMO_PASSWORD, display_name="钱伟")
    driver = Driver(web_ctx)
    pid = driver.declare("市教育局", project_name="救助数据共享", participants=["市民政局"]).project_id
    item = driver.item(pid, "confirm_declaration")
    from service.domain.access import Actor
    tasks.claim(web_ctx, item.id, Actor("civil", "市民政局", frozenset({"department"})))

    civil = sessions.as_("civil")
    civil.goto("/inbox")
    card = civil.locator("#substitutes-card")
    expect(card).to_be_visible()
    civil.select_option("#sub-who", "civil2")
    civil.fill("#sub-to", (substitutes.today() + dt.timedelta(days=2)).isoformat())
    civil.click("#sub-form button[type=submit]")
    expect(civil.locator("#sub-mine li")).to_contain_text("钱伟")
    expect(civil.locator("#sub-mine li")).to_contain_text("代理中")
    # The same period again: the server's 409 under the form.
    civil.select_option("#sub-who", "civil2")
    civil.fill("#sub-to", (substitutes.today() + dt.timedelta(days=2)).isoformat())
    civil.click("#sub-form button[type=submit]")
    expect(card.locator("p.form-error")).to_contain_text("重叠")

    civil2 = sessions.as_("civil2")
    civil2.set_viewport_size(PHONE)
    civil2.goto("/inbox?mine=true")
    row = civil2.locator(f"#inbox tbody tr[data-task-id='{item.id}']")
    expect(row).to_contain_text("由我代理")
    expect(civil2.locator("#sub-covering")).to_contain_text("赵文静")
    expect(row.locator("input.batch-pick")).to_have_count(1)
    assert civil2.evaluate("document.documentElement.scrollWidth") <= 390
    shot(civil2, "inbox-substitute-390")

    civil.locator("#sub-mine button.sub-cancel").click()
    expect(civil.locator("#sub-mine li")).to_contain_text("已取消")
    with web_ctx.db.session() as s:
        assert s.scalars(select(Substitute)).one().cancelled_at is not None
    civil.set_viewport_size(PHONE)
    assert civil.evaluate("document.documentElement.scrollWidth") <= 390
    no_js_errors(civil)
    no_js_errors(civil2)
