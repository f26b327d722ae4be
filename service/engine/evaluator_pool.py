"""The evaluator pool: a few child processes that run designer code for this service process.

Why processes: RestrictedPython and the guards of ``sandbox_guards`` only see Python bytecode, so a
single C builtin (``str`` of a huge shared list, ``sorted``, a comparison of big structures) used to run
for seconds and allocate gigabytes inside the server. A child is stopped by the kernel (CPU timer,
RLIMIT_AS; see ``evaluator_child``), and this side adds a wall-clock deadline as a backstop, killing and
replacing the child on any breach, while other threads keep evaluating in the other children.

Shape:

* One pool per *process* (``get_pool``), created lazily, shared by every engine and Govflow context.
  A process forked from one that had a pool (gunicorn workers, Celery prefork) gets a fresh pool: the
  inherited one is recognised by its pid and its pipe descriptors are closed in the fork child, so the
  children still see end of file when their real parent dies.
* Children are started on demand, up to ``max_children``, reused (LIFO, so few stay warm), and handed to
  one thread at a time. An idle child costs ~20 MB of memory.
* Messages are JSON (``evaluator_wire``); nothing a child sends is unpickled or evaluated, and every
  reply is read with a size limit and a deadline.
* Helpers (``service.engine.helpers``) that are plain module-level functions of govflow's helper module
  or of the standard library (``ceil_div``, ``decimal.Decimal``) are imported and run in the child,
  under its limits. The others - closures over live state such as the working-day calendar, which the
  service reloads - run here, when the child calls back over the same pipe: arguments must be JSON
  scalars (integers within the sandbox's ``MAX_INT_BITS``, strings within ``HELPER_MAX_CHARS``) and
  results must be JSON; the calendar helpers bound their counts themselves (``helpers.MAX_COUNT``), so
  a call costs this process milliseconds at most. The wall-clock deadline is checked between calls."""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.engine.evaluator_wire import ChildGone, WireTimeout, pack, read_message, write_all
from service.engine.sandbox_errors import (
    ScriptDataError,
    ScriptError,
    ScriptLimitError,
    ScriptSecurityError,
    describe_error,
    rebuild_error,
)
from service.engine.sandbox_guards import MAX_INT_BITS, Limits, MiB, jsonable
from service.observability import metrics

__all__ = ["EvaluatorPool", "Profile", "get_pool", "make_profile"]

HELPER_MAX_CHARS = 1_000
HELPER_MAX_ARGS = 8
_START_TIMEOUT = 30.0  # seconds for a child to import and report ready, on a loaded machine
_ROOT = str(Path(__file__).resolve().parents[2])
_CHILD_CODE = (
    f"import sys; sys.path.insert(0, {_ROOT!r}); "
    "from service.engine.evaluator_child import main; main()"
)
_SCALARS = (str, int, float, bool, type(None))
# Besides the standard library, modules whose module-level functions may run in the child as they are.
_LOCAL_MODULES = ("service.engine.helpers",)


@dataclass(frozen=True)
class Profile:
    """What a child needs to evaluate for one engine: limits and helper names (``spec``, JSON), plus
    what stays here: the callables helpers call back into, the reply size limit and the deadline."""

    id: str
    spec: dict[str, Any]
    cpu_seconds: float
    wall_seconds: float
    result_bytes: int
    remote: Mapping[str, Callable[..., Any]] = field(default_factory=dict)


def _importable(fn: Callable[..., Any]) -> tuple[str, str] | None:
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    if module not in _LOCAL_MODULES and module.split(".")[0] not in sys.stdlib_module_names:
        return None
    obj: Any = sys.modules.get(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return (module, qualname) if obj is fn else None


def make_profile(helpers: Mapping[str, Callable[..., Any]], limits: Limits, *, result_bytes: int,
                 wall_seconds: float) -> Profile:
    local: dict[str, list[str]] = {}
    remote: dict[str, Callable[..., Any]] = {}
    for name, fn in helpers.items():
        where = _importable(fn)
        if where is None:
            remote[name] = fn
        else:
            local[name] = list(where)
    spec = {"cpu": limits.cpu_seconds, "mem": limits.memory_bytes, "iters": limits.max_iterations,
            "result": result_bytes, "local": local, "remote": sorted(remote)}
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    return Profile(digest, spec, limits.cpu_seconds, wall_seconds, result_bytes, remote)


class _Child:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc = proc
        self.wfd = proc.stdin.fileno()
        self.rfd = proc.stdout.fileno()
        self.profiles: set[str] = set()

    def close_descriptors(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass

    def kill(self) -> int | None:
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self.close_descriptors()
        return code


class _Breach(Exception):
    """The child must go; ``error`` is what the caller gets."""

    def __init__(self, error: ScriptError, reason: str) -> None:
        super().__init__(error.message)
        self.error = error
        self.reason = reason  # the label of govflow_sandbox_stops_total


class EvaluatorPool:
    def __init__(self, max_children: int = 4) -> None:
        self.pid = os.getpid()
        self.max_children = max_children
        self._cond = threading.Condition()
        self._idle: list[_Child] = []
        self._live: set[_Child] = set()
        self._starting = 0
        self._closed = False
        self.started = 0  # children started so far (tests and the bench read it)

    # -- children --------------------------------------------------------------------------------
    def _spawn(self) -> _Child:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _CHILD_CODE],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
            close_fds=True, start_new_session=True, cwd="/",
            env={"PATH": os.defpath, "LC_ALL": "C.UTF-8"},
        )
        child = _Child(proc)
        try:
            hello = read_message(child.rfd, 1024, time.monotonic() + _START_TIMEOUT)
        except (WireTimeout, ChildGone):
            hello = None
        if not hello or hello.get("ready") is not True:
            child.kill()
            raise RuntimeError("evaluator child did not start (see its stderr)")
        return child

    def _acquire(self) -> _Child:
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("evaluator pool is closed")
                if self._idle:
                    return self._idle.pop()
                if len(self._live) + self._starting < self.max_children:
                    self._starting += 1
                    break
                self._cond.wait()
        try:
            child = self._spawn()
        except BaseException:
            with self._cond:
                self._starting -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._starting -= 1
            self._live.add(child)
            self.started += 1
        return child

    def _release(self, child: _Child, healthy: bool) -> None:
        if not healthy:
            child.kill()
        with self._cond:
            if healthy and not self._closed:
                self._idle.append(child)
            else:
                self._live.discard(child)
            self._cond.notify()
        if healthy and self._closed:
            child.kill()

    def live_pids(self) -> list[int]:
        with self._cond:
            return [c.proc.pid for c in self._live]

    def close(self) -> None:
        """Stop every child: closing its input makes it exit; the unresponsive are killed."""
        with self._cond:
            self._closed = True
            children = list(self._idle)
            self._idle.clear()
            self._live.difference_update(children)
        for child in children:
            child.close_descriptors()
        for child in children:
            try:
                child.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                child.kill()

    def forget_after_fork(self) -> None:
        """In a forked process: close the inherited pipes without touching the children (they belong to
        the parent process)."""
        for child in list(self._live):
            child.close_descriptors()

    # -- one evaluation --------------------------------------------------------------------------
    def run(self, profile: Profile, op: str, source: str, context: Mapping[str, Any],
            external: Mapping[str, Any] | None) -> Any:
        """Evaluate (``op="eval"``: the value) or execute (``"exec"``: the new task data) in a child.
        Raises the sandbox error or the script's own exception, rebuilt from the child's description."""
        request: dict[str, Any] = {"op": op, "p": profile.id, "src": source, "ctx": context,
                                   "ext": external or None}
        try:
            plain = pack(request)
        except (TypeError, ValueError) as exc:
            raise ScriptDataError(f"任务数据无法交给脚本（须为 JSON 数据）：{exc}") from None
        child = self._send(profile, request, plain)
        healthy = False
        try:
            reply = self._converse(child, profile)
            healthy = reply.get("retire") is not True
        except _Breach as breach:
            metrics.SANDBOX_STOPS.labels(reason=breach.reason).inc()
            raise breach.error from None
        except OSError:  # the pipe broke while answering a helper call: the child is gone
            code = child.kill()
            metrics.SANDBOX_STOPS.labels(reason=self._death_reason(code)).inc()
            raise self._death_error(profile, code) from None
        finally:
            self._release(child, healthy)
        if "ok" in reply:
            value = reply["ok"]
            if op == "exec" and type(value) is not dict:
                raise ScriptSecurityError("脚本执行进程返回了无法识别的结果")
            return value
        raise self._rebuild(reply.get("err"))

    def _send(self, profile: Profile, request: dict[str, Any], plain: bytes) -> _Child:
        """Hand the request to a child. A child that died while idle (killed from outside, say) fails
        here, before anything ran, so the request goes to another one."""
        for _ in range(self.max_children + 1):
            child = self._acquire()
            if child.proc.poll() is not None:
                self._release(child, False)
                continue
            try:
                if profile.id not in child.profiles:
                    write_all(child.wfd, pack({**request, "prof": profile.spec}))
                    child.profiles.add(profile.id)
                else:
                    write_all(child.wfd, plain)
            except OSError:
                self._release(child, False)
                continue
            return child
        raise RuntimeError("no evaluator child accepts requests")

    def _converse(self, child: _Child, profile: Profile) -> dict[str, Any]:
        deadline = time.monotonic() + profile.wall_seconds
        limit = profile.result_bytes + 64 * 1024
        while True:
            try:
                reply = read_message(child.rfd, limit, deadline)
            except WireTimeout:
                child.kill()
                raise _Breach(ScriptLimitError(f"脚本执行超时（等待超过 {profile.wall_seconds:g} 秒）"),
                              "wall_time") from None
            except ChildGone:
                child.kill()
                raise _Breach(ScriptLimitError(
                    f"脚本结果过大或无法识别（限 {profile.result_bytes / MiB:g} MB）"), "result") from None
            if reply is None:
                code = child.kill()
                raise _Breach(self._death_error(profile, code), self._death_reason(code))
            if "call" in reply:
                write_all(child.wfd, pack(self._helper_call(profile, reply)))
                continue
            if "ok" in reply or "err" in reply:
                return reply
            child.kill()
            raise _Breach(ScriptSecurityError("脚本执行进程返回了无法识别的消息"), "protocol")

    @staticmethod
    def _death_reason(code: int | None) -> str:
        return "cpu_time" if code in (-signal.SIGPROF, -signal.SIGXCPU) else "killed"

    @staticmethod
    def _death_error(profile: Profile, code: int | None) -> ScriptLimitError:
        if code in (-signal.SIGPROF, -signal.SIGXCPU):
            return ScriptLimitError(f"脚本执行超时（限 {profile.cpu_seconds:g} 秒）")
        return ScriptLimitError("脚本执行被中止（超出资源限制）")

    @staticmethod
    def _rebuild(desc: Any) -> Exception:
        if type(desc) is not dict:
            return ScriptSecurityError("脚本执行进程返回了无法识别的错误")
        clean: dict[str, Any] = {}
        for key in ("kind", "msg", "type", "text"):
            value = desc.get(key)
            clean[key] = value[:4000] if type(value) is str else None
        for key in ("line", "tb_line", "offset"):
            value = desc.get(key)
            clean[key] = value if type(value) is int and 0 <= value < 1 << 31 else None
        args = desc.get("args")
        clean["args"] = [a for a in args[:8] if type(a) in _SCALARS] if type(args) is list else []
        return rebuild_error(clean)

    @staticmethod
    def _helper_call(profile: Profile, message: dict[str, Any]) -> dict[str, Any]:
        name, args, kwargs = message.get("call"), message.get("args"), message.get("kwargs") or {}
        fn = profile.remote.get(name) if type(name) is str else None
        if fn is None or type(args) is not list or type(kwargs) is not dict:
            return {"err": describe_error(ScriptSecurityError(f"未知函数 {str(name)[:100]}"), None)}
        values = [*args, *kwargs.values()]
        if (len(values) > HELPER_MAX_ARGS or not all(type(k) is str for k in kwargs)
                or not all(_bounded_scalar(v) for v in values)):
            return {"err": describe_error(ScriptLimitError(
                f"辅助函数 {name} 的参数超出范围（须为数字、字符串或布尔值，字符串限 {HELPER_MAX_CHARS} 字）"),
                None)}
        try:
            result = jsonable(f"{name}() 的返回值", fn(*args, **kwargs), set())
            return {"ok": result}
        except Exception as exc:  # noqa: BLE001 - the helper's error is the script's error
            return {"err": describe_error(exc, None)}


def _bounded_scalar(value: Any) -> bool:
    t = type(value)
    if t is int:
        return value.bit_length() <= MAX_INT_BITS
    if t is str:
        return len(value) <= HELPER_MAX_CHARS
    return t in (float, bool, type(None))


# -- the process-wide pool ------------------------------------------------------------------------------

_pool: EvaluatorPool | None = None
_pool_lock = threading.Lock()
# Pools inherited through fork: kept referenced so that their Popen objects are never finalised here.
_inherited: list[EvaluatorPool] = []


def get_pool() -> EvaluatorPool:
    global _pool
    pool = _pool
    if pool is not None and pool.pid == os.getpid():
        return pool
    with _pool_lock:
        if _pool is None or _pool.pid != os.getpid():
            _pool = EvaluatorPool()
        return _pool


def _after_fork_in_child() -> None:
    global _pool, _pool_lock
    _pool_lock = threading.Lock()
    if _pool is not None:
        _pool.forget_after_fork()
        _inherited.append(_pool)
        _pool = None


def _at_exit() -> None:
    pool = _pool
    if pool is not None and pool.pid == os.getpid():
        pool.close()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
