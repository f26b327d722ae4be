"""GET /api/projects/{id} stays the same size however long the project's history grows: the latest
records with a cursor, the latest completed steps, and GET /api/projects/{id}/history pages back."""
from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from service.operations import audit, dossier
from service.storage.models import Project, WorkItem, utcnow


def add_send_backs(ctx, project_id: int, n: int) -> None:  # type: ignore[no-untyped-def]
    """n rounds of 退回 and resubmission, written straight into the tables in one transaction (the
    same records the engine writes: completed step, sent back, reopened), chained and signed."""
    with ctx.db.session() as s:
        project = s.get(Project, project_id)
        first = s.scalars(select(WorkItem).where(WorkItem.project_id == project_id).order_by(WorkItem.id)).first()
        now = utcnow()
        done = len(s.scalars(select(WorkItem.id).where(WorkItem.project_id == project_id,
                                                       WorkItem.state == "completed")).all())
        for i in range(done, done + n):
            w = WorkItem(instance_id=first.instance_id, project_id=project_id, spiff_task_id=str(uuid.uuid4()),
                         task_name=first.task_name, title=first.title, stage=first.stage, lane=first.lane,
                         unit_id=first.unit_id, form=first.form, round=i + 2, state="completed", created_at=now,
                         completed_at=now, completed_by="edu", data=dict(first.data or {"note": "补充材料"}))
            s.add(w)
            s.flush()
            detail = {"task": w.task_name, "title": w.title, "unit": "市教育局", "opinion": f"第{i + 2}轮补充材料"}
            for action, extra in (("task_opened", {}), ("task_completed", {}),
                                  ("task_sent_back", {"to": w.task_name, "reason": "投资估算依据不足，请补充" * 4})):
                audit.append(s, project, actor="edu", action=action, work_item_id=w.id, detail={**detail, **extra},
                             algorithm=ctx.settings.audit_hash, at=now)


def test_project_answer_is_bounded_and_history_pages_back(api, ctx, driver):  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", participants=[]).project_id
    edu = api.as_("edu")
    small = edu.get(f"/api/projects/{pid}").json
    assert small["history_next"] is None and small["history_total"] == len(small["history"])
    assert [r["seq"] for r in small["history"]] == list(range(1, small["history_total"] + 1))

    add_send_backs(ctx, pid, 150)
    r150 = edu.get(f"/api/projects/{pid}")
    add_send_backs(ctx, pid, 450)
    r600 = edu.get(f"/api/projects/{pid}")
    body = r600.json
    total = body["history_total"]
    assert total >= 1800
    # The latest page, oldest first within it; a cursor to the page before.
    assert [r["seq"] for r in body["history"]] == list(range(total - dossier.HISTORY_PAGE + 1, total + 1))
    assert body["history_next"] == total - dossier.HISTORY_PAGE + 1
    assert len(body["completed_steps"]) == dossier.STEPS_SHOWN and body["completed_steps_truncated"] is True
    rounds = [st["round"] for st in body["completed_steps"]]
    assert rounds == sorted(rounds) and rounds[-1] >= 600  # the latest steps, in order
    # 150 or 600 rounds: the same answer size (ids grow by a digit at most).
    assert abs(len(r600.data) - len(r150.data)) < 0.05 * len(r150.data)
    assert len(r600.data) < 400_000

    # Following the cursor from the newest page reaches seq 1 exactly once each.
    seen: list[int] = []
    before = None
    pages = 0
    while True:
        url = f"/api/projects/{pid}/history?limit=200" + (f"&before={before}" if before else "")
        page = edu.get(url).json
        seqs = [r["seq"] for r in page["items"]]
        assert seqs == sorted(seqs) and len(seqs) <= 200 and page["total"] == total
        seen = seqs + seen
        pages += 1
        if page["next"] is None:
            break
        assert page["next"] == seqs[0]
        before = page["next"]
    assert seen == list(range(1, total + 1)) and pages == -(-total // 200)
    page = edu.get(f"/api/projects/{pid}/history?before=11&limit=4").json
    assert ([r["seq"] for r in page["items"]], page["next"]) == ([7, 8, 9, 10], 7)
    assert edu.get(f"/api/projects/{pid}/history?before=1").json["items"] == []
    default = edu.get(f"/api/projects/{pid}/history").json
    assert len(default["items"]) == dossier.HISTORY_PAGE and "hash" in default["items"][0]

    for bad in ("limit=0", "limit=201", "before=x"):
        err = edu.get(f"/api/projects/{pid}/history?{bad}")
        assert err.status_code == 422 and err.json["error"]["errors"][0]["path"] in ("limit", "before")
    assert api.as_("edu").get("/api/projects/999999/history").status_code == 404
    # A unit outside the project reads the public part only, as in the project answer.
    other = api.as_("nature").get(f"/api/projects/{pid}/history?limit=5").json["items"]
    assert other and all("hash" not in r and "opinion" not in r["detail"] for r in other)
    assert json.loads(api.as_("nature").get(f"/api/projects/{pid}").data)["history_total"] == total
