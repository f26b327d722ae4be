"""Database engine, sessions and the unit of work.

SQLite (embedded default) runs in WAL mode and every transaction starts with BEGIN IMMEDIATE, so
two writers serialise instead of failing late with "database is locked" (`Database.read` takes a
read snapshot instead); on PostgreSQL the writers of one project serialise on its row
(service.storage.locks), with the optimistic version columns of the models as a second line."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# Execution option of `Database.read` connections: they open no write transaction.
READ_ONLY = "govflow_read_only"


def ensure_sqlite_directory(url: str) -> None:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str, **kwargs: object) -> Engine:
    # Statement parameters are users' data (names, phones, form contents): never in an exception's
    # text, so never in a log line (docs/operations.md).
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        ensure_sqlite_directory(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # Let SQLAlchemy, not the driver, decide when a transaction begins.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            # A reader takes a snapshot and no write lock: in WAL mode it neither waits for a
            # writer nor holds one up.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    # pool_pre_ping: after a database restart or a cut connection, every pooled connection is dead;
    # without the ping each one fails one request with a 5xx before the pool notices. The ping is
    # one short round trip per transaction (figures in docs/concurrency.md).
    return create_engine(url, pool_pre_ping=True, pool_recycle=1800, pool_size=20, max_overflow=20, **kwargs)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # SQLite lets one writer in at a time; waiting writers otherwise sleep in SQLite's busy handler
        # in steps of up to 100 ms. Queueing them on a lock in this process hands over at once (p95
        # at 8 HTTP clients went from ~150 ms to the figures in docs/engine.md). Re-entrant, so a
        # nested session in one thread behaves as before.
        self._write_lock = threading.RLock() if url.startswith("sqlite") else None
        # No autoflush: operations flush once, where they need ids; autoflush before every query
        # cost about a third of a completion.
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        if self._write_lock is None:
            with self.sessions() as session, session.begin():
                yield session
            return
        with self._write_lock, self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session that only reads. On PostgreSQL it runs in autocommit, without the BEGIN and
        COMMIT round trips: each statement sees the latest commit, as it would in a READ
        COMMITTED transaction. On SQLite it reads one snapshot (a deferred BEGIN) without the
        write lock, so it does not queue behind writers. Changes made through it are refused."""
        with self.read_connection() as conn, Session(conn, autoflush=False, expire_on_commit=False) as session:
            yield session
            if session.new or session.dirty or session.deleted:
                raise RuntimeError("Database.read: this session only reads; use Database.session to write")

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """What `read` opens, as a Core connection: for a hot lookup that needs rows, not entities
        (the bearer-token check of every API request)."""
        options: dict[str, object] = {READ_ONLY: True}
        if self._write_lock is None:
            options["isolation_level"] = "AUTOCOMMIT"
        with self.engine.connect().execution_options(**options) as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def describe_error(exc: Exception) -> str:
    """A database error for the log without its text: PostgreSQL's DETAIL quotes the row's values
    ("Key (phone)=(…) already exists"). The constraint's name says enough to find the cause."""
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None) if diag is not None else None
    parts = [type(orig).__name__, getattr(orig, "sqlstate", None) or "",
             f"constraint={constraint}" if constraint else ""]
    return " ".join(p for p in parts if p)
