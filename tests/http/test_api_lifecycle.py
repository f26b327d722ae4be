"""Every task of the lifecycle completed through the API by the right users, to the end."""
from __future__ import annotations

from service.scenario import Driver

# The demo user who works each unit's lane.
WORKER_OF = {"市教育局": "edu", "市民政局": "civil", "市卫生健康委员会": "health", "市大数据局": "bigdata",
             "市财政局": "finance", "市委网信办": "cac", "市公安局": "police", "市密码管理局": "crypto"}


def test_a_project_runs_to_the_end_through_the_api(api, ctx):
    answers = Driver(ctx)
    edu = api.as_("edu")
    r = edu.post("/api/projects", json={"data": answers.answer(
        "declaration", {"budget_year": 2027, "participants": ["市民政局", "市卫生健康委员会"]})})
    assert r.status_code == 201, r.json
    pid = r.json["project_id"]
    steps = 0
    approved = False
    while True:
        project = edu.get(f"/api/projects/{pid}").json
        if project["status"] != "active":
            break
        current = project["current_tasks"]
        if not current:
            assert project["stage"] == "项目批准" and not approved
            # 第七条(五): 市大数据局 compiles the list, 市财政局 co-signs it, 市政府 approves it.
            r = api.as_("bigdata").put("/api/annual-lists/2027/draft", json={"entries": [{"project_id": pid}]})
            assert r.status_code == 200, r.json
            list_id = r.json["list_id"]
            r = api.as_("finance").post(f"/api/annual-lists/2027/lists/{list_id}/cosign", json={})
            assert r.status_code == 200, r.json
            r = api.as_("gov").post("/api/annual-lists/2027", json={"approved": {str(pid): 450.0},
                                                                    "document_no": "东政办字〔2026〕1号"})
            assert r.status_code == 200 and r.json["released"] == [pid], r.json
            approved = True
            continue
        task = current[0]
        user = api.as_(WORKER_OF[task["unit"]])
        # The worker finds it in the inbox, reads its form, claims and completes it.
        inbox = user.get("/api/tasks?sort=due").json
        assert task["id"] in [t["id"] for t in inbox]
        detail = user.get(f"/api/tasks/{task['id']}").json
        assert detail["schema"]["type"] == "object"
        assert user.post(f"/api/tasks/{task['id']}/claim").status_code == 200
        r = user.post(f"/api/tasks/{task['id']}/complete", json={"data": answers.answer(detail["form"])})
        assert r.status_code == 200, (task, r.json)
        steps += 1
        assert steps < 100
    assert approved
    assert (project["status"], project["outcome"]) == ("completed", "项目完成")
    names = {s["task"] for s in project["completed_steps"]}
    assert {"review_police", "budget_review", "acceptance", "performance_evaluation"} <= names
    trail = api.as_("auditor").get(f"/api/projects/{pid}/audit").json
    assert trail["verified"] is True and trail["records"][-1]["action"] == "process_ended"
    register = api.as_("supervisor").get("/api/projects?year=2027&status=completed").json
    assert [p["id"] for p in register] == [pid]
    csv = api.as_("supervisor").get("/api/projects/export.csv?year=2027")
    assert csv.status_code == 200 and "东营市智慧教育平台" in csv.get_data(as_text=True)
