"""Embedded mode: worker + beat in one child process on kombu's SQLAlchemy transport (SQLite),
no server at all; the handle stops it."""
from __future__ import annotations

import shutil

from sqlalchemy import func, select, update

from service.scenario import Driver
from service.storage.models import Notification, WorkItemClock, utcnow
from tests.conftest import make_ctx
from tests.workers.conftest import wait_for
from tests.workers.test_workers import add_due_items, bj
from workers import embedded


def test_embedded_worker_and_beat_need_no_server(tmp_path, sqlite_template):
    db = tmp_path / "govflow.db"
    shutil.copy(sqlite_template, db)
    ctx = make_ctx(f"sqlite:///{db}")
    try:
        pid = Driver(ctx).declare("市教育局").project_id
        with ctx.db.session() as s:
            s.execute(update(WorkItemClock).values(fire_at=None))
        add_due_items(ctx, pid, 5)
        env = {"GOVFLOW_TICK_SECONDS": "0.5", "GOVFLOW_WEBHOOK_URL": ""}
        env["GOVFLOW_CLOCK_OFFSET_SECONDS"] = str((bj("2026-04-29") - utcnow()).total_seconds())
        handle = embedded.start(ctx.settings, broker_url=f"sqla+sqlite:///{tmp_path / 'celery.db'}", env=env,
                                log_path=tmp_path / "worker.log")
        try:
            def count() -> int:
                with ctx.db.session() as s:
                    return s.scalar(select(func.count()).select_from(Notification))

            assert wait_for(lambda: count() == 5, 60), (tmp_path / "worker.log").read_text()[-3000:]
            assert handle.alive()
        finally:
            handle.stop()
        assert not handle.alive()
    finally:
        ctx.close()
