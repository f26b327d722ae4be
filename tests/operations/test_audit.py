"""The audit trail is a hash chain per project: any edit, deletion or reordering is found."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import delete, select, update

from service.operations.audit import verify
from service.storage.models import AuditRecord
from tests.conftest import database_url, make_ctx


def test_intact_chain_verifies_and_tampering_is_located(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid)
    with ctx.db.session() as s:
        assert verify(s, pid) is None
        records = list(s.scalars(select(AuditRecord).where(AuditRecord.project_id == pid).order_by(AuditRecord.seq)))
        assert len(records) > 10 and records[0].prev_hash == ""
        assert all(b.prev_hash == a.hash for a, b in zip(records, records[1:], strict=False))
        victim = records[5]
        s.execute(update(AuditRecord).where(AuditRecord.id == victim.id)
                  .values(detail={**victim.detail, "opinion": "改过的意见"}))
    with ctx.db.session() as s:
        assert verify(s, pid).seq == victim.seq


def test_a_deleted_record_breaks_the_chain(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid)
    with ctx.db.session() as s:
        s.execute(delete(AuditRecord).where(AuditRecord.project_id == pid, AuditRecord.seq == 3))
    with ctx.db.session() as s:
        assert verify(s, pid).seq == 4


@pytest.mark.skipif("sm3" not in hashlib.algorithms_available, reason="this OpenSSL build offers no SM3")
def test_sm3_is_selectable(backend, tmp_path, sqlite_template, pg_url):
    from service.scenario import Driver

    ctx = make_ctx(database_url(backend, tmp_path, sqlite_template, pg_url), audit_hash="sm3")
    pid = Driver(ctx).declare("市教育局", budget_year=2027, participants=[]).project_id
    with ctx.db.session() as s:
        record = s.scalars(select(AuditRecord).where(AuditRecord.project_id == pid)).first()
        assert record.algorithm == "sm3" and len(record.hash) == 64
        assert verify(s, pid) is None
    ctx.close()


def test_cli_verify_exit_codes(ctx, driver, monkeypatch, capsys):
    from service.cli import main

    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    monkeypatch.setenv("GOVFLOW_DATABASE_URL", ctx.settings.database_url)
    main(["audit", "verify", str(pid)])
    assert "完整" in capsys.readouterr().out
    with ctx.db.session() as s:
        s.execute(update(AuditRecord).where(AuditRecord.project_id == pid, AuditRecord.seq == 2)
                  .values(actor="someone else"))
    with pytest.raises(SystemExit) as exc:
        main(["audit", "verify", str(pid)])
    assert exc.value.code == 1 and "第 2 条" in capsys.readouterr().out
