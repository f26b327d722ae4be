"""第七条(五) and 第六条 through the API, on both databases: 市大数据局 compiles the 建议清单, 市财政局
co-signs it, 市政府 approves it with its 文号 amount by amount; a 追加清单 releases an urgent project
declared after 预算安排完成; every other department is refused in Chinese (docs/annual-list.md)."""
from __future__ import annotations

from sqlalchemy import select

from service.storage.models import AnnualList, AuditRecord, Notification, Project

YEAR = 2027


def waiting(driver, unit: str = "市教育局", **declare) -> int:  # type: ignore[no-untyped-def]
    pid = driver.declare(unit, budget_year=YEAR, participants=[], **declare).project_id
    driver.run(pid)  # until it waits at 项目批准 for the year's list
    return pid


def project(ctx, pid: int) -> Project:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        p = s.get(Project, pid)
        assert p is not None
        return p


def test_compile_cosign_approve_then_a_supplementary_list_for_urgent_work(api, ctx, driver):  # type: ignore[no-untyped-def]
    a, b = waiting(driver), waiting(driver, "市卫生健康委员会")
    base = f"/api/annual-lists/{YEAR}"

    r = api.as_("bigdata").get(base)
    assert r.status_code == 200, r.json
    assert [(w["project_id"], w["proposed"]) for w in r.json["waiting"]] == [(a, 450.0), (b, 450.0)]
    assert r.json["can_compile"] and not r.json["can_cosign"] and not r.json["can_approve"]
    for who in ("edu", "cac"):  # another department: neither reads nor compiles the list
        r = api.as_(who).get(base)
        assert r.status_code == 403 and "市大数据局" in r.json["error"]["message"], r.json
    for who in ("edu", "finance", "gov", "supervisor"):
        r = api.as_(who).put(f"{base}/draft", json={"entries": [{"project_id": a}]})
        assert r.status_code == 403 and r.json["error"]["article"] == "第七条(五)", (who, r.json)

    r = api.as_("bigdata").put(f"{base}/draft", json={"entries": [{"project_id": a, "priority": 1},
                                                                  {"project_id": b, "priority": 2}]})
    assert r.status_code == 200, r.json
    list_id = r.json["list_id"]
    # A saved draft stays editable; an edit against an older revision is refused.
    r = api.as_("bigdata").put(f"{base}/draft", json={"entries": [{"project_id": a, "priority": 1},
                                                                  {"project_id": b, "priority": 2, "remark": "分期"}],
                                                      "revision": 1})
    assert r.status_code == 200 and r.json["list_id"] == list_id, r.json
    r = api.as_("bigdata").put(f"{base}/draft", json={"entries": [{"project_id": a}], "revision": 1})
    assert r.status_code == 409, r.json

    ok = {"approved": {str(a): 450.0}, "document_no": "东政字〔2026〕8号"}
    r = api.as_("gov").post(base, json=ok)
    assert r.status_code == 422 and "会签" in r.json["error"]["message"], r.json
    for who in ("bigdata", "edu", "gov"):
        assert api.as_(who).post(f"{base}/lists/{list_id}/cosign", json={}).status_code == 403, who
        # Who before what: another unit's malformed body is refused for who it is, not for its shape.
        assert api.as_(who).post(f"{base}/lists/{list_id}/cosign", json={"opinion": 7}).status_code == 403, who
    r = api.as_("finance").post(f"{base}/lists/{list_id}/cosign", json={"opinion": "同意，预算规模可控"})
    assert r.status_code == 200, r.json
    r = api.as_("bigdata").put(f"{base}/draft", json={"entries": [{"project_id": a}]})
    assert r.status_code == 409 and "会签" in r.json["error"]["message"], r.json

    for who in ("bigdata", "finance", "edu"):
        assert api.as_(who).post(base, json=ok).status_code == 403, who
    r = api.as_("gov").post(base, json={"approved": {str(a): 450.0}})
    assert r.status_code == 422 and r.json["error"]["field"] == "document_no", r.json
    assert r.json["error"]["article"] == "第七条(五)"
    r = api.as_("gov").post(base, json={"approved": {str(a): 450.0}, "document_no": "  "})
    assert r.status_code == 422 and r.json["error"]["field"] == "document_no", r.json
    r = api.as_("gov").post(base, json={"approved": {str(a): 9999.0}, "document_no": "东政字〔2026〕8号"})
    assert r.status_code == 422, r.json
    assert (r.json["error"]["field"], r.json["error"]["article"]) == (f"approved/{a}", "第七条(五)")
    assert "450" in r.json["error"]["errors"][0]["message"]
    with ctx.db.session() as s:  # refused: nothing written
        assert s.get(AnnualList, list_id).status == "cosigned"  # type: ignore[union-attr]

    r = api.as_("gov").post(base, json=ok)  # b is left off by 市政府
    assert r.status_code == 200, r.json
    assert (r.json["released"], r.json["left_off"], r.json["seq"]) == ([a], [b], 1)
    assert [w.task_name for w in driver.open_items(a)] == ["consistency_request"]
    assert (project(ctx, b).status, project(ctx, b).outcome) == ("ended", "未列入清单")
    r = api.as_("gov").post(base, json=ok)
    assert r.status_code == 409 and "已批准" in r.json["error"]["message"], r.json
    with ctx.db.session() as s:
        texts = [n.payload["text"] for n in s.scalars(select(Notification).where(Notification.kind == "annual_list"))]
    assert any("列入" in t and "东政字〔2026〕8号" in t for t in texts) and any("未列入" in t for t in texts)

    # 第六条: 预算安排完成, then urgent work declared outside the window goes on a 追加清单.
    assert api.as_("bigdata").post(f"{base}/budget-arranged").status_code == 403
    r = api.as_("supervisor").post(f"{base}/budget-arranged")
    assert r.status_code == 200 and r.json["ended"] == [], r.json
    late = waiting(driver, "市民政局", is_urgent=True, urgent_basis="市委、市政府临时部署的防汛应急指挥系统建设")
    r = api.as_("bigdata").put(f"{base}/draft", json={"entries": [{"project_id": late, "remark": "紧急追加"}]})
    assert r.status_code == 200, r.json
    extra = r.json["list_id"]
    assert api.as_("finance").post(f"{base}/lists/{extra}/cosign", json={}).status_code == 200
    r = api.as_("gov").post(f"{base}/lists/{extra}/approve",
                            json={"approved": {str(late): 500.0}, "reasons": {str(late): "防汛任务加急，增加硬件"},
                                  "document_no": "东政字〔2027〕2号"})
    assert r.status_code == 200 and (r.json["released"], r.json["seq"]) == ([late], 2), r.json
    assert [w.task_name for w in driver.open_items(late)] == ["consistency_request"]
    lists = api.as_("finance").get(base).json["lists"]
    assert [(x["seq"], x["title"], x["status"]) for x in lists] == [
        (1, "项目建议清单", "approved"), (2, "第 1 批追加清单", "approved")]
    assert lists[1]["entries"][0]["reason"] == "防汛任务加急，增加硬件"
    assert lists[0]["cosign_opinion"] == "同意，预算规模可控" and lists[0]["cosigned_by_name"] == "周敏"
    with ctx.db.session() as s:
        actions = list(s.scalars(select(AuditRecord.action).where(AuditRecord.unit_id.is_not(None))))
    assert {"annual_list_compiled", "annual_list_cosigned", "annual_list_approved", "budget_arranged"} <= set(actions)


def test_budget_arranged_ends_waiting_non_urgent_projects_and_keeps_urgent_ones(api, ctx, driver):  # type: ignore[no-untyped-def]
    plain = waiting(driver)
    urgent = waiting(driver, "市民政局", is_urgent=True, urgent_basis="省政府部署的一网通办改造")
    slow = driver.declare("市卫生健康委员会", budget_year=YEAR, participants=[]).project_id
    driver.run(slow, until="budget_review")  # still at 预算评审 when the budget is arranged
    base = f"/api/annual-lists/{YEAR}"
    r = api.as_("bigdata").put(f"{base}/draft", json={"entries": [{"project_id": plain}, {"project_id": urgent}]})
    list_id = r.json["list_id"]
    assert api.as_("finance").post(f"{base}/lists/{list_id}/cosign", json={}).status_code == 200
    r = api.as_("admin").post(f"{base}/budget-arranged")  # a list awaits 市政府: settle it first
    assert r.status_code == 422 and r.json["error"]["article"] == "第六条", r.json
    r = api.as_("gov").post(f"{base}/lists/{list_id}/send-back", json={"reason": "请按轻重缓急排序"})
    assert r.status_code == 200, r.json
    assert api.as_("edu").post(f"{base}/budget-arranged").status_code == 403

    r = api.as_("admin").post(f"{base}/budget-arranged")
    assert r.status_code == 200, r.json
    assert (r.json["ended"], r.json["urgent_still_waiting"]) == ([plain], [urgent])
    p = project(ctx, plain)
    assert (p.status, p.outcome) == ("ended", "预算安排完成，未列入年度清单")
    assert project(ctx, urgent).stage == "项目批准" and project(ctx, urgent).status == "active"
    with ctx.db.session() as s:
        row = s.get(AnnualList, list_id)
        assert row is not None and [e["project_id"] for e in row.entries] == [urgent]  # the draft keeps the urgent one
        assert s.scalar(select(AuditRecord).where(AuditRecord.project_id == plain,
                                                  AuditRecord.action == "budget_arranged_not_listed")) is not None
        note = s.scalar(select(Notification).where(Notification.project_id == plain,
                                                   Notification.kind == "annual_list"))
        assert note is not None and "预算安排已完成" in note.payload["text"]
    dossier = api.as_("edu").get(f"/api/projects/{plain}").json
    assert dossier["outcome"] == "预算安排完成，未列入年度清单"
    assert api.as_("admin").post(f"{base}/budget-arranged").status_code == 409
    driver.run(slow)  # reaches 项目批准 after the arrangement: ends at once instead of waiting forever
    assert (project(ctx, slow).status, project(ctx, slow).outcome) == ("ended", "预算安排完成，未列入年度清单")
    assert [w["project_id"] for w in api.as_("bigdata").get(base).json["waiting"]] == [urgent]
    # After the arrangement a non-urgent declaration for the year is refused (第六条).
    r = api.as_("edu").post("/api/projects", json={"data": driver.answer("declaration", {"budget_year": YEAR,
                                                                                          "participants": []})})
    assert r.status_code == 422 and r.json["error"]["article"] == "第六条", r.json


def test_declaration_windows_are_set_by_supervision_and_audited(api, ctx):  # type: ignore[no-untyped-def]
    body = {"opens_on": "2028-01-01", "closes_on": "2028-06-30"}
    for who in ("edu", "bigdata", "gov", "designer"):
        r = api.as_(who).put("/api/annual-lists/2029/window", json=body)
        assert r.status_code == 403 and r.json["error"]["article"] == "第六条", (who, r.json)
        assert api.as_(who).put("/api/annual-lists/2029/window", json={"opens_on": "x"}).status_code == 403, who
    r = api.as_("supervisor").put("/api/annual-lists/2029/window", json={"opens_on": "2028-07-01",
                                                                         "closes_on": "2028-01-01"})
    assert r.status_code == 422 and r.json["error"]["field"] == "closes_on", r.json
    assert api.as_("supervisor").put("/api/annual-lists/2029/window", json={"opens_on": "x"}).status_code == 422
    assert api.as_("supervisor").put("/api/annual-lists/2029/window", json=body).status_code == 200
    items = api.as_("gov").get("/api/annual-lists/windows").json["items"]
    row = next(i for i in items if i["budget_year"] == 2029)
    assert (row["opens_on"], row["closes_on"], row["updated_by_name"]) == ("2028-01-01", "2028-06-30", "何静")
    assert api.as_("edu").get("/api/annual-lists/windows").status_code == 403
    with ctx.db.session() as s:
        record = s.scalar(select(AuditRecord).where(AuditRecord.action == "declaration_window_set")
                          .order_by(AuditRecord.id.desc()))
        assert record is not None and record.actor == "supervisor" and record.detail["budget_year"] == 2029
