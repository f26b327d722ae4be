"""A Flask test client on top of the `ctx` fixture (so every API test runs on SQLite and
PostgreSQL), with the demo users and a bearer token for each."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.http.app import create_app
from service.operations import identity


class Api:
    """Calls the API as a demo user: api.as_("finance").post(...)."""

    def __init__(self, client: FlaskClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def as_(self, username: str) -> _As:
        return _As(self.client, {"Authorization": f"Bearer {self.tokens[username]}"})


class _As:
    def __init__(self, client: FlaskClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def __getattr__(self, method: str) -> Callable[..., Any]:
        call = getattr(self.client, method)
        return lambda url, **kw: call(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)


@pytest.fixture
def app(ctx, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GOVFLOW_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    monkeypatch.setenv("GOVFLOW_ATTACHMENT_MAX_BYTES", str(64 * 1024))
    identity.seed_demo_users(ctx)
    application = create_app(ctx, secret_key="test")
    application.testing = True
    return application


@pytest.fixture
def api(app, ctx) -> Api:  # type: ignore[no-untyped-def]
    tokens = {}
    with ctx.db.session() as s:
        from sqlalchemy import select

        from service.storage.models import User

        users = {u.username: u.id for u in s.scalars(select(User))}
    for name, uid in users.items():
        tokens[name] = identity.issue_token(ctx, uid)[0]
    return Api(app.test_client(), tokens)
