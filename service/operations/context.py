"""The application context: settings, database, forms, calendar and the engine caches.

Two caches keep completions cheap: the parsed spec of each process version (built once from its
stored JSON), and live workflow objects keyed by (instance, revision) so a completion on a warm
instance skips deserialisation. A cached workflow is taken out while in use and put back only
after its transaction committed, so a failed or concurrent completion never sees a dirty object."""
from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.config import Settings, load_settings
from service.domain.calendar import WorkCalendar, parse_year_file
from service.domain.forms import Form, FormRegistry
from service.engine.helpers import make_helpers
from service.engine.runtime import ProcessRuntime
from service.engine.scripting import SandboxedScriptEngine
from service.engine.state import load_specs
from service.storage.db import Database
from service.storage.models import CalendarYear, ProcessVersion, Unit

log = logging.getLogger("govflow.forms")


class WorkflowCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance_id: int, revision: int) -> Any | None:
        with self._lock:
            entry = self._items.pop(instance_id, None)
        if entry is not None and entry[0] == revision:
            return entry[1]
        return None

    def put(self, instance_id: int, revision: int, workflow: Any) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[instance_id] = (revision, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class UnitDirectory:
    """Unit ids by name (the BPMN lane names): units are created rarely and never renamed in place,
    so a process-wide map saves a query per opened task."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._names: dict[int, str] = {}

    def id_by_name(self, session: Session, name: str) -> int | None:
        unit_id = self._ids.get(name)
        if unit_id is None:
            # A miss reads every unit (a few dozen rows): one query per process, not one per lane.
            self._load(session)
            unit_id = self._ids.get(name)
        return unit_id

    def name_of(self, session: Session, unit_id: int) -> str | None:
        if unit_id not in self._names:
            self._load(session)
        return self._names.get(unit_id)

    def _load(self, session: Session) -> None:
        rows = list(session.execute(select(Unit.id, Unit.name)))
        self._ids.update({n: i for i, n in rows})
        self._names.update({i: n for i, n in rows})


class CalendarProvider:
    """The working-day calendar: packaged data plus years loaded by operators (table calendar_years).

    Other processes may load a year; the table's newest load time is re-read at most every
    `recheck_seconds` to notice that without a query per deadline."""

    def __init__(self, recheck_seconds: float = 30.0) -> None:
        self.recheck_seconds = recheck_seconds
        self._calendar = WorkCalendar()
        self._stamp: Any = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def current(self) -> WorkCalendar:
        return self._calendar

    def refresh(self, session: Session, force: bool = False) -> WorkCalendar:
        now = time.monotonic()
        if not force and now - self._checked < self.recheck_seconds:
            return self._calendar
        with self._lock:
            stamp = session.execute(select(func.count(), func.max(CalendarYear.loaded_at))).one()
            if force or stamp != self._stamp:
                cal = WorkCalendar()
                for row in session.scalars(select(CalendarYear).order_by(CalendarYear.year)):
                    cal.load_year(parse_year_file(_json(row.payload)))
                self._calendar = cal
                self._stamp = stamp
            self._checked = now
        return self._calendar


@dataclass(frozen=True)
class FormSource:
    """Where the served version of a form comes from: the file (revision 0) or a saved revision."""

    name: str
    revision: int
    source: str  # "file" | "db"
    saved_by: str | None
    saved_at: dt.datetime | None


class FormStore:
    """The forms task completion and task reading use: the files of forms/ with, over each, the
    newest revision saved by a designer (table form_revisions).

    Staleness: revisions are cached in memory; the table's max(id) is re-read at most every
    `recheck_seconds` (2 s) per process, so another process's save is served here at most that
    much later (this process's own saves are seen at once: saving refreshes). The check runs on a
    connection of its own, outside the caller's transaction: completions call `get` inside a
    write transaction (BEGIN IMMEDIATE on SQLite), and the read must neither join nor wait for it;
    in WAL mode an autocommit read never blocks on a writer."""

    def __init__(self, files: FormRegistry, db: Database, recheck_seconds: float = 2.0) -> None:
        self.files = files
        self.db = db
        self.recheck_seconds = recheck_seconds
        self._forms: dict[str, Form] = {}
        self._sources: dict[str, FormSource] = {}
        self._max_id = 0
        self._checked = -1e9
        self._lock = threading.Lock()

    # -- the registry interface (same as FormRegistry) -------------------------------------------
    def names(self) -> list[str]:
        return self.files.names()

    def exists(self, name: str) -> bool:
        return self.files.exists(name)

    def get(self, name: str) -> Form:
        self.refresh()
        form = self._forms.get(name)
        return form if form is not None else self.files.get(name)

    def source(self, name: str) -> FormSource:
        self.files.get(name)  # NotFound for a name without a file
        self.refresh()
        return self._sources.get(name) or FormSource(name, 0, "file", None, None)

    # -- refresh -----------------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.recheck_seconds:
            return
        with self._lock:
            if not force and time.monotonic() - self._checked < self.recheck_seconds:
                return
            try:
                newest = self._read_max_id()
            except Exception:  # noqa: BLE001 - no table yet (database not migrated): the files serve
                newest = 0
            if newest != self._max_id:
                self._load_all()
                self._max_id = newest
            self._checked = now

    def _read_max_id(self) -> int:
        conn = self.db.engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute("SELECT max(id) FROM form_revisions")
            row = cur.fetchone()
            cur.close()
            return int(row[0] or 0) if row else 0
        finally:
            conn.close()  # back to the pool, rolled back (PostgreSQL opened a transaction implicitly)

    def _load_all(self) -> None:
        # Rare (a designer saved). Raw DBAPI like the check, for the same reason: an ORM session
        # would begin a transaction of its own (BEGIN IMMEDIATE, waiting on the caller's).
        newest: dict[str, tuple[int, Any, str, Any]] = {}
        conn = self.db.engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute("SELECT name, revision, schema, saved_by, saved_at FROM form_revisions")
            for name, revision, schema, saved_by, saved_at in cur.fetchall():
                if name not in newest or revision > newest[name][0]:
                    newest[name] = (revision, schema, saved_by, saved_at)
            cur.close()
        finally:
            conn.close()
        forms: dict[str, Form] = {}
        sources: dict[str, FormSource] = {}
        for name, (revision, schema, saved_by, saved_at) in newest.items():
            if not self.files.exists(name):
                continue
            try:
                forms[name] = Form(name, json.loads(schema) if isinstance(schema, str | bytes) else schema,
                                   self.files.directory)
            except Exception:  # noqa: BLE001 - saved revisions were checked; never serve a broken one
                # e.g. saved before a rule got stricter (a pattern RE2 refuses): the file serves, and
                # the operator is told which revision was passed over.
                log.warning("form %s revision %s no longer builds; serving forms/%s.json", name, revision, name)
                continue
            if isinstance(saved_at, str):
                saved_at = dt.datetime.fromisoformat(saved_at)
            sources[name] = FormSource(name, int(revision), "db", saved_by, saved_at)
        self._forms, self._sources = forms, sources


def _json(payload: dict[str, Any]) -> str:
    import json

    return json.dumps(payload, ensure_ascii=False)


class Govflow:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self.db = Database(self.settings.database_url)
        self.forms = FormStore(FormRegistry(self.settings.forms_dir), self.db)
        self.calendars = CalendarProvider()
        self.helpers = make_helpers(self.calendars.current)
        self.script_engine = SandboxedScriptEngine(helpers=self.helpers)
        self.workflows = WorkflowCache(self.settings.workflow_cache_size)
        self.units = UnitDirectory()
        self._runtimes: dict[int, ProcessRuntime] = {}
        self._runtime_lock = threading.Lock()

    def runtime(self, session: Session, version_id: int) -> ProcessRuntime:
        runtime = self._runtimes.get(version_id)
        if runtime is None:
            with self._runtime_lock:
                runtime = self._runtimes.get(version_id)
                if runtime is None:
                    version = session.get(ProcessVersion, version_id)
                    assert version is not None
                    spec, subprocess_specs = load_specs(version.spec_json)
                    runtime = ProcessRuntime(spec, subprocess_specs, self.script_engine)
                    self._runtimes[version_id] = runtime
        return runtime

    def script_engine_helpers(self) -> list[str]:
        return list(self.helpers)

    def calendar(self, session: Session) -> WorkCalendar:
        return self.calendars.refresh(session)

    def close(self) -> None:
        self.db.dispose()
