"""抄送 through the service layer on SQLite and PostgreSQL: send to units and persons, 抄送我的,
marking read, what a copy lets its recipient read (and what it does not), refusals, the automatic
copy a BPMN user task declares, and two people copying one task at once."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service.domain.access import Actor
from service.domain.errors import Forbidden, NotFound, ValidationFailed
from service.operations import annual_list, attachments, audit, carbon_copy, identity, project_file, task_actions
from service.storage.models import AuditRecord, CarbonCopy, Notification, Unit, User
from tests.operations.test_concurrency import run_at_once

EDU = Actor("edu", "市教育局", frozenset({"department"}))
CIVIL = Actor("civil", "市民政局", frozenset({"department"}))
CIVIL2 = Actor("civil2", "市民政局", frozenset({"department"}))
HEALTH = Actor("health", "市卫生健康委员会", frozenset({"department"}))
NATURE = Actor("nature", "市自然资源和规划局", frozenset({"department"}))
FINANCE = Actor("finance", "市财政局", frozenset({"reviewer"}))
GOV = Actor("gov", "市政府", frozenset({"leader"}))


@pytest.fixture
def people(ctx):  # type: ignore[no-untyped-def]
    identity.seed_demo_users(ctx)
    with ctx.db.session() as s:
        unit = s.scalar(select(Unit).where(Unit.name == "市民政局"))
        s.add(User(username="civil2", display_name="钱民政", password_hash="x", unit_id=unit.id,
                   roles=["department"], active=True))


def _at_preliminary(driver) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="preliminary_review")
    return pid, driver.item(pid, "preliminary_review").id


def test_copy_a_task_to_a_unit_every_member_sees_and_reads_it(ctx, driver, people):  # type: ignore[no-untyped-def]
    pid, task = _at_preliminary(driver)
    # Before: 市民政局 has no part in the project.
    with pytest.raises(NotFound):
        task_actions.get_task(ctx, task, CIVIL)
    with pytest.raises(Forbidden):
        project_file.project_file(ctx, pid, CIVIL)

    sent = carbon_copy.send_task(ctx, task, EDU, units=["市民政局"], note="请知悉初审进展")["sent"]
    assert [(c["to_unit"], c["note"], c["sent_by"]) for c in sent] == [("市民政局", "请知悉初审进展", "edu")]

    for member in (CIVIL, CIVIL2):
        page = carbon_copy.for_me(ctx, member)
        assert page["total"] == 1 and page["unread"] == 1
        row = page["items"][0]
        assert row["sent_by_name"] == "王晓燕" and row["task"]["id"] == task and row["read_at"] is None
        assert row["path"] == f"/tasks/{task}?cc={row['id']}"
        # The copied task opens (open, read-only: no right to act), with the file before it.
        assert task_actions.get_task(ctx, task, member)["state"] == "open"
        steps = project_file.task_file(ctx, task, member)["steps"]
        assert "submit_declaration" in [st["task"] for st in steps]
        assert project_file.project_file(ctx, pid, member)["steps"]
    # Others do not.
    assert carbon_copy.for_me(ctx, HEALTH)["total"] == 0
    with pytest.raises(NotFound):
        project_file.task_file(ctx, task, HEALTH)
    with pytest.raises(Forbidden):
        project_file.project_file(ctx, pid, HEALTH)

    with ctx.db.session() as s:
        note = s.scalar(select(Notification).where(Notification.kind == "cc"))
        assert note is not None
        assert note.work_item_id == task and note.level == sent[0]["id"]
        assert s.get(Unit, note.unit_id).name == "市民政局"
        assert "请知悉初审进展" in note.payload["text"]
        actions = [r.action for r in s.scalars(select(AuditRecord).where(AuditRecord.project_id == pid)
                                                .order_by(AuditRecord.seq))]
        assert actions[-1] == "carbon_copied"
        assert audit.verify(s, pid) is None

    # One member reads it: read for the unit, and its message too.
    read = carbon_copy.mark_read(ctx, sent[0]["id"], CIVIL2)
    assert read["read_by"] == "civil2" and read["read_by_name"] == "钱民政"
    assert carbon_copy.for_me(ctx, CIVIL, unread=True)["total"] == 0
    with ctx.db.session() as s:
        assert s.scalar(select(Notification).where(Notification.kind == "cc")).read_at is not None
    # The sender sees the copy but does not mark it; a stranger gets "not found".
    assert carbon_copy.get(ctx, sent[0]["id"], EDU)["to_unit"] == "市民政局"
    with pytest.raises(Forbidden):
        carbon_copy.mark_read(ctx, sent[0]["id"], EDU)
    with pytest.raises(NotFound):
        carbon_copy.mark_read(ctx, sent[0]["id"], HEALTH)


def test_copy_to_a_person_is_theirs_alone_and_a_project_copy_opens_completed_steps_only(ctx, driver, people):  # type: ignore[no-untyped-def]
    pid, task = _at_preliminary(driver)
    carbon_copy.send_project(ctx, pid, EDU, users=["civil"], note="")
    assert carbon_copy.for_me(ctx, CIVIL)["items"][0]["task"] is None
    assert carbon_copy.for_me(ctx, CIVIL2)["total"] == 0
    assert project_file.project_file(ctx, pid, CIVIL)["steps"]
    with pytest.raises(Forbidden):
        project_file.project_file(ctx, pid, CIVIL2)
    done = project_file.project_file(ctx, pid, CIVIL)["steps"][0]["id"]
    assert task_actions.get_task(ctx, done, CIVIL)["state"] == "completed"
    # An open task of a copied project stays its unit's.
    with pytest.raises(NotFound):
        task_actions.get_task(ctx, task, CIVIL)


def test_a_recipient_downloads_the_file_attachments(ctx, driver, people, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    import io

    monkeypatch.setenv("GOVFLOW_ATTACHMENTS_DIR", str(tmp_path / "att"))
    pid, task = _at_preliminary(driver)
    att = attachments.upload(ctx, pid, "方案.pdf", io.BytesIO(b"%PDF-1.4 test"), "application/pdf", EDU)
    with pytest.raises(NotFound):
        attachments.open_attachment(ctx, att["id"], CIVIL)
    carbon_copy.send_task(ctx, task, EDU, units=["市民政局"])
    assert attachments.open_attachment(ctx, att["id"], CIVIL)[0]["filename"] == "方案.pdf"


def test_refusals(ctx, driver, people):  # type: ignore[no-untyped-def]
    pid, task = _at_preliminary(driver)

    def fields(call) -> set[str]:  # type: ignore[no-untyped-def]
        with pytest.raises(ValidationFailed) as e:
            call()
        return {f.path for f in e.value.errors}

    assert fields(lambda: carbon_copy.send_task(ctx, task, EDU)) == {"units"}
    assert fields(lambda: carbon_copy.send_task(ctx, task, EDU, users=["edu"])) == {"users"}
    assert fields(lambda: carbon_copy.send_task(ctx, task, EDU, units=["市教育局"])) == {"units"}
    assert fields(lambda: carbon_copy.send_task(ctx, task, EDU, units=["不存在的局"])) == {"units"}
    assert fields(lambda: carbon_copy.send_task(ctx, task, EDU, users=["nobody"])) == {"users"}
    assert fields(lambda: carbon_copy.send_task(ctx, task, EDU, users=["admin"])) == {"users"}  # no unit
    assert fields(lambda: carbon_copy.send_task(ctx, task, EDU, units=["市民政局"], note="字" * 501)) == {"note"}
    # A unit with no part in the project may not copy it; a recipient may not copy it on.
    with pytest.raises(NotFound):
        carbon_copy.send_task(ctx, task, HEALTH, units=["市民政局"])
    with pytest.raises(Forbidden):
        carbon_copy.send_project(ctx, pid, HEALTH, units=["市民政局"])
    carbon_copy.send_task(ctx, task, EDU, units=["市民政局"])
    with pytest.raises(Forbidden):
        carbon_copy.send_project(ctx, pid, CIVIL, units=["市卫生健康委员会"])
    with pytest.raises(NotFound):
        carbon_copy.send_task(ctx, 10**6, EDU, units=["市民政局"])
    with ctx.db.session() as s:
        assert len(list(s.scalars(select(CarbonCopy)))) == 1  # nothing half-sent


def test_bpmn_cc_units_copies_the_acceptance_report_on_completion(ctx, driver, people):  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid)
    annual_list.compile_cosign_approve(ctx, 2027, {pid: 400.0}, GOV)
    driver.run(pid, until="acceptance_report_filing")
    with ctx.db.session() as s:
        assert not list(s.scalars(select(CarbonCopy)))
    item = driver.item(pid, "acceptance_report_filing").id
    driver.complete(pid, "acceptance_report_filing")
    with ctx.db.session() as s:
        copies = list(s.scalars(select(CarbonCopy).order_by(CarbonCopy.id)))
        assert [(c.to_unit.name, c.sent_by, c.work_item_id) for c in copies] == [
            ("市财政局", "system", item), ("市审计局", "system", item)]
        record = s.scalar(select(AuditRecord).where(AuditRecord.action == "carbon_copied"))
        assert record.detail["automatic"] is True and record.detail["units"] == ["市财政局", "市审计局"]
        assert audit.verify(s, pid) is None
    row = carbon_copy.for_me(ctx, FINANCE)["items"][0]
    assert row["automatic"] and row["sent_by_name"] == "系统" and row["task"]["title"] == "验收报告备案"


def test_two_people_copying_one_task_at_once_both_stored(ctx, driver, people):  # type: ignore[no-untyped-def]
    pid, task = _at_preliminary(driver)
    bigdata = Actor("bigdata", "市大数据局", frozenset({"reviewer"}))
    results = run_at_once([
        lambda: carbon_copy.send_task(ctx, task, EDU, units=["市民政局"], note="甲"),
        lambda: carbon_copy.send_task(ctx, task, bigdata, users=["nature"], note="乙"),
    ])
    assert [r[0] for r in results] == ["ok", "ok"], results
    with ctx.db.session() as s:
        assert sorted(c.note for c in s.scalars(select(CarbonCopy))) == ["乙", "甲"]
        assert audit.verify(s, pid) is None
        assert len(list(s.scalars(select(AuditRecord).where(AuditRecord.action == "carbon_copied")))) == 2
    assert carbon_copy.for_me(ctx, NATURE)["total"] == 1
