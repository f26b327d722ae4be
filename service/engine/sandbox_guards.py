"""Run-time half of the sandbox: the budget of one evaluation (ticks, thread CPU time, RSS growth) and
the guards that size-check allocating operations before they run, plus the JSON check of results.

These limits work in any thread (no signals, no rlimit) and give precise zh-CN errors with the script
line; in an evaluator child (``evaluator_child``) they are the inner layer, under the process's hard
rlimits and CPU timer, which also stop work done inside C builtins.

* CPU: every tick compares ``time.perf_counter()`` with the next check time; at most every millisecond the
  thread's own CPU time (``time.thread_time()``) is compared with ``cpu_seconds``. Ticks only happen in
  loops, comprehensions and lambdas.
* Iterations: the tick counts, ``max_iterations`` per evaluation.
* Memory, single operation: ``[0]*10**9``, ``'x'*10**9``, ``10**10**8``, ``1<<10**9``, ``s+s``,
  ``'%999999999d'``, ``str.join/replace/ljust...`` and ``range`` are checked *before* they allocate.
  Integers are capped at ``MAX_INT_BITS`` because multiplying huge integers costs seconds of CPU.
* Memory, growth: at the same millisecond checkpoints the process's current RSS (``/proc/self/statm``) is
  compared with its value when the evaluation started.

Limit errors are sticky: a script that catches one with a bare ``except`` gets it again at its next tick
and after it finishes."""
from __future__ import annotations

import math
import operator
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from service.engine.sandbox_compile import MAX_FORMAT_WIDTH as _MAX_FORMAT_WIDTH
from service.engine.sandbox_errors import ScriptDataError, ScriptLimitError, ScriptSecurityError

__all__ = ["MAX_INT_BITS", "MiB", "Guards", "Limits", "Run", "jsonable"]

MiB = 1024 * 1024
# 65,536 bits is ~19,700 decimal digits: far beyond any amount of money, yet small enough that
# multiplication and division of such numbers stay in the microseconds.
MAX_INT_BITS = 1 << 16
# How often (seconds of wall time, at loop ticks) CPU time and RSS are looked at.
_CHECK_INTERVAL = 0.001


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_statm_lock = threading.Lock()
_statm: dict[str, int | None] = {"pid": None, "fd": None}


def _rss_bytes() -> int:
    """Current resident set size of the process (not the peak: it must be able to go down again)."""
    pid = os.getpid()
    fd = _statm["fd"]
    if _statm["pid"] != pid or fd is None:
        # After fork (Celery workers) an inherited fd would still describe the parent.
        with _statm_lock:
            if _statm["pid"] != pid or _statm["fd"] is None:
                try:
                    _statm["fd"] = os.open("/proc/self/statm", os.O_RDONLY)
                except OSError:
                    _statm["fd"] = -1
                _statm["pid"] = pid
            fd = _statm["fd"]
    if fd is not None and fd >= 0:
        return int(os.pread(fd, 128, 0).split()[1]) * _PAGE_SIZE
    import resource  # non-Linux fallback: the peak, which can only over-report growth

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Run:
    """Budget of one evaluate/execute call; its bound methods are the script's ``_tick_``/``_tickv_``."""

    __slots__ = ("limits", "ticks", "next_check", "cpu_start", "rss_start", "tripped")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.ticks = 0
        self.tripped: ScriptLimitError | None = None
        self.cpu_start = time.thread_time()
        self.rss_start = _rss_bytes()
        self.next_check = time.perf_counter() + _CHECK_INTERVAL

    def tick(self) -> bool:
        self.ticks += 1
        if self.ticks > self.limits.max_iterations:
            self._trip(ScriptLimitError(f"脚本循环次数超限（限 {self.limits.max_iterations} 次）"))
        if time.perf_counter() >= self.next_check:
            self._check()
        return True

    def tickv(self, value: Any) -> Any:
        self.tick()
        return value

    def _check(self) -> None:
        if self.tripped is not None:
            raise self.tripped
        limits = self.limits
        if time.thread_time() - self.cpu_start > limits.cpu_seconds:
            self._trip(ScriptLimitError(f"脚本执行超时（限 {limits.cpu_seconds:g} 秒）"))
        if _rss_bytes() - self.rss_start > limits.memory_bytes:
            self._trip(ScriptLimitError(f"脚本内存超限（限 {limits.memory_bytes // MiB} MB）"))
        self.next_check = time.perf_counter() + _CHECK_INTERVAL

    def _trip(self, error: ScriptLimitError) -> None:
        self.tripped = error
        # Every later tick checks (and re-raises): a bare `except:` in the script cannot swallow it.
        self.next_check = float("-inf")
        raise error

    def finish(self) -> None:
        if self.tripped is not None:
            raise self.tripped


@dataclass(frozen=True)
class Limits:
    cpu_seconds: float
    memory_bytes: int
    max_iterations: int


def _unit(seq: Any) -> int:
    """Bytes per element, roughly: list slots are pointers; str.isascii() is O(1) in CPython."""
    if type(seq) is str:
        return 1 if seq.isascii() else 4
    return 8


_SEQUENCES = (str, list, tuple)
_FORMAT_SPEC = re.compile(r"%[-+ #0]*(\*|\d*)(?:\.(\*|\d*))?")

_ATTRIBUTES: dict[type, frozenset[str]] = {
    str: frozenset({
        "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isdecimal",
        "isdigit", "islower", "isnumeric", "isspace", "istitle", "isupper", "lower", "lstrip", "partition",
        "removeprefix", "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split",
        "splitlines", "startswith", "strip", "swapcase", "title", "upper",
        "replace", "join", "ljust", "rjust", "center", "zfill",
    }),
    list: frozenset({"append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove",
                     "reverse", "sort"}),
    dict: frozenset({"clear", "copy", "get", "items", "keys", "pop", "popitem", "setdefault", "update",
                     "values"}),
    set: frozenset({"add", "clear", "copy", "difference", "discard", "intersection", "isdisjoint",
                    "issubset", "issuperset", "pop", "remove", "symmetric_difference", "union", "update"}),
    tuple: frozenset({"count", "index"}),
    float: frozenset({"is_integer"}),
}


class Guards:
    """Run-time guards bound to one engine's limits; stateless, so shared by all threads."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def _size_error(self) -> ScriptLimitError:
        return ScriptLimitError(f"脚本内存超限：单次运算结果过大（限 {self.limits.memory_bytes // MiB} MB）")

    def _check_size(self, nbytes: int) -> None:
        if nbytes > self.limits.memory_bytes:
            raise self._size_error()

    @staticmethod
    def _int_error() -> ScriptLimitError:
        return ScriptLimitError(f"脚本内存超限：整数过大（限 {MAX_INT_BITS} 位二进制）")

    def mul(self, a: Any, b: Any) -> Any:
        ta, tb = type(a), type(b)
        if ta is int and tb is int:
            if a.bit_length() + b.bit_length() > MAX_INT_BITS:
                raise self._int_error()
        elif ta in _SEQUENCES and tb in (int, bool):
            self._check_size(len(a) * b * _unit(a))
        elif tb in _SEQUENCES and ta in (int, bool):
            self._check_size(len(b) * a * _unit(b))
        return a * b

    def pow(self, a: Any, b: Any) -> Any:
        if type(a) is int and type(b) is int and b > 0 and a not in (0, 1, -1):
            if a.bit_length() * b > MAX_INT_BITS:
                raise self._int_error()
        return a**b

    def lshift(self, a: Any, b: Any) -> Any:
        if type(a) is int and type(b) is int and a and a.bit_length() + b > MAX_INT_BITS:
            raise self._int_error()
        return a << b

    def add(self, a: Any, b: Any) -> Any:
        ta = type(a)
        if ta in _SEQUENCES and type(b) is ta:
            self._check_size((len(a) + len(b)) * max(_unit(a), _unit(b)))
        return a + b

    def mod(self, a: Any, b: Any) -> Any:
        if type(a) is str:
            for width, precision in _FORMAT_SPEC.findall(a):
                for n in (width, precision):
                    if n == "*" or (n and int(n) > _MAX_FORMAT_WIDTH):
                        raise ScriptLimitError(f"格式化宽度或精度过大（限 {_MAX_FORMAT_WIDTH}）")
        return a % b

    def inplacevar(self, op: str, x: Any, y: Any) -> Any:
        if op == "+=":
            if type(x) is list:
                self._check_size((len(x) + len(y)) * 8 if hasattr(y, "__len__") else 0)
                x += y
                return x
            return self.add(x, y)
        if op == "*=":
            return self.mul(x, y)
        if op == "**=":
            return self.pow(x, y)
        if op == "<<=":
            return self.lshift(x, y)
        if op == "%=":
            return self.mod(x, y)
        fn = _INPLACE.get(op)
        if fn is None:
            raise ScriptSecurityError(f"不支持的运算 {op}")
        return fn(x, y)

    def range(self, *args: int) -> range:
        r = range(*args)
        try:
            n = len(r)
        except OverflowError:
            n = self.limits.max_iterations + 1
        if n > self.limits.max_iterations:
            raise ScriptLimitError(f"range 范围过大（限 {self.limits.max_iterations} 个）")
        return r

    @staticmethod
    def sum(values: Iterable[Any], start: int | float = 0) -> Any:
        # sum() of lists or strings is a quadratic C loop no tick can interrupt.
        if type(start) not in (int, float):
            raise ScriptSecurityError("sum 只能用于数字")
        return sum(values, start)

    def getattr(self, obj: Any, name: str) -> Any:
        if type(name) is not str or name.startswith("_"):
            raise ScriptSecurityError(f"不允许访问属性 {name}")
        allowed = _ATTRIBUTES.get(type(obj))
        if allowed is None or name not in allowed:
            raise ScriptSecurityError(f"不允许访问 {type(obj).__name__} 的属性 {name}")
        value = getattr(obj, name)
        wrapper = _SIZED_METHODS.get((type(obj), name))
        return wrapper(self, obj, value) if wrapper is not None else value

    @staticmethod
    def write(obj: Any) -> Any:
        if type(obj) in (list, dict):
            return obj
        raise ScriptSecurityError(f"不允许修改 {type(obj).__name__} 对象")

    @staticmethod
    def apply(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "-=": operator.isub, "/=": operator.itruediv, "//=": operator.ifloordiv, ">>=": operator.irshift,
    "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor, "@=": operator.imatmul,
}


def _sized(estimate: Callable[..., int]) -> Callable[[Guards, Any, Callable[..., Any]], Callable[..., Any]]:
    """Wrap a bound method whose result size depends on its arguments with a pre-allocation check."""

    def wrap(guards: Guards, obj: Any, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            guards._check_size(estimate(obj, *args, **kwargs))
            return method(*args, **kwargs)

        return call

    return wrap


def _join_size(sep: str, items: Any) -> int:
    if not hasattr(items, "__len__"):
        return 0  # a generator ticks per item
    total = len(sep) * max(len(items) - 1, 0)
    for item in items:
        total += len(item) if type(item) is str else 0
    return total * _unit(sep)


def _replace_size(s: str, old: str, new: str, count: int = -1) -> int:
    n = s.count(old) if old else len(s) + 1
    if count >= 0:
        n = min(n, count)
    return (len(s) + n * max(len(new) - len(old), 0)) * max(_unit(s), _unit(new))


def _pad_size(s: str, width: int, *_: Any) -> int:
    return int(width) * 4


def _extend_size(lst: list[Any], items: Any) -> int:
    return (len(lst) + len(items)) * 8 if hasattr(items, "__len__") else 0


_SIZED_METHODS: dict[tuple[type, str], Callable[[Guards, Any, Callable[..., Any]], Callable[..., Any]]] = {
    (str, "join"): _sized(_join_size),
    (str, "replace"): _sized(_replace_size),
    (str, "ljust"): _sized(_pad_size),
    (str, "rjust"): _sized(_pad_size),
    (str, "center"): _sized(_pad_size),
    (str, "zfill"): _sized(_pad_size),
    (list, "extend"): _sized(_extend_size),
}


# -- JSON check of script results ----------------------------------------------------------------------

def jsonable(name: str, value: Any, active: set[int]) -> Any:
    """Return value converted to plain JSON types (sets and tuples become lists) or raise ScriptDataError."""
    t = type(value)
    if value is None or t is str or t is bool or t is int:
        return value
    if t is float:
        if not math.isfinite(value):
            raise ScriptDataError(f"脚本结果变量 {name} 的值 {value} 无法保存，请使用有限的数字")
        return value
    if id(value) in active:
        raise ScriptDataError(f"脚本结果变量 {name} 引用了自身，无法保存")
    active.add(id(value))
    try:
        if t is dict:
            out: dict[str, Any] = {}
            changed = False
            for k, v in value.items():
                if type(k) is not str:
                    raise ScriptDataError(f"脚本结果变量 {name} 的键 {k!r} 不是字符串，无法保存")
                nv = jsonable(f"{name}[{k!r}]", v, active)
                changed = changed or nv is not v
                out[k] = nv
            return out if changed else value
        if t is list or t is tuple:
            items = [jsonable(f"{name}[{i}]", v, active) for i, v in enumerate(value)]
            if t is list and all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return items
        if t is set or t is frozenset:
            items = [jsonable(f"{name} 的元素", v, active) for v in value]
            try:
                return sorted(items)
            except TypeError:
                return items
    finally:
        active.discard(id(value))
    raise ScriptDataError(f"脚本结果变量 {name} 的类型 {t.__name__} 无法保存，请使用数字或字符串")


