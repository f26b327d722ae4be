"""`govflow serve --demo` preparation: a fresh embedded database with units, process and logins."""
from __future__ import annotations

from service.http import serve
from service.http.app import create_app
from service.operations import identity


def test_demo_preparation_gives_working_logins(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    ctx = serve.prepare(demo=True)
    serve.prepare(demo=True)  # idempotent: a second start changes nothing
    try:
        client = create_app(ctx, secret_key="t").test_client()
        for username, unit, roles, _ in identity.DEMO_USERS:
            r = client.post("/api/auth/login", json={"username": username, "password": identity.DEMO_PASSWORD})
            assert r.status_code == 200 and r.json["user"]["unit"] == unit and r.json["user"]["roles"] == roles
        # Demo projects are declared once and leave work in the inboxes of several units.
        from service import demo_projects
        from service.operations import dossier, tasks

        registered = dossier.register(ctx)
        assert [p["name"] for p in registered] == [name for _, name, _, _ in demo_projects.DEMO_PROJECTS]
        open_units = {w.unit.name for p in registered for w in tasks.open_items(ctx, p["id"])}
        assert {"市大数据局", "市委网信办", "市自然资源和规划局"} <= open_units
        text = serve.demo_logins()
        assert "edu" in text and "王晓燕" in text and identity.DEMO_PASSWORD in text
    finally:
        ctx.close()
