"""Database.read (service/storage/db.py): the token check every API request makes runs outside a
transaction — on PostgreSQL no BEGIN or COMMIT round trip, on SQLite no wait behind a writer —
and still sees every committed change."""
from __future__ import annotations

import threading
from typing import Any

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import event, select, update

from service.operations import identity
from service.storage.models import User, WorkItem
from tests.conftest import BACKENDS, recorded_statements


def _read_while_a_writer_holds(ctx: Any, read: Any) -> tuple[bool, list[Any]]:
    """Run `read` in a thread while another holds a write transaction (on SQLite BEGIN IMMEDIATE
    and the process's write lock); True when the read finished while the writer still held."""
    held, release = threading.Event(), threading.Event()

    def writer() -> None:
        with ctx.db.session() as s:
            s.execute(update(User).where(User.username == "civil").values(display_name="写入中"))
            held.set()
            release.wait(30)

    w = threading.Thread(target=writer)
    w.start()
    assert held.wait(10)
    answers: list[Any] = []
    reader = threading.Thread(target=lambda: answers.append(read()))
    reader.start()
    reader.join(20)
    finished_first = not reader.is_alive() and not release.is_set() and w.is_alive()
    release.set()
    w.join(30)
    reader.join(30)
    return finished_first, answers


@pytest.fixture
def token(ctx) -> str:  # type: ignore[no-untyped-def]
    identity.seed_demo_users(ctx)
    user = identity.authenticate(ctx, "edu", identity.DEMO_PASSWORD)
    return identity.issue_token(ctx, user.id)[0]


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
def test_a_token_check_opens_no_transaction_on_postgresql(ctx, token):  # type: ignore[no-untyped-def]
    seen: list[tuple[str, Any]] = []

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append((statement.split()[0], cursor.connection.info.transaction_status))

    event.listen(ctx.db.engine, "after_cursor_execute", after)
    try:
        user = identity.user_for_token(ctx, token)
    finally:
        event.remove(ctx.db.engine, "after_cursor_execute", after)
    assert user is not None and user.username == "edu"
    # The pool's pre-ping, then the one SELECT; the connection idle (autocommit) after each.
    assert [s for s, _ in seen][-1] == "SELECT"
    assert all(status == TransactionStatus.IDLE for _, status in seen)


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "sqlite"])
def test_a_token_check_does_not_wait_for_a_writer_on_sqlite(ctx, token):  # type: ignore[no-untyped-def]
    finished_first, answers = _read_while_a_writer_holds(ctx, lambda: identity.user_for_token(ctx, token))
    assert finished_first
    assert answers and answers[0] is not None and answers[0].username == "edu"


def test_a_revoked_token_is_refused_by_the_next_check(ctx, token):  # type: ignore[no-untyped-def]
    assert identity.user_for_token(ctx, token) is not None
    identity.revoke_token(ctx, token)
    assert identity.user_for_token(ctx, token) is None


def test_a_deactivated_user_is_refused_by_the_next_check(ctx, token):  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        s.execute(update(User).where(User.username == "edu").values(active=False))
    assert identity.user_for_token(ctx, token) is None


def test_a_read_session_refuses_changes(ctx, token):  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError, match="only reads"), ctx.db.read() as s:
        s.add(User(username="nobody", display_name="无名", roles=[]))
    with ctx.db.read() as s:
        assert s.scalar(select(User.id).where(User.username == "nobody")) is None


# SQLite only: a PostgreSQL reader never waited for a row-locking writer, so there it could not fail.
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "sqlite"])
def test_the_task_page_reads_without_waiting_for_a_writer(ctx, driver, token):  # type: ignore[no-untyped-def]
    from service.domain.access import Actor
    from service.operations import task_actions

    pid = driver.declare("市教育局", budget_year=2027).project_id
    item = driver.open_items(pid)[0]
    actor = Actor("bigdata", item.unit.name, frozenset({"reviewer", "department"}))
    finished_first, pages = _read_while_a_writer_holds(ctx, lambda: task_actions.get_task(ctx, item.id, actor))
    assert finished_first
    assert pages and pages[0]["id"] == item.id and pages[0]["schema"]


def test_the_token_check_gives_each_user_as_the_user_records_say(ctx):  # type: ignore[no-untyped-def]
    """The check reads columns, not entities: the same view as user_view of the row, for users
    with a unit and without one (designer, admin)."""
    identity.seed_demo_users(ctx)
    for login in ("edu", "bigdata", "gov", "designer", "admin"):
        user = identity.authenticate(ctx, login, identity.DEMO_PASSWORD)
        token = identity.issue_token(ctx, user.id)[0]
        with ctx.db.session() as s:
            expected = identity.user_view(s.scalar(select(User).where(User.username == login)))
        seen = identity.user_for_token(ctx, token)
        assert seen == expected
        assert seen is not None and seen.may_declare == expected.may_declare
    assert identity.user_for_token(ctx, "no-such-token") is None


def _state_reads(ctx: Any, read: Any) -> tuple[Any, int]:
    """What `read` returns, and how many of its statements selected the engine state."""
    with recorded_statements(ctx.db.engine) as statements:
        out = read()
    return out, sum("process_instances.state" in s for s in statements)


def test_the_task_page_reads_the_engine_state_only_where_it_runs_the_engine(ctx, driver):  # type: ignore[no-untyped-def]
    from service.domain.access import Actor
    from service.operations import task_actions

    pid = driver.declare("市教育局", budget_year=2027).project_id
    driver.run(pid, until="submit_budget")
    step = driver.item(pid, "submit_budget")
    finance = Actor("finance", "市财政局", frozenset({"reviewer"}))
    page, state_reads = _state_reads(ctx, lambda: task_actions.get_task(ctx, step.id, Actor("edu", "市教育局",
                                                                                           frozenset({"department"}))))
    assert page["state"] == "open" and page["schema"] and state_reads == 0
    done = driver.complete(pid, "submit_budget")
    with ctx.db.session() as s:
        completer = s.get(WorkItem, done.work_item_id).completed_by
    # The completer's page asks the engine whether 撤回 is still possible: the state is read then.
    edu = Actor(completer, "市教育局", frozenset({"department"}))
    page, state_reads = _state_reads(ctx, lambda: task_actions.get_task(ctx, step.id, edu))
    assert page["can_withdraw"] is True and state_reads == 1
    page, state_reads = _state_reads(ctx, lambda: task_actions.get_task(ctx, step.id, finance))
    assert page["can_withdraw"] is False and state_reads == 0
