"""The application context: settings, database, forms, calendar and the engine caches.

Two caches keep completions cheap: the parsed spec of each process version (built once from its
stored JSON), and live workflow objects keyed by (instance, revision) so a completion on a warm
instance skips deserialisation. A cached workflow is taken out while in use and put back only
after its transaction committed, so a failed or concurrent completion never sees a dirty object."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.config import Settings, load_settings
from service.domain.calendar import WorkCalendar, parse_year_file
from service.domain.forms import FormRegistry
from service.engine.helpers import make_helpers
from service.engine.runtime import ProcessRuntime
from service.engine.scripting import SandboxedScriptEngine
from service.engine.state import load_specs
from service.storage.db import Database
from service.storage.models import CalendarYear, ProcessVersion, Unit


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

    def id_by_name(self, session: Session, name: str) -> int | None:
        unit_id = self._ids.get(name)
        if unit_id is None:
            unit_id = session.scalar(select(Unit.id).where(Unit.name == name))
            if unit_id is not None:
                self._ids[name] = unit_id
        return unit_id


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


def _json(payload: dict[str, Any]) -> str:
    import json

    return json.dumps(payload, ensure_ascii=False)


class Govflow:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self.db = Database(self.settings.database_url)
        self.forms = FormRegistry(self.settings.forms_dir)
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
