"""Fixtures: a fresh, migrated, seeded govflow on each backend.

Every service-level test runs on SQLite and on the real PostgreSQL of this machine
(127.0.0.1:5432, database `test` for administration). GOVFLOW_TEST_BACKENDS narrows the list;
an unreachable PostgreSQL is a failure, not a skip."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from service.config import REPO_ROOT, Settings
from service.domain.access import Actor
from service.storage.migrate import upgrade
from service.storage.models import Base

BACKENDS = [b.strip() for b in os.environ.get("GOVFLOW_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
PG_ADMIN_URL = os.environ.get("GOVFLOW_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
OPERATOR = Actor("operator", None, frozenset({"admin", "system"}))
YEAR = 2027


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if "postgresql" not in BACKENDS:
        yield ""
        return
    name = f"govflow_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def database_url(backend: str, tmp_path: Path, sqlite_template: Path, pg_url: str) -> str:
    if backend == "sqlite":
        path = tmp_path / "govflow.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    _truncate(pg_url)
    return pg_url


def make_ctx(url: str, **overrides):  # type: ignore[no-untyped-def]
    from service.operations import organisation, processes
    from service.operations.context import Govflow

    settings = Settings(database_url=url, processes_dir=REPO_ROOT / "processes", forms_dir=REPO_ROOT / "forms",
                        **overrides)
    ctx = Govflow(settings)
    organisation.ensure_units(ctx)
    processes.deploy(ctx, processes.bundle_from_directory(settings.processes_dir), OPERATOR)
    organisation.set_window(ctx, YEAR, dt.date(2000, 1, 1), dt.date(2100, 12, 31), OPERATOR)
    return ctx


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ctx(backend: str, tmp_path: Path, sqlite_template: Path, pg_url: str):  # type: ignore[no-untyped-def]
    context = make_ctx(database_url(backend, tmp_path, sqlite_template, pg_url))
    yield context
    context.close()


@pytest.fixture
def driver(ctx):  # type: ignore[no-untyped-def]
    from service.scenario import Driver

    return Driver(ctx)
