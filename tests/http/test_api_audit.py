"""The audit trail through the API: `verified` compares the chain with the MACs, the head on the
project row and the checkpoints; a unit that may not read the details gets nothing that would let
it confirm a guess. Also (issue 9 §6) who may mark a notification read and who may declare."""
from __future__ import annotations

import json

from sqlalchemy import delete, select, update

from service.domain.audit_chain import canonical, digest
from service.scenario import Driver
from service.storage.models import AuditRecord, Notification, Project, Unit, WorkItem

GUESS = "不同意"


def _opinion_project(api, ctx) -> int:  # type: ignore[no-untyped-def]
    driver = Driver(ctx)
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    task = api.as_("supervisor").get(f"/api/projects/{pid}").json["current_tasks"][0]
    r = api.as_("finance").post(f"/api/tasks/{task['id']}/opinions", json={"text": GUESS})
    assert r.status_code == 201
    return pid


def test_a_foreign_unit_sees_no_digest_of_hidden_details(api, ctx):
    pid = _opinion_project(api, ctx)
    with ctx.db.session() as s:
        records = list(s.scalars(select(AuditRecord).where(AuditRecord.project_id == pid)))
        secrets = {r.hash for r in records} | {r.mac for r in records} | {s.get(Project, pid).audit_mac}
        opinion = next(r for r in records if r.action == "opinion_added")
    own = api.as_("edu").get(f"/api/projects/{pid}/audit").json
    assert own["verified"] is True and own["records"][-1]["hash"] and own["records"][-1]["mac"]
    assert next(r for r in own["records"] if r["action"] == "opinion_added")["detail"]["text"] == GUESS
    for url in (f"/api/projects/{pid}/audit", f"/api/projects/{pid}", f"/api/projects/{pid}/history"):
        r = api.as_("health").get(url)
        assert r.status_code == 200
        body = r.get_data(as_text=True)
        assert GUESS not in body and not any(x in body for x in secrets), url
    trail = api.as_("health").get(f"/api/projects/{pid}/audit").json
    assert trail["verified"] is True
    seen = next(r for r in trail["records"] if r["seq"] == opinion.seq)
    assert not {"hash", "prev_hash", "mac"} & set(seen) and "text" not in seen["detail"]
    # What the guess would have been checked against (the code's own unkeyed digest) is nowhere.
    assert digest(opinion.algorithm, canonical(opinion)) not in json.dumps(trail)


def test_verified_is_false_when_the_newest_records_go_with_the_head_rewound(api, ctx):
    pid = _opinion_project(api, ctx)
    with ctx.db.session() as s:
        n = s.get(Project, pid).audit_seq
        s.execute(delete(AuditRecord).where(AuditRecord.project_id == pid, AuditRecord.seq == n))
        prev = s.scalar(select(AuditRecord).where(AuditRecord.project_id == pid, AuditRecord.seq == n - 1))
        s.execute(update(Project).where(Project.id == pid).values(audit_seq=n - 1, audit_head=prev.hash))
    trail = api.as_("edu").get(f"/api/projects/{pid}/audit").json
    assert trail["verified"] is False and trail["first_bad_seq"] == n - 1
    assert [b["kind"] for b in trail["breaks"]] == ["head_mac"]
    with ctx.db.session() as s:
        s.execute(update(Project).where(Project.id == pid).values(audit_seq=n))  # plain truncation
    trail = api.as_("supervisor").get(f"/api/projects/{pid}/audit").json
    assert trail["verified"] is False and trail["first_bad_seq"] == n
    assert api.as_("edu").get(f"/api/projects/{pid}/export.zip").status_code == 200


def _notification(ctx, unit_name: str) -> int:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        item = s.scalars(select(WorkItem).order_by(WorkItem.id)).first()
        unit_id = s.scalar(select(Unit.id).where(Unit.name == unit_name))
        n = Notification(work_item_id=item.id, project_id=item.project_id, kind="escalation",
                         level=1 + s.query(Notification).count(), unit_id=unit_id, recipient_role="leader",
                         subject="【逾期督办】", body="…", payload={})
        s.add(n)
        s.flush()
        return n.id


def test_only_the_notifications_own_unit_marks_it_read(api, ctx):
    Driver(ctx).declare("市教育局", budget_year=2027, participants=[])
    edu = _notification(ctx, "市教育局")
    for user in ("auditor", "supervisor", "health", "admin"):
        r = api.as_(user).post(f"/api/notifications/{edu}/read")
        assert r.status_code == 403, user
        assert "本单位" in r.json["error"]["message"] or "无权" in r.json["error"]["message"]
    with ctx.db.session() as s:
        assert s.get(Notification, edu).read_at is None
    # Overseers still read it.
    assert any(n["id"] == edu for n in api.as_("auditor").get("/api/escalations").json)
    assert api.as_("edu_leader").post(f"/api/notifications/{edu}/read").status_code == 200
    with ctx.db.session() as s:
        assert s.get(Notification, edu).read_by == "edu_leader"
    own = _notification(ctx, "市大数据局")  # level 2 escalations go to 市大数据局 督办
    assert api.as_("supervisor").post(f"/api/notifications/{own}/read").status_code == 200
    audit_own = _notification(ctx, "市审计局")
    assert api.as_("auditor").post(f"/api/notifications/{audit_own}/read").status_code == 200


def test_only_a_construction_unit_declares(api, ctx):
    data = Driver(ctx).answer("declaration", {"budget_year": 2027, "participants": []})
    for user in ("bigdata", "finance", "cac", "gov", "supervisor", "auditor", "designer", "admin"):
        r = api.as_(user).post("/api/projects", json={"data": data})
        assert r.status_code == 403, (user, r.json)
        assert "第六条" in r.json["error"]["article"] and "第七条(一)" in r.json["error"]["article"]
        assert "建设单位" in r.json["error"]["message"]
    with ctx.db.session() as s:
        assert s.query(Project).count() == 0
    assert api.as_("edu_leader").post("/api/projects", json={"data": data}).status_code == 201
    assert api.as_("health").post("/api/projects", json={"data": data}).status_code == 201
