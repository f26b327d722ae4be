"""People, not usernames (docs/people.md): user administration under /api/admin/users, display
names beside every username in task and project responses (one query), and the 转办/委派
candidates of a task."""
from __future__ import annotations

import threading

from sqlalchemy import select

from service.domain.access import Actor
from service.domain.errors import Conflict
from service.operations import audit, identity, projects, user_admin
from service.storage.models import AuditRecord, SecurityEvent, Unit, User
from tests.conftest import recorded_statements

NEW = {"username": "zhangwei", "password": "Dongying-2027", "display_name": "张伟", "unit": "市财政局",
       "roles": ["reviewer"], "phone": "0546-8123456", "email": "zhang.wei@czj.example.gov.cn"}


def login(api, username: str, password: str):  # type: ignore[no-untyped-def]
    return api.client.post("/api/auth/login", json={"username": username, "password": password})


def test_admin_creates_edits_deactivates_and_resets_a_user(api, ctx):
    admin = api.as_("admin")
    r = admin.post("/api/admin/users", json=NEW)
    assert r.status_code == 201, r.json
    assert (r.json["display_name"], r.json["unit"], r.json["phone"], r.json["active"]) == \
        ("张伟", "市财政局", "0546-8123456", True)
    assert "password_hash" not in r.json
    listed = {u["username"]: u for u in admin.get("/api/admin/users").json}
    assert listed["zhangwei"]["email"] == "zhang.wei@czj.example.gov.cn"
    assert listed["edu"]["display_name"] == "王晓燕" and listed["edu"]["phone"].startswith("0546-")

    signed_in = login(api, "zhangwei", NEW["password"])
    assert signed_in.status_code == 200 and signed_in.json["user"]["display_name"] == "张伟"
    token = {"Authorization": f"Bearer {signed_in.json['token']}"}

    r = admin.put("/api/admin/users/zhangwei", json={"display_name": "张伟民", "phone": "13905461234"})
    assert r.status_code == 200 and (r.json["display_name"], r.json["phone"]) == ("张伟民", "13905461234")
    assert api.client.get("/api/auth/me", headers=token).status_code == 200  # contacts only: still signed in

    r = admin.post("/api/admin/users/zhangwei/deactivate")
    assert r.status_code == 200 and r.json["active"] is False
    assert api.client.get("/api/auth/me", headers=token).status_code == 401  # its token ended at once
    assert login(api, "zhangwei", NEW["password"]).status_code == 401
    assert admin.post("/api/admin/users/zhangwei/reactivate").json["active"] is True
    assert login(api, "zhangwei", NEW["password"]).status_code == 200

    r = admin.post("/api/admin/users/zhangwei/password", json={"password": "short"})
    assert r.status_code == 400 and r.json["error"]["errors"][0]["path"] == "password"
    assert "初始密码：至少 10 个字符" in r.json["error"]["message"]
    assert admin.post("/api/admin/users/zhangwei/password", json={"password": "Huanghe#River9"}).status_code == 200
    assert login(api, "zhangwei", NEW["password"]).status_code == 401
    assert login(api, "zhangwei", "Huanghe#River9").status_code == 200

    # Every change audited: security events for all, and 市财政局's chain, which still verifies.
    with ctx.db.session() as s:
        kinds = list(s.scalars(select(SecurityEvent.kind).where(SecurityEvent.username == "zhangwei")
                               .order_by(SecurityEvent.id)))
        unit_id = s.scalar(select(Unit.id).where(Unit.name == "市财政局"))
        actions = list(s.scalars(select(AuditRecord.action).where(AuditRecord.unit_id == unit_id)
                                 .order_by(AuditRecord.seq)))
        assert audit.check_unit(s, unit_id).ok
    expected = ["user_created", "user_updated", "user_deactivated", "user_reactivated", "password_reset"]
    assert [k for k in kinds if k in expected] == expected
    assert actions == expected


def test_validation_names_the_field_in_chinese(api):
    admin = api.as_("admin")
    assert admin.post("/api/admin/users", json=NEW).status_code == 201
    dup = admin.post("/api/admin/users", json=NEW)
    assert dup.status_code == 409 and dup.json["error"]["message"] == "用户名已存在"
    cases = [({"email": "zhang.wei@"}, "email", "电子邮箱："), ({"phone": "12345"}, "phone", "电话："),
             ({"display_name": "  "}, "display_name", "姓名：不能为空"), ({"unit": "市不存在局"}, "unit", "单位："),
             ({"roles": ["boss"]}, "roles", "角色：未知角色 boss"), ({"unit": None}, "unit", "单位：经办人"),
             ({"username": "李四"}, "username", "用户名："), ({"password": "abcdefghijk"}, "password", "初始密码：")]
    for change, path, text in cases:
        r = admin.post("/api/admin/users", json={**NEW, "username": "other", **change})
        assert r.status_code == 400, (change, r.json)
        errors = r.json["error"]["errors"]
        assert errors[0]["path"] == path and errors[0]["message"].startswith(text), (change, errors)
    r = admin.put("/api/admin/users/edu", json={"email": "not-an-address"})
    assert r.status_code == 400 and r.json["error"]["errors"][0]["path"] == "email"
    assert admin.put("/api/admin/users/nobody", json={"phone": ""}).status_code == 404


def test_only_admins_manage_users(api):
    for who in ("edu", "supervisor", "designer"):
        caller = api.as_(who)
        assert caller.get("/api/admin/users").status_code == 403
        assert caller.post("/api/admin/users", json=NEW).status_code == 403
        assert caller.put("/api/admin/users/edu", json={"display_name": "冒名"}).status_code == 403
        assert caller.post("/api/admin/users/edu/deactivate").status_code == 403
        assert caller.post("/api/admin/users/edu/password", json={"password": "Dongying-2027"}).status_code == 403
    assert api.as_("admin").get("/api/admin/users").json[0]["display_name"]


def test_no_admin_deactivates_themselves_or_removes_the_last_admin(api):
    admin = api.as_("admin")
    r = admin.post("/api/admin/users/admin/deactivate")
    assert r.status_code == 409 and "不能停用自己" in r.json["error"]["message"]
    r = admin.put("/api/admin/users/admin", json={"roles": ["designer"]})
    assert r.status_code == 409 and "最后一位系统管理员" in r.json["error"]["message"]
    second = admin.post("/api/admin/users", json={**NEW, "username": "admin2", "unit": None, "roles": ["admin"]})
    assert second.status_code == 201
    token = login(api, "admin2", NEW["password"]).json["token"]
    other = {"Authorization": f"Bearer {token}"}
    assert api.client.post("/api/admin/users/admin/deactivate", headers=other).status_code == 200
    # Now admin2 is the only active one: it may neither go nor drop its role.
    r = api.client.put("/api/admin/users/admin2", headers=other, json={"roles": ["designer"]})
    assert r.status_code == 409


def test_two_admins_editing_one_user_at_once_both_land(ctx):
    identity.seed_demo_users(ctx)
    admins = [Actor("admin", None, frozenset({"admin"})), Actor("admin2", None, frozenset({"admin"}))]
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def edit(actor: Actor, n: int) -> None:
        start.wait()
        try:
            for i in range(5):
                user_admin.update(ctx, actor, "edu", {"phone": f"0546-83{n}{i:04d}", "unit": "市民政局" if i % 2
                                                      else "市教育局"})
        except BaseException as exc:  # noqa: BLE001 - any failure (a 5xx-to-be) fails the test
            failures.append(exc)

    threads = [threading.Thread(target=edit, args=(a, n)) for n, a in enumerate(admins)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.username == "edu"))
        assert user is not None and user.unit is not None and user.unit.name == "市教育局"
        assert all(audit.check_unit(s, uid).ok for uid in s.scalars(select(Unit.id)))


def test_two_admins_removing_each_other_leave_one(ctx):
    identity.seed_demo_users(ctx)
    identity.create_user(ctx, "admin2", unit=None, roles=["admin"], password=None)
    a, b = Actor("admin", None, frozenset({"admin"})), Actor("admin2", None, frozenset({"admin"}))
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def go(actor: Actor, target: str) -> None:
        start.wait()
        try:
            user_admin.set_active(ctx, actor, target, False)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=go, args=(a, "admin2")), threading.Thread(target=go, args=(b, "admin"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["ok", "refused"]
    with ctx.db.session() as s:
        assert len([u for u in s.scalars(select(User).where(User.active.is_(True))) if "admin" in u.roles]) == 1


def test_task_and_project_responses_carry_names(api, ctx, driver):
    edu_actor = Actor("edu", "市教育局", frozenset({"department"}))
    pid = projects.declare(ctx, driver.answer("declaration", {"budget_year": 2027, "participants": []}),
                           edu_actor).project_id
    (item,) = driver.open_items(pid)  # 市财政局's 初审
    fin = api.as_("finance")
    assert fin.post(f"/api/tasks/{item.id}/claim").status_code == 200
    assert fin.post(f"/api/tasks/{item.id}/opinions", json={"text": "同意"}).json["author_name"] == "周敏"
    task = fin.get(f"/api/tasks/{item.id}").json
    assert (task["assignee"], task["assignee_name"]) == ("finance", "周敏")
    assert task["opinions"][0]["author_name"] == "周敏"
    [row] = [r for r in fin.get("/api/tasks").json if r["id"] == item.id]
    assert row["assignee_name"] == "周敏"

    edu = api.as_("edu")
    with ctx.db.session() as s:
        s.execute(select(User))  # warm the pool
    with recorded_statements(ctx.db.engine) as statements:
        project = edu.get(f"/api/projects/{pid}").json
    assert project["declared_by_name"] == "王晓燕"
    assert project["current_tasks"][0]["assignee_name"] == "周敏"
    actors = {h["actor"]: h["actor_name"] for h in project["history"]}
    assert actors["edu"] == "王晓燕" and actors["finance"] == "周敏"
    assert project["opinions"][0]["author_name"] == "周敏"
    # One SELECT of users for the whole answer (the actor's own lookup is by session/token).
    user_selects = [s for s in statements if "FROM users" in s and "username IN" in s.replace("\n", " ")]
    assert len(user_selects) == 1, user_selects
    trail = edu.get(f"/api/projects/{pid}/audit").json
    assert {r["actor_name"] for r in trail["records"]} >= {"王晓燕", "周敏"}


def test_candidates_are_the_active_members_of_the_tasks_unit(api, ctx, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    (item,) = driver.open_items(pid)  # 市财政局
    identity.create_user(ctx, "finance2", unit="市财政局", roles=["reviewer"], password=None, display_name="钱进")
    identity.create_user(ctx, "finance3", unit="市财政局", roles=["reviewer"], password=None, display_name="离岗")
    identity.create_user(ctx, "edu2", unit="市教育局", roles=["department"], password=None, display_name="外单位")
    user_admin.set_active(ctx, Actor("admin", None, frozenset({"admin"})), "finance3", False)
    r = api.as_("finance").get(f"/api/tasks/{item.id}/candidates")
    assert r.status_code == 200
    assert [(c["username"], c["display_name"], c["unit"]) for c in r.json] == [("finance2", "钱进", "市财政局")]
    assert api.as_("edu").get(f"/api/tasks/{item.id}/candidates").status_code == 403  # not the task's unit
    r = api.as_("finance").post(f"/api/tasks/{item.id}/reassign", json={"user": "finance3"})
    assert r.status_code == 422 and r.json["error"]["errors"][0]["path"] == "user"  # the server still checks
    r = api.as_("finance").post(f"/api/tasks/{item.id}/reassign", json={"user": "finance2"})
    assert r.status_code == 200 and r.json["assignee_name"] == "钱进"
