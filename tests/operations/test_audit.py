"""The audit trail is evidence (第十六条): every record is MAC'd under a key outside the database,
the head on the owner row is MAC'd, signed checkpoints pin the heads, and an exported checkpoint
file shows a rollback. Each test tampers the way someone who can write every table (but does not
hold the key) would, with the code's own unkeyed digest, and checks the break is found AND located."""
from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, delete, func, inspect, select, text, update

from service.config import REPO_ROOT, Settings
from service.domain.access import Actor
from service.domain.audit_chain import Keyring, canonical, digest
from service.domain.errors import GovflowError
from service.operations import audit, audit_keys, organisation
from service.operations.audit import check_all, check_project, verify, verify_unit
from service.storage.migrate import upgrade
from service.storage.models import AuditCheckpoint, AuditRecord, Project, Unit
from tests.conftest import PG_ADMIN_URL, database_url, make_ctx

SUPERVISOR = Actor("督办员", "市大数据局", frozenset({"supervisor"}))


@pytest.fixture(autouse=True)
def _restore_keyring():  # type: ignore[no-untyped-def]
    yield
    audit_keys.install(None)


def _records(s, pid: int) -> list[AuditRecord]:  # type: ignore[no-untyped-def]
    return list(s.scalars(select(AuditRecord).where(AuditRecord.project_id == pid).order_by(AuditRecord.seq)))


def _rechain(s, pid: int, records: list[AuditRecord], start: int) -> None:  # type: ignore[no-untyped-def]
    """What an attacker with write access does after editing records[start:]: recompute every
    unkeyed digest and link from there on, and move the head on the project row to match."""
    prev = records[start - 1].hash if start else ""
    for r in records[start:]:
        r.prev_hash = prev
        r.hash = digest(r.algorithm, canonical(r))
        prev = r.hash
    s.flush()
    s.execute(update(Project).where(Project.id == pid).values(audit_seq=records[-1].seq, audit_head=prev))


def _project(driver, until: str = "review_bigdata") -> int:  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until=until)
    return pid


def test_every_record_and_the_head_are_signed_and_verify(ctx, driver):
    pid = _project(driver)
    with ctx.db.session() as s:
        records = _records(s, pid)
        assert len(records) >= 5 and records[0].prev_hash == ""
        assert all(b.prev_hash == a.hash for a, b in zip(records, records[1:], strict=False))
        assert all(r.mac and r.key_id == "tests" for r in records)
        project = s.get(Project, pid)
        assert project.audit_mac.startswith("sha256:tests:") and project.audit_seq == records[-1].seq
        report = check_project(s, pid)
        assert report.ok and report.unsigned == 0 and report.records == len(records)
        assert verify(s, pid) is None


def test_a_record_rewritten_with_its_digest_recomputed_is_located_by_its_mac(ctx, driver):
    pid = _project(driver)
    with ctx.db.session() as s:
        records = _records(s, pid)
        victim = records[3]
        victim.detail = {**victim.detail, "opinion": "改过的意见"}
        _rechain(s, pid, records, 3)
    with ctx.db.session() as s:
        report = check_project(s, pid)
        assert report.first.seq == victim.seq and report.first.kind == "mac"
        # The digests and links are all consistent again: only the keyed MAC tells.
        assert {b.kind for b in report.breaks} <= {"mac", "head_mac"}
        assert verify(s, pid).seq == victim.seq


def test_a_rewritten_record_with_its_mac_recomputed_under_a_guessed_key_is_found(ctx, driver):
    pid = _project(driver)
    forger = Keyring({"tests": b"not-the-real-key-0123456789"}, "tests")
    with ctx.db.session() as s:
        records = _records(s, pid)
        records[2].actor = "别人"
        _rechain(s, pid, records, 2)
        for r in records[2:]:
            r.key_id, r.mac = forger.sign(r.algorithm, b"govflow-audit-record/1\n" + canonical(r))
    with ctx.db.session() as s:
        assert verify(s, pid).seq == records[2].seq


def test_deleting_a_middle_record_is_located_at_its_seq(ctx, driver):
    pid = _project(driver)
    with ctx.db.session() as s:
        s.execute(delete(AuditRecord).where(AuditRecord.project_id == pid, AuditRecord.seq == 3))
    with ctx.db.session() as s:
        first = verify(s, pid)
        assert first.seq == 3 and first.kind == "missing"


def test_deleting_the_newest_records_is_found_by_the_head_on_the_project_row(ctx, driver):
    pid = _project(driver)
    with ctx.db.session() as s:
        n = s.get(Project, pid).audit_seq
        s.execute(delete(AuditRecord).where(AuditRecord.project_id == pid, AuditRecord.seq > n - 3))
    with ctx.db.session() as s:
        first = verify(s, pid)
        assert (first.seq, first.kind) == (n - 2, "truncated")


def test_truncation_with_the_head_rewound_is_found_by_the_head_mac_and_located_by_a_checkpoint(ctx, driver):
    pid = _project(driver)
    with ctx.db.session() as s:
        assert audit.write_checkpoints(s) >= 1  # the periodic task / `govflow audit checkpoint create`
    with ctx.db.session() as s:
        n = s.get(Project, pid).audit_seq
        s.execute(delete(AuditRecord).where(AuditRecord.project_id == pid, AuditRecord.seq > n - 3))
        kept = _records(s, pid)
        s.execute(update(Project).where(Project.id == pid).values(audit_seq=kept[-1].seq, audit_head=kept[-1].hash))
    with ctx.db.session() as s:
        report = check_project(s, pid)
        kinds = {b.kind: b.seq for b in report.breaks}
        assert kinds["head_mac"] == n - 3  # the rewound head carries the MAC of the old one
        assert kinds["rollback"] == n - 2  # the checkpoint says records n-2 … n existed
        assert report.first.seq == n - 3 or report.first.seq == n - 2


def test_a_rollback_to_an_older_consistent_state_is_found_only_against_the_exported_checkpoints(
        ctx, driver, tmp_path, monkeypatch, capsys):
    from service.cli import main

    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    with ctx.db.session() as s:
        p = s.get(Project, pid)
        snapshot = {"audit_seq": p.audit_seq, "audit_head": p.audit_head, "audit_mac": p.audit_mac}
    driver.run(pid, until="review_bigdata")
    monkeypatch.setenv("GOVFLOW_DATABASE_URL", ctx.settings.database_url)
    exported = tmp_path / "checkpoints.json"
    main(["audit", "checkpoint", "export", "-o", str(exported)])
    doc = json.loads(exported.read_text(encoding="utf-8"))
    entry = next(c for c in doc["chains"] if c["chain"] == f"project:{pid}")
    assert doc["format"] == audit.EXPORT_FORMAT and entry["seq"] > snapshot["audit_seq"]
    # The attacker restores an older state everywhere: records, checkpoints and the project row
    # (with the head MAC it had then).
    with ctx.db.session() as s:
        s.execute(delete(AuditRecord).where(AuditRecord.project_id == pid, AuditRecord.seq > snapshot["audit_seq"]))
        s.execute(delete(AuditCheckpoint).where(AuditCheckpoint.project_id == pid,
                                                AuditCheckpoint.seq > snapshot["audit_seq"]))
        s.execute(update(Project).where(Project.id == pid).values(**snapshot))
    with ctx.db.session() as s:
        assert check_project(s, pid).ok  # internally consistent: nothing inside the database can tell
    capsys.readouterr()
    main(["audit", "verify"])
    with pytest.raises(SystemExit) as exc:
        main(["audit", "verify", "--against", str(exported)])
    out = capsys.readouterr().out
    assert exc.value.code == 1
    assert f"[project:{pid}] 第 {snapshot['audit_seq'] + 1} 条" in out and "回退" in out
    with pytest.raises(SystemExit):
        main(["audit", "verify", str(pid), "--against", str(exported)])


def test_a_forged_export_entry_is_refused(ctx, driver):
    pid = _project(driver)
    with ctx.db.session() as s:
        doc = audit.export_checkpoints(s)
    entry = next(c for c in doc["chains"] if c["chain"] == f"project:{pid}")
    entry["seq"] += 5  # claims a longer chain, to make an intact database look rolled back
    with ctx.db.session() as s:
        report = check_project(s, pid, external=audit.read_export(json.dumps(doc))[f"project:{pid}"])
        assert [b.kind for b in report.breaks] == ["checkpoint_mac"]


def test_a_record_inserted_at_the_end_is_located(ctx, driver):
    pid = _project(driver)
    with ctx.db.session() as s:
        last = _records(s, pid)[-1]
        forged = AuditRecord(project_id=pid, seq=last.seq + 1, at=last.at, actor="市教育局经办人",
                             action="opinion_added", work_item_id=None, detail={"text": "同意"},
                             algorithm="sha256", prev_hash=last.hash, hash="")
        forged.hash = digest("sha256", canonical(forged))
        s.add(forged)
        s.flush()
        s.execute(update(Project).where(Project.id == pid).values(audit_seq=forged.seq, audit_head=forged.hash))
    with ctx.db.session() as s:
        report = check_project(s, pid)
        assert report.first.seq == last.seq + 1
        assert {(b.seq, b.kind) for b in report.breaks} == {(last.seq + 1, "unsigned"), (last.seq + 1, "head_mac")}


def test_a_record_inserted_in_the_middle_is_located(ctx, driver):
    pid = _project(driver)
    with ctx.db.session() as s:
        records = _records(s, pid)
        k = records[2].seq
        for r in reversed(records[2:]):  # make room (seq is unique per chain)
            r.seq += 1
            s.flush()
        forged = AuditRecord(project_id=pid, seq=k, at=records[1].at, actor="市财政局经办人", action="opinion_added",
                             work_item_id=None, detail={"text": "不同意"}, algorithm="sha256", prev_hash="", hash="",
                             mac="00" * 32, key_id="tests")
        s.add(forged)
        s.flush()
        _rechain(s, pid, records[:2] + [forged] + records[2:], 2)
    with ctx.db.session() as s:
        first = verify(s, pid)
        assert (first.seq, first.kind) == (k, "mac")


def test_swapping_two_records_is_located(ctx, driver):
    pid = _project(driver)
    with ctx.db.session() as s:
        records = _records(s, pid)
        a, b = records[3], records[4]
        sa, sb = a.seq, b.seq
        a.seq = -1
        s.flush()
        b.seq = sa
        s.flush()
        a.seq = sb
        s.flush()
    with ctx.db.session() as s:
        assert verify(s, pid).seq == sa


def test_a_unit_chain_break_is_located_and_reported_by_verify_all(ctx, driver, monkeypatch, capsys):
    from service.cli import main

    rid = organisation.open_rectification(ctx, "市教育局", "未履行备案程序", SUPERVISOR, due_date=dt.date(2027, 3, 1))
    organisation.close_rectification(ctx, rid, SUPERVISOR)
    pid = driver.declare("市卫生健康委员会", budget_year=2027, participants=[]).project_id
    with ctx.db.session() as s:
        unit = s.scalar(select(Unit).where(Unit.name == "市教育局"))
        assert unit.audit_seq == 2 and unit.audit_mac
        assert verify_unit(s, unit.id) is None
        first = s.scalar(select(AuditRecord).where(AuditRecord.unit_id == unit.id, AuditRecord.seq == 1))
        first.actor = "别人"
        first.hash = digest(first.algorithm, canonical(first))
        second = s.scalar(select(AuditRecord).where(AuditRecord.unit_id == unit.id, AuditRecord.seq == 2))
        second.prev_hash = first.hash
        second.hash = digest(second.algorithm, canonical(second))
        unit.audit_head = second.hash
        unit_id = unit.id
    with ctx.db.session() as s:
        assert verify_unit(s, unit_id).seq == 1
        reports = {r.chain: r for r in check_all(s)}
        assert reports[f"project:{pid}"].ok and reports[f"unit:{unit_id}"].first.seq == 1
    monkeypatch.setenv("GOVFLOW_DATABASE_URL", ctx.settings.database_url)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["audit", "verify"])
    out = capsys.readouterr().out
    assert exc.value.code == 1 and f"[unit:{unit_id}] 第 1 条" in out and "单位" in out
    main(["audit", "verify", str(pid)])  # the project alone is intact: exit 0
    assert "完整" in capsys.readouterr().out


def test_cli_verify_exit_codes_in_a_subprocess(ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    env = {**os.environ, "GOVFLOW_DATABASE_URL": ctx.settings.database_url}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "service.cli", "audit", "verify", *args], cwd=REPO_ROOT,
                              env=env, capture_output=True, text=True, timeout=120)

    ok = run()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "全部完整" in ok.stdout
    with ctx.db.session() as s:
        s.execute(update(AuditRecord).where(AuditRecord.project_id == pid, AuditRecord.seq == 2)
                  .values(actor="someone else"))
    bad = run()
    assert bad.returncode == 1 and f"[project:{pid}] 第 2 条" in bad.stdout
    assert run(str(pid)).returncode == 1
    wrong_key = subprocess.run([sys.executable, "-m", "service.cli", "audit", "verify", str(pid)], cwd=REPO_ROOT,
                               env={**env, "GOVFLOW_AUDIT_KEY": "tests:" + "x" * 40}, capture_output=True,
                               text=True, timeout=120)
    assert wrong_key.returncode == 1 and "MAC 不符" in wrong_key.stdout


def test_cli_verify_exits_non_zero_when_the_newest_records_are_deleted(ctx, driver):
    """Issue 9 §3 as reported: the newest records deleted (head on the project row untouched), and a
    project asked for by id that is gone; `govflow audit verify` in a real process exits 1 for both."""
    pid = _project(driver)
    with ctx.db.session() as s:
        n = s.get(Project, pid).audit_seq
        s.execute(delete(AuditRecord).where(AuditRecord.project_id == pid, AuditRecord.seq > n - 2))
    env = {**os.environ, "GOVFLOW_DATABASE_URL": ctx.settings.database_url}
    for args, expected in ((("audit", "verify"), f"[project:{pid}] 第 {n - 1} 条"),
                           (("audit", "verify", str(pid + 1000)), f"[project:{pid + 1000}] 第 1 条")):
        run = subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=REPO_ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 1 and expected in run.stdout, run.stdout + run.stderr


def test_a_chain_deleted_with_its_owner_is_named_by_the_checkpoints_left(ctx):
    """A unit removed with its records: a checkpoint left in the database names the chain; with the
    checkpoints gone too only the exported file does (`verify --against`)."""
    with ctx.db.session() as s:
        unit = Unit(code="T-GONE", name="临时单位", kind="department")
        s.add(unit)
        s.flush()
        for i in range(3):
            audit.append_unit(s, unit, actor="督办员", action="rectification_opened", detail={"i": i})
        uid = unit.id
    with ctx.db.session() as s:
        assert audit.write_checkpoints(s) >= 1
        doc = audit.export_checkpoints(s)
    chain = f"unit:{uid}"
    # Someone who can write every table, foreign keys off (a plain SQLite connection; replica role on PostgreSQL).
    raw = create_engine(ctx.settings.database_url)
    try:
        with raw.begin() as c:
            if c.dialect.name == "postgresql":
                c.execute(text("SET LOCAL session_replication_role = replica"))
            c.execute(delete(AuditRecord).where(AuditRecord.unit_id == uid))
            c.execute(delete(Unit).where(Unit.id == uid))
    finally:
        raw.dispose()
    with ctx.db.session() as s:
        reports = {r.chain: r for r in check_all(s)}
        assert reports[chain].first.kind == "owner_missing" and "数据库中的检查点" in reports[chain].first.message
        assert verify_unit(s, uid).kind == "owner_missing"
        s.execute(delete(AuditCheckpoint).where(AuditCheckpoint.unit_id == uid))
    with ctx.db.session() as s:
        assert chain not in {r.chain for r in check_all(s)}  # nothing inside the database can tell now
        reports = {r.chain: r for r in check_all(s, external=audit.read_export(json.dumps(doc)))}
        assert reports[chain].first.kind == "owner_missing" and "外部保存" in reports[chain].first.message


def _strip_to_legacy(s, pid: int) -> None:  # type: ignore[no-untyped-def]
    """The state of a chain written before migration 0007: no MAC on records or head."""
    s.execute(update(AuditRecord).where(AuditRecord.project_id == pid).values(mac=None, key_id=None))
    s.execute(update(Project).where(Project.id == pid).values(audit_mac=""))
    s.execute(delete(AuditCheckpoint).where(AuditCheckpoint.project_id == pid))


def test_legacy_records_are_reported_unsigned_then_signed_once(ctx, driver, monkeypatch, capsys):
    from service.cli import main

    pid = _project(driver)
    with ctx.db.session() as s:
        _strip_to_legacy(s, pid)
        n = s.get(Project, pid).audit_seq
    with ctx.db.session() as s:
        report = check_project(s, pid)
        assert report.ok and report.unsigned == n
    monkeypatch.setenv("GOVFLOW_DATABASE_URL", ctx.settings.database_url)
    capsys.readouterr()
    main(["audit", "verify"])
    assert "未签名" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["audit", "verify", "--strict"])
    assert exc.value.code == 1
    # A legacy chain that grows after the upgrade: new records are signed and pin the old prefix.
    driver.run(pid, until="review_finance")
    with ctx.db.session() as s:
        report = check_project(s, pid)
        assert report.ok and report.unsigned == n
    main(["audit", "sign-legacy"])
    assert f"已签名 {n} 条历史记录" in capsys.readouterr().out
    with ctx.db.session() as s:
        report = check_project(s, pid)
        assert report.ok and report.unsigned == 0
    main(["audit", "sign-legacy"])
    assert "已签名 0 条" in capsys.readouterr().out


def test_a_broken_legacy_chain_is_refused_by_sign_legacy(ctx, driver):
    pid = _project(driver)
    with ctx.db.session() as s:
        _strip_to_legacy(s, pid)
        s.execute(update(AuditRecord).where(AuditRecord.project_id == pid, AuditRecord.seq == 2).values(actor="别人"))
    result = audit.sign_legacy(ctx)
    assert result.signed_records == 0 and [b.seq for b in result.refused] == [2]


def test_stripping_the_mac_of_one_record_is_not_legacy(ctx, driver):
    pid = _project(driver)
    with ctx.db.session() as s:
        s.execute(update(AuditRecord).where(AuditRecord.project_id == pid, AuditRecord.seq == 3)
                  .values(mac=None, key_id=None, actor="别人"))
        records = _records(s, pid)
        _rechain(s, pid, records, 2)
    with ctx.db.session() as s:
        first = verify(s, pid)
        assert (first.seq, first.kind) == (3, "unsigned")


def test_rotated_keys_still_verify_and_a_dropped_key_is_named(ctx, driver):
    old = audit_keys.active()
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    rotated = Keyring({"2027": b"new-audit-key-0123456789abcdef", **old.keys}, "2027")
    audit_keys.install(rotated)
    driver.run(pid, until="review_bigdata")
    with ctx.db.session() as s:
        assert {r.key_id for r in _records(s, pid)} == {"tests", "2027"}
        assert check_project(s, pid).ok
        dropped = check_project(s, pid, keyring=Keyring({"2027": rotated.keys["2027"]}, "2027"))
        assert dropped.first.seq == 1 and dropped.first.kind == "key"


def _unit_chains_behind(s) -> int:  # type: ignore[no-untyped-def]
    """Unit chains (deploys, declaration windows … are audited on 市大数据局's) whose head has no
    checkpoint yet: the periodic task writes one for each of them too."""
    done = dict(s.execute(select(AuditCheckpoint.unit_id, func.max(AuditCheckpoint.seq))
                          .where(AuditCheckpoint.unit_id.is_not(None)).group_by(AuditCheckpoint.unit_id)).all())
    return sum(1 for uid, seq in s.execute(select(Unit.id, Unit.audit_seq)) if (seq or 0) > done.get(uid, 0))


def test_checkpoints_are_written_every_n_records_and_by_an_idempotent_task(ctx, driver, monkeypatch):
    monkeypatch.setattr(audit, "_every", 4)
    pid = _project(driver)
    with ctx.db.session() as s:
        n = s.get(Project, pid).audit_seq
        seqs = sorted(s.scalars(select(AuditCheckpoint.seq).where(AuditCheckpoint.project_id == pid)))
        assert seqs == list(range(4, n + 1, 4))
    import workers.tasks

    monkeypatch.setattr(workers.tasks, "_ctx", ctx)
    with ctx.db.session() as s:
        units_behind = _unit_chains_behind(s)
    written = workers.tasks.audit_checkpoint()
    # This project's chain (unless its head fell on a checkpoint) and the unit chains that moved.
    assert written == (0 if n % 4 == 0 else 1) + units_behind
    assert workers.tasks.audit_checkpoint() == 0
    with ctx.db.session() as s:
        assert max(s.scalars(select(AuditCheckpoint.seq).where(AuditCheckpoint.project_id == pid))) == n
        assert check_project(s, pid).ok


def test_a_head_whose_mac_fails_is_not_checkpointed(ctx, driver):
    pid = _project(driver)
    with ctx.db.session() as s:
        records = _records(s, pid)
        records[-1].detail = {"forged": True}
        _rechain(s, pid, records, len(records) - 1)
    with ctx.db.session() as s:
        units_behind = _unit_chains_behind(s)
        head = s.get(Project, pid).audit_seq
    with ctx.db.session() as s:
        assert audit.write_checkpoints(s) == units_behind  # the sound unit chains, not the forged project
        assert head not in set(s.scalars(select(AuditCheckpoint.seq).where(AuditCheckpoint.project_id == pid)))


@pytest.mark.skipif("sm3" not in __import__("hashlib").algorithms_available, reason="this OpenSSL offers no SM3")
def test_sm3_is_selectable_for_digest_and_mac(backend, tmp_path, sqlite_template, pg_url):
    from service.scenario import Driver

    ctx = make_ctx(database_url(backend, tmp_path, sqlite_template, pg_url), audit_hash="sm3")
    pid = Driver(ctx).declare("市教育局", budget_year=2027, participants=[]).project_id
    with ctx.db.session() as s:
        record = s.scalars(select(AuditRecord).where(AuditRecord.project_id == pid)).first()
        assert record.algorithm == "sm3" and len(record.hash) == 64 and len(record.mac) == 64
        assert s.get(Project, pid).audit_mac.startswith("sm3:")
        assert verify(s, pid) is None
        record.actor = "别人"
        record.hash = digest("sm3", canonical(record))
    with ctx.db.session() as s:
        assert verify(s, pid).kind in ("mac", "link")
    ctx.close()


# -- keys -----------------------------------------------------------------------------------------


def test_embedded_key_file_is_generated_once_with_mode_0600(tmp_path):
    path = tmp_path / "var" / "audit.key"
    settings = Settings(database_url="sqlite:///x.db", audit_key="", audit_key_file="")
    first = audit_keys.load(settings, embedded_file=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and first.current == "local"
    assert audit_keys.load(settings, embedded_file=path) == first
    assert len(first.keys["local"]) == 64
    named = audit_keys.load(Settings(audit_key="", audit_key_file=str(path)))
    assert named == first


def test_key_configuration_errors_are_refused(tmp_path):
    with pytest.raises(GovflowError, match="不存在"):
        audit_keys.load(Settings(audit_key="", audit_key_file=str(tmp_path / "missing.key")))
    with pytest.raises(GovflowError, match="过短"):
        audit_keys.parse("k1:short", "GOVFLOW_AUDIT_KEY")
    with pytest.raises(GovflowError, match="重复"):
        audit_keys.parse("k1:" + "a" * 32 + ",k1:" + "b" * 32, "GOVFLOW_AUDIT_KEY")
    ring = audit_keys.parse("# rotated 2027\nnew:" + "a" * 32 + "\nold:" + "b" * 32, "file")
    assert ring.current == "new" and set(ring.keys) == {"new", "old"}
    assert audit_keys.parse("c" * 40, "env").current == "default"


# -- migration ------------------------------------------------------------------------------------


def test_migration_0007_upgrades_and_downgrades(backend, tmp_path):
    from alembic import command

    from service.storage.migrate import alembic_config

    if backend == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'm.db'}", None
    else:
        name = f"govflow_mig_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url, drop = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", (admin, name)
    try:
        upgrade(url)

        def columns(table: str) -> set[str]:
            engine = create_engine(url)
            try:
                return {c["name"] for c in inspect(engine).get_columns(table)}
            finally:
                engine.dispose()

        assert {"mac", "key_id"} <= columns("audit_records") and "audit_mac" in columns("projects")
        assert {"seq", "head", "mac", "key_id"} <= columns("audit_checkpoints")
        command.downgrade(alembic_config(url), "0006")
        assert "mac" not in columns("audit_records") and "audit_mac" not in columns("units")
        upgrade(url)
        assert "audit_mac" in columns("units")
    finally:
        if drop is not None:
            admin, name = drop
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
