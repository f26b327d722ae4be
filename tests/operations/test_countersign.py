"""加签 (service.operations.countersign) on both databases: 前加签 blocks the submission, 后加签 holds it
and the last signature completes the host, refusals, the signer's inbox and file, the dossier, and
two signers signing the last two 后加签 at once."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.domain.access import Actor
from service.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from service.operations import audit, countersign, countersign_reads, export, identity, project_file, tasks
from service.scenario import worker
from service.storage.models import AuditRecord, Notification, Project, TaskDraft, WorkItem
from tests.operations.test_concurrency import run_at_once

FINANCE = worker("市财政局")
POLICE = worker("市公安局")
CAC = worker("市委网信办")
CRYPTO = worker("市密码管理局")
DAVE = Actor("dave", "市公安局", frozenset({"reviewer"}))


@pytest.fixture
def people(ctx):  # type: ignore[no-untyped-def]
    identity.create_user(ctx, "dave", unit="市公安局", roles=["reviewer"], password=None)
    identity.create_user(ctx, "erin", unit="市财政局", roles=["reviewer"], password=None)
    identity.create_user(ctx, FINANCE.user, unit="市财政局", roles=["department"], password=None)


def _host(driver) -> WorkItem:  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    (item,) = driver.open_items(pid)
    assert item.unit.name == "市财政局"
    return item


def _state(ctx, item_id: int) -> str:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        return s.get(WorkItem, item_id).state  # type: ignore[union-attr]


def test_before_blocks_completion_until_signed(ctx, driver, people):
    item = _host(driver)
    (cs,) = countersign.add(ctx, item.id, FINANCE, "before", [{"unit": "市公安局"}], "请核实数据安全措施")
    assert (cs["kind_label"], cs["signer"], cs["state"]) == ("前加签", "市公安局", "open")
    data = driver.answer(item.form)
    with pytest.raises(Conflict) as exc:
        tasks.complete(ctx, item.id, data, FINANCE)
    assert "尚有 1 个加签未完成：市公安局" in exc.value.message
    # The signer's unit sees it in its inbox, reads the file, and was notified.
    assert [r["id"] for r in countersign_reads.todo(ctx, POLICE)] == [cs["id"]]
    assert countersign_reads.todo(ctx, CAC) == []
    assert project_file.task_file(ctx, item.id, POLICE)["work_item_id"] == item.id
    with pytest.raises(NotFound):
        project_file.task_file(ctx, item.id, CRYPTO)
    with ctx.db.session() as s:
        n = s.scalars(select(Notification).where(Notification.kind == "countersign")).one()
        assert n.level == cs["id"] and f"/countersigns/{cs['id']}" in n.body
    with pytest.raises(NotFound):
        countersign.sign(ctx, cs["id"], CAC, "同意", "")
    with pytest.raises(ValidationFailed):
        countersign.sign(ctx, cs["id"], POLICE, "不同意", " ")
    signed = countersign.sign(ctx, cs["id"], POLICE, "同意", "数据安全措施可行。")
    assert signed["state"] == "signed" and not signed["host_completed"]
    with pytest.raises(Conflict):
        countersign.sign(ctx, cs["id"], POLICE, "同意", "")
    tasks.complete(ctx, item.id, data, FINANCE)
    assert _state(ctx, item.id) == "completed"
    # The opinion is in the file under the host step, and in the dossier.
    nxt = driver.open_items(item.project_id)[0]
    steps = project_file.task_file(ctx, nxt.id, worker(nxt.unit.name))["steps"]
    host = next(st for st in steps if st["id"] == item.id)
    assert [(c["signer"], c["decision"], c["opinion"]) for c in host["countersigns"]] == [
        ("市公安局", "同意", "数据安全措施可行。")]
    with ctx.db.session() as s:
        _, dossier_steps, *_ = export.collect(ctx, s, s.get(Project, item.project_id))
        texts = [o["text"] for st in dossier_steps if st["id"] == item.id for o in st["opinions"]]
        assert texts == ["【前加签 · 市公安局 · 同意】数据安全措施可行。"]
        assert audit.verify(s, item.project_id) is None
        actions = list(s.scalars(select(AuditRecord.action).where(AuditRecord.work_item_id == item.id)))
        assert actions.count("countersign_added") == 1 and actions.count("countersign_signed") == 1


def test_refusals(ctx, driver, people):
    item = _host(driver)
    with pytest.raises(ValidationFailed) as exc:
        countersign.add(ctx, item.id, FINANCE, "before", [{"user": FINANCE.user}])
    assert "不能加签给自己" in exc.value.errors[0].message
    with pytest.raises(ValidationFailed) as exc:
        countersign.add(ctx, item.id, FINANCE, "before", [{"unit": "市财政局"}])
    assert "不能加签给本单位" in exc.value.errors[0].message
    for bad in ([], [{"unit": "市公安局", "user": "dave"}], [{"unit": "不存在的单位"}], [{"user": "nobody"}]):
        with pytest.raises(ValidationFailed):
            countersign.add(ctx, item.id, FINANCE, "before", bad)
    with pytest.raises(ValidationFailed):
        countersign.add(ctx, item.id, FINANCE, "sideways", [{"unit": "市公安局"}])
    with pytest.raises(Forbidden):
        countersign.add(ctx, item.id, POLICE, "before", [{"unit": "市委网信办"}])  # not the holder
    # A colleague of the same unit may be asked as a person; twice while open is refused.
    countersign.add(ctx, item.id, FINANCE, "before", [{"user": "erin"}])
    with pytest.raises(ValidationFailed):
        countersign.add(ctx, item.id, FINANCE, "after", [{"user": "erin"}])
    (other,) = countersign.add(ctx, item.id, FINANCE, "before", [{"unit": "市公安局"}])
    with pytest.raises(Forbidden):
        countersign.cancel(ctx, other["id"], POLICE)
    assert countersign.cancel(ctx, other["id"], FINANCE)["state"] == "cancelled"
    with pytest.raises(Conflict):
        countersign.cancel(ctx, other["id"], FINANCE)


def test_after_holds_then_last_signature_completes(ctx, driver, people):
    item = _host(driver)
    rows = countersign.add(ctx, item.id, FINANCE, "after", [{"user": "dave"}, {"unit": "市委网信办"}])
    with pytest.raises(Conflict):  # 后加签 signs what the holder submitted
        countersign.sign(ctx, rows[0]["id"], DAVE, "同意", "")
    assert countersign_reads.todo(ctx, DAVE) == [] and countersign_reads.todo(ctx, CAC) == []
    data = driver.answer(item.form)
    done = tasks.complete(ctx, item.id, data, FINANCE)
    assert done.held and done.opened == [] and _state(ctx, item.id) == "open"
    with pytest.raises(Conflict):
        tasks.complete(ctx, item.id, data, FINANCE)
    with pytest.raises(Conflict):
        countersign.add(ctx, item.id, FINANCE, "before", [{"unit": "市公安局"}])
    assert [r["id"] for r in countersign_reads.todo(ctx, DAVE)] == [rows[0]["id"]]
    # A person signer is the person, not the whole unit.
    assert countersign_reads.todo(ctx, POLICE) == []
    assert not countersign.sign(ctx, rows[0]["id"], DAVE, "同意", "")["host_completed"]
    assert _state(ctx, item.id) == "open"
    last = countersign.sign(ctx, rows[1]["id"], CAC, "同意", "网络安全无异议")
    assert last["host_completed"]
    with ctx.db.session() as s:
        host = s.get(WorkItem, item.id)
        assert (host.state, host.completed_by, host.data) == ("completed", FINANCE.user, data)
        assert audit.verify(s, item.project_id) is None
    assert driver.open_items(item.project_id)


def test_after_disagreement_returns_the_submission(ctx, driver, people):
    item = _host(driver)
    (cs,) = countersign.add(ctx, item.id, FINANCE, "after", [{"unit": "市公安局"}])
    data = driver.answer(item.form)
    assert tasks.complete(ctx, item.id, data, FINANCE).held
    out = countersign.sign(ctx, cs["id"], POLICE, "不同意", "缺少等保测评")
    assert out["returned"] and not out["host_completed"]
    with ctx.db.session() as s:
        draft = s.scalars(select(TaskDraft).where(TaskDraft.work_item_id == item.id)).one()
        assert (draft.username, draft.data) == (FINANCE.user, data)
    # Nobody else waits: the next submission goes through.
    assert not tasks.complete(ctx, item.id, data, FINANCE).held
    assert _state(ctx, item.id) == "completed"


def test_cancelling_the_last_after_signer_releases_the_hold(ctx, driver, people):
    item = _host(driver)
    (cs,) = countersign.add(ctx, item.id, FINANCE, "after", [{"unit": "市公安局"}])
    assert tasks.complete(ctx, item.id, driver.answer(item.form), FINANCE).held
    assert countersign.cancel(ctx, cs["id"], FINANCE)["host_completed"]
    assert _state(ctx, item.id) == "completed"


def test_two_signers_sign_the_last_two_at_once(ctx, driver, people):
    item = _host(driver)
    a, b = countersign.add(ctx, item.id, FINANCE, "after", [{"unit": "市公安局"}, {"unit": "市委网信办"}])
    assert tasks.complete(ctx, item.id, driver.answer(item.form), FINANCE).held
    results = run_at_once([lambda: countersign.sign(ctx, a["id"], POLICE, "同意", ""),
                           lambda: countersign.sign(ctx, b["id"], CAC, "同意", "")])
    assert [r[0] for r in results] == ["ok", "ok"], results
    assert sum(bool(r[1]["host_completed"]) for r in results) == 1
    still_open = len(driver.open_items(item.project_id))
    with ctx.db.session() as s:
        completed = s.scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.work_item_id == item.id, AuditRecord.action == "task_completed"))
        assert completed == 1
        opened = s.scalar(select(func.count()).select_from(WorkItem).where(
            WorkItem.project_id == item.project_id, WorkItem.id > item.id))
        assert opened == still_open >= 1
        assert audit.verify(s, item.project_id) is None


def test_a_host_sent_back_ends_its_open_countersigns(ctx, driver, people):
    """退回 cancels the host task: the signers' requests end with it (and their inbox empties), in
    the same transaction."""
    from service.operations import task_actions
    from service.storage.models import Countersign

    item = _host(driver)
    (cs,) = countersign.add(ctx, item.id, FINANCE, "before", [{"unit": "市公安局"}], "请核实")
    assert [r["id"] for r in countersign_reads.todo(ctx, POLICE)] == [cs["id"]]
    task_actions.send_back(ctx, item.id, FINANCE, "submit_declaration", "申报材料不全，请补充")
    assert _state(ctx, item.id) == "cancelled"
    with ctx.db.session() as s:
        row = s.get(Countersign, cs["id"])
        assert (row.state, row.cancelled_by) == ("cancelled", FINANCE.user)
    assert countersign_reads.todo(ctx, POLICE) == []
