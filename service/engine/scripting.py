"""A sandboxed script engine for SpiffWorkflow: BPMN scripts, gateway conditions, timer expressions and
DMN cells run through RestrictedPython plus govflow's own limits.

Layers, in the order a source text goes through them (all at compile time, cached by source text):

1. ``ast.parse`` - real ``SyntaxError`` with a line number.
2. ``_Policy`` - govflow refusals with zh-CN messages and lines: imports, function/class definitions,
   ``global``/``with``/``yield``, forbidden builtins (``eval``, ``open``, ``type`` ...), dynamic f-string
   widths.
3. RestrictedPython's ``RestrictingNodeTransformer`` - refuses names/attributes starting with ``_`` and
   routes attribute reads, item access, iteration and writes through guard functions.
4. ``_Instrument`` - inserts ``_tick_()`` into every loop body, comprehension and lambda, and replaces
   ``*``, ``**``, ``<<``, ``+`` and ``%`` with size-checking functions.

Limits work in any thread (no signals, no process-wide rlimit):

* CPU: every tick compares ``time.perf_counter()`` with the next check time; at most every millisecond the
  thread's own CPU time (``time.thread_time()``) is compared with ``cpu_seconds``. Ticks only happen in
  loops, comprehensions and lambdas; straight-line code cannot run long because every single operation
  is size-bounded.
* Iterations: the tick counts, ``max_iterations`` per evaluation.
* Memory, single operation: ``[0]*10**9``, ``'x'*10**9``, ``10**10**8``, ``1<<10**9``, ``s+s``,
  ``'%999999999d'``, ``str.join/replace/ljust...`` and ``range`` are checked *before* they allocate.
  Integers are capped at ``MAX_INT_BITS`` because multiplying huge integers costs seconds of CPU.
* Memory, growth: at the same millisecond checkpoints the process's current RSS (``/proc/self/statm``) is
  compared with its value when the evaluation started. Growth is fast only through operations whose time
  is proportional to what they allocate, so at most a few milliseconds' worth of allocation can overshoot.
  RSS is process-wide: a concurrent thread allocating heavily can make a script fail spuriously, and memory
  freed earlier but kept by the allocator can be reused without showing up (neither endangers the host).

Limit errors are sticky: a script that catches one with a bare ``except`` gets it again at its next tick
and after it finishes.

Errors during a workflow step reach the caller as ``WorkflowTaskException`` (raised ``from`` the original
error, so ``__cause__`` is set); :func:`explain` recovers the zh-CN message. A workflow whose script failed
is left with the task in ERROR state and partially changed data: discard it and reload the last saved
state instead of saving it.
"""
from __future__ import annotations

import ast
import math
import operator
import os
import re
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

__all__ = [
    "MAX_INT_BITS",
    "SAFE_BUILTIN_NAMES",
    "SandboxedEnvironment",
    "SandboxedScriptEngine",
    "ScriptDataError",
    "ScriptError",
    "ScriptLimitError",
    "ScriptSecurityError",
    "ScriptSyntaxError",
    "check_source",
    "explain",
    "find_source_problem",
]

MiB = 1024 * 1024
# 65,536 bits is ~19,700 decimal digits: far beyond any amount of money, yet small enough that
# multiplication and division of such numbers stay in the microseconds.
MAX_INT_BITS = 1 << 16
# Spiff's error formatter looks for traceback frames with this file name to report the script line.
_FILENAME = "<string>"
# How often (seconds of wall time, at loop ticks) CPU time and RSS are looked at.
_CHECK_INTERVAL = 0.001
_MAX_FORMAT_WIDTH = 10_000


# -- errors -------------------------------------------------------------------------------------------

class ScriptError(Exception):
    """Base of all sandbox errors; ``message`` is zh-CN, ``lineno`` the script line where known."""

    def __init__(self, message: str, lineno: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.lineno = lineno


class ScriptSecurityError(ScriptError):
    """The script tried something the sandbox does not allow (import, dunder access, forbidden builtin)."""


class ScriptLimitError(ScriptSecurityError):
    """The script exceeded its CPU time, memory or iteration budget."""


class ScriptDataError(ScriptError, TypeError):
    """A script left a value in task data that cannot be saved as JSON."""


class ScriptSyntaxError(SyntaxError):
    """A syntax error with a zh-CN message and always an integer ``lineno``.

    Spiff's error formatter reads ``lineno`` of any SyntaxError and crashes on None (RestrictedPython's
    own SyntaxError has none), so nothing else escapes the compiler."""

    def __init__(self, message: str, lineno: int, offset: int | None = None, text: str | None = None) -> None:
        super().__init__(message, (_FILENAME, lineno, offset or 0, text or ""))
        self.message = message


def explain(exc: BaseException) -> str:
    """The zh-CN message of a sandbox error, found anywhere in the chain of a Spiff exception.

    Spiff wraps script errors in ``WorkflowTaskException``; this engine raises that wrapper ``from`` the
    sandbox error, so walking ``__cause__``/``__context__`` finds it. Falls back to ``str(exc)``."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ScriptError | ScriptSyntaxError):
            return _with_line(cur.message, cur.lineno)
        cur = cur.__cause__ or cur.__context__
    return str(exc)


def _with_line(message: str, lineno: int | None) -> str:
    return f"第 {lineno} 行：{message}" if lineno else message


# -- compile-time policy -------------------------------------------------------------------------------

SAFE_BUILTIN_NAMES = frozenset({
    "len", "min", "max", "sum", "abs", "round", "int", "float", "str", "bool", "list", "dict", "tuple",
    "set", "sorted", "range", "enumerate", "zip", "any", "all", "ceil", "floor", "True", "False", "None",
})

# Named explicitly so the designer learns at deploy time why, instead of a NameError at run time.
_FORBIDDEN_NAMES = frozenset({
    "eval", "exec", "compile", "open", "globals", "locals", "vars", "type", "getattr", "setattr",
    "delattr", "hasattr", "dir", "input", "breakpoint", "help", "memoryview", "object", "super", "id",
    "print", "isinstance", "issubclass", "classmethod", "staticmethod", "property", "exit", "quit",
    "bytes", "bytearray", "iter", "next", "format", "repr", "chr", "ord", "hash", "callable", "pow",
})


class _Policy(ast.NodeVisitor):
    """govflow's own refusals, checked before RestrictedPython so that messages are zh-CN with lines."""

    def __init__(self) -> None:
        self.errors: list[tuple[int | None, str]] = []

    def _refuse(self, node: ast.AST, message: str) -> None:
        self.errors.append((getattr(node, "lineno", None), message))

    def visit_Import(self, node: ast.Import) -> None:
        self._refuse(node, f"不允许导入模块 {', '.join(a.name for a in node.names)}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._refuse(node, f"不允许导入模块 {node.module or '.'}")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._refuse(node, f"不允许定义函数 {node.name}（可使用 lambda）")

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._refuse(node, f"不允许定义函数 {node.name}")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._refuse(node, f"不允许定义类 {node.name}")

    def visit_Global(self, node: ast.Global) -> None:
        self._refuse(node, "不允许使用 global")

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self._refuse(node, "不允许使用 nonlocal")

    def visit_With(self, node: ast.With) -> None:
        self._refuse(node, "不允许使用 with")

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self._refuse(node, "不允许使用 with")

    def visit_Yield(self, node: ast.Yield) -> None:
        self._refuse(node, "不允许使用 yield")

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self._refuse(node, "不允许使用 yield")

    def visit_Await(self, node: ast.Await) -> None:
        self._refuse(node, "不允许使用 await")

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in _FORBIDDEN_NAMES:
            self._refuse(node, f"不允许使用 {node.id}")
        elif node.id.startswith("_"):
            self._refuse(node, f"不允许使用以下划线开头的名称 {node.id}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("_"):
            self._refuse(node, f"不允许访问以下划线开头的属性 {node.attr}")
        self.generic_visit(node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> None:
        # The width of an f-string field allocates in one step ( f"{x:>999999999}" ), so it must be a
        # small constant.
        spec = node.format_spec
        if spec is not None:
            if not all(isinstance(v, ast.Constant) for v in getattr(spec, "values", [])):
                self._refuse(node, "f-string 的格式说明必须是常量")
            else:
                text = "".join(str(v.value) for v in spec.values)  # type: ignore[attr-defined]
                if any(int(n) > _MAX_FORMAT_WIDTH for n in re.findall(r"\d+", text)):
                    self._refuse(node, f"f-string 的宽度或精度过大（限 {_MAX_FORMAT_WIDTH}）")
        self.visit(node.value)


_RP_PATTERNS = [
    (re.compile(r'"(.+)" is an invalid attribute name because it starts with "_"'),
     "不允许访问以下划线开头的属性 {0}"),
    (re.compile(r'"(.+)" is an invalid variable name because it starts with "_"'),
     "不允许使用以下划线开头的名称 {0}"),
    (re.compile(r'"(.+)" is a reserved name'), "不允许使用保留名称 {0}"),
    (re.compile(r'"(.+)" is a restricted name'), "不允许访问属性 {0}"),
]


def _translate_rp_error(text: str) -> tuple[int | None, str]:
    """RestrictedPython reports 'Line 3: "__x" is an invalid ...'; keep the line, translate the rest."""
    lineno = None
    m = re.match(r"Line (\d+): (.*)", text)
    if m:
        lineno, text = int(m.group(1)), m.group(2)
    for pattern, template in _RP_PATTERNS:
        found = pattern.search(text)
        if found:
            return lineno, template.format(found.group(1))
    return lineno, f"脚本中有不允许的写法：{text}"


# -- instrumentation ----------------------------------------------------------------------------------

_BINOP_GUARDS: dict[type[ast.operator], str] = {
    ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Add: "_add_", ast.Mod: "_mod_",
}
_STATE_NAMES = ("_tick_", "_tickv_")


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])


class _Instrument(ast.NodeTransformer):
    """Runs after RestrictedPython (whose policy would refuse the underscore names inserted here)."""

    def __init__(self) -> None:
        self.ticks = False

    def _tick_stmt(self) -> ast.stmt:
        self.ticks = True
        return ast.Expr(value=_call("_tick_"))

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        node.body.insert(0, self._tick_stmt())
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        self.generic_visit(node)
        node.body.insert(0, self._tick_stmt())
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        self.ticks = True
        # _tick_() returns True; placed first so that filtered-out items are counted too.
        node.ifs.insert(0, _call("_tick_"))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        # Lambdas can recurse (f = lambda n: f(n-1) + f(n-1)) without any loop.
        self.generic_visit(node)
        self.ticks = True
        node.body = _call("_tickv_", node.body)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        if guard is None:
            return node
        return ast.copy_location(_call(guard, node.left, node.right), node)


@dataclass(frozen=True)
class _Compiled:
    code: Any
    ticks: bool


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> _Compiled:
    """Compile once per (source, mode); evaluation then costs a dict copy and an eval.

    Errors are not cached (lru_cache does not cache exceptions), which only matters for broken
    expressions that fail anyway."""
    # XML text around an expression or script often carries indentation.
    source = source.strip() if mode == "eval" else textwrap.dedent(source)
    try:
        tree = ast.parse(source, _FILENAME, mode)
    except SyntaxError as exc:
        raise ScriptSyntaxError(f"语法错误：{exc.msg}", exc.lineno or 1, exc.offset, exc.text) from None
    policy = _Policy()
    policy.visit(tree)
    if policy.errors:
        lineno, message = policy.errors[0]
        raise ScriptSecurityError(message, lineno)
    errors: list[str] = []
    warnings: list[str] = []
    used_names: dict[str, bool] = {}
    tree = RestrictingNodeTransformer(errors, warnings, used_names).visit(tree)
    if errors:
        lineno, message = _translate_rp_error(errors[0])
        raise ScriptSecurityError(message, lineno)
    instrument = _Instrument()
    tree = instrument.visit(tree)
    ast.fix_missing_locations(tree)
    return _Compiled(compile(tree, _FILENAME, mode), instrument.ticks)


def check_source(
    source: str, mode: Literal["eval", "exec"], *, functions: Iterable[str] | None = None
) -> str | None:
    """Lint an expression (``eval``) or script (``exec``) without running it.

    Returns a zh-CN message with the line number where known, or None. Catches syntax errors and
    everything the sandbox refuses at compile time. With ``functions`` (the helper names), calls of
    names that are neither builtins, helpers nor assigned in the script are reported too: task data
    is JSON and never callable, so such a call can only be a typo."""
    problem = find_source_problem(source, mode, functions=functions)
    return None if problem is None else _with_line(problem[1], problem[0])


def find_source_problem(
    source: str, mode: Literal["eval", "exec"], *, functions: Iterable[str] | None = None
) -> tuple[int | None, str] | None:
    """Like :func:`check_source`, but the line (within the source) and the message apart."""
    if mode == "eval" and not source.strip():
        return None, "表达式为空"
    try:
        _compile(source, mode)
    except ScriptSyntaxError as exc:
        return exc.lineno, exc.message
    except ScriptError as exc:
        return exc.lineno, exc.message
    if functions is not None:
        known = SAFE_BUILTIN_NAMES | set(functions)
        tree = ast.parse(source.strip() if mode == "eval" else textwrap.dedent(source), _FILENAME, mode)
        assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        assigned |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                name = node.func.id
                if name not in known and name not in assigned:
                    return node.lineno, f"未知函数 {name}"
    return None


# -- run-time guards ----------------------------------------------------------------------------------

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


class _Run:
    """Budget of one evaluate/execute call; its bound methods are the script's ``_tick_``/``_tickv_``."""

    __slots__ = ("limits", "ticks", "next_check", "cpu_start", "rss_start", "tripped")

    def __init__(self, limits: _Limits) -> None:
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
class _Limits:
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


class _Guards:
    """Run-time guards bound to one engine's limits; stateless, so shared by all threads."""

    def __init__(self, limits: _Limits) -> None:
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


def _sized(estimate: Callable[..., int]) -> Callable[[_Guards, Any, Callable[..., Any]], Callable[..., Any]]:
    """Wrap a bound method whose result size depends on its arguments with a pre-allocation check."""

    def wrap(guards: _Guards, obj: Any, method: Callable[..., Any]) -> Callable[..., Any]:
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


_SIZED_METHODS: dict[tuple[type, str], Callable[[_Guards, Any, Callable[..., Any]], Callable[..., Any]]] = {
    (str, "join"): _sized(_join_size),
    (str, "replace"): _sized(_replace_size),
    (str, "ljust"): _sized(_pad_size),
    (str, "rjust"): _sized(_pad_size),
    (str, "center"): _sized(_pad_size),
    (str, "zfill"): _sized(_pad_size),
    (list, "extend"): _sized(_extend_size),
}


# -- JSON check of script results ----------------------------------------------------------------------

def _jsonable(name: str, value: Any, active: set[int]) -> Any:
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
                nv = _jsonable(f"{name}[{k!r}]", v, active)
                changed = changed or nv is not v
                out[k] = nv
            return out if changed else value
        if t is list or t is tuple:
            items = [_jsonable(f"{name}[{i}]", v, active) for i, v in enumerate(value)]
            if t is list and all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return items
        if t is set or t is frozenset:
            items = [_jsonable(f"{name} 的元素", v, active) for v in value]
            try:
                return sorted(items)
            except TypeError:
                return items
    finally:
        active.discard(id(value))
    raise ScriptDataError(f"脚本结果变量 {name} 的类型 {t.__name__} 无法保存，请使用数字或字符串")


# -- the environment and the engine ---------------------------------------------------------------------

class SandboxedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates and executes through the sandbox. Spiff also calls ``environment.evaluate`` directly
    (process completion conditions, message correlation), so the sandbox lives here, not in the engine."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None, limits: _Limits) -> None:
        helpers = dict(helpers or {})
        for name in helpers:
            if not name.isidentifier() or name.startswith("_") or name in _FORBIDDEN_NAMES:
                raise ValueError(f"invalid helper name {name!r}")
        super().__init__({})
        self.limits = limits
        self.helpers = helpers
        guards = _Guards(limits)
        builtins: dict[str, Any] = {
            "len": len, "min": min, "max": max, "abs": abs, "round": round, "int": int, "float": float,
            "str": str, "bool": bool, "list": list, "dict": dict, "tuple": tuple, "set": set,
            "sorted": sorted, "enumerate": enumerate, "zip": zip, "any": any, "all": all,
            "True": True, "False": False, "None": None,
            "sum": guards.sum, "range": guards.range, "ceil": math.ceil, "floor": math.floor,
        }
        builtins.update(helpers)
        self._static: dict[str, Any] = {
            "__builtins__": builtins,
            "_getattr_": guards.getattr,
            "_getitem_": operator.getitem,
            "_getiter_": iter,
            "_write_": guards.write,
            "_apply_": guards.apply,
            "_inplacevar_": guards.inplacevar,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_mul_": guards.mul,
            "_pow_": guards.pow,
            "_lshift_": guards.lshift,
            "_add_": guards.add,
            "_mod_": guards.mod,
        }
        self._reserved = frozenset(self._static) | frozenset(_STATE_NAMES)

    def _globals(self, context: Mapping[str, Any], external: Mapping[str, Any] | None) -> dict[str, Any]:
        # Task data first, guards last: a form field named `_getattr_` must not replace the guard.
        g = dict(context)
        if external:
            g.update(external)
        g.update(self._static)
        return g

    def evaluate(self, expression: str, context: Mapping[str, Any], external_context: Any = None) -> Any:
        compiled = _compile(expression, "eval")
        g = self._globals(context, external_context)
        if not compiled.ticks:
            return eval(compiled.code, g)
        run = _Run(self.limits)
        g["_tick_"], g["_tickv_"] = run.tick, run.tickv
        result = eval(compiled.code, g)
        run.finish()
        return result

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        """Run a script; on success task data is replaced by the script's globals (minus the sandbox's
        own names), every new or possibly mutated value checked and converted to plain JSON types."""
        compiled = _compile(script, "exec")
        external = dict(external_context or {})
        g = self._globals(context, external)
        run = _Run(self.limits) if compiled.ticks else None
        if run is not None:
            g["_tick_"], g["_tickv_"] = run.tick, run.tickv
        exec(compiled.code, g)
        if run is not None:
            run.finish()
        result: dict[str, Any] = {}
        for key, value in g.items():
            if key in self._reserved or (key in external and value is external[key]):
                continue
            if callable(value):
                continue  # lambdas kept in variables: Spiff's own environment drops callables too
            old = context.get(key, _MISSING)
            if value is old and type(value) not in (list, dict, set):
                result[key] = value  # untouched value the caller put there; not ours to judge
                continue
            result[key] = _jsonable(key, value, set())
        context.clear()
        context.update(result)
        return True

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        raise ScriptSecurityError("流程中不支持服务任务")


_MISSING = object()


class SandboxedScriptEngine(PythonScriptEngine):
    """Spiff script engine running everything through :class:`SandboxedEnvironment`.

    Spiff does not serialize the engine: assign it again (``workflow.script_engine = engine``) after
    every deserialization, or the workflow silently runs on Spiff's unrestricted default.

    When a script or expression fails, ``do_engine_steps()`` raises ``WorkflowTaskException`` raised
    ``from`` the sandbox error (``ScriptSecurityError``, ``ScriptLimitError``, ``ScriptDataError``,
    ``ScriptSyntaxError`` or the script's own exception); get the zh-CN text with :func:`explain`. The
    workflow object is then in an undefined state (task in ERROR, data partly written): discard it and
    reload the last saved state."""

    def __init__(
        self,
        helpers: Mapping[str, Callable[..., Any]] | None = None,
        *,
        cpu_seconds: float = 0.2,
        memory_bytes: int = 64 * MiB,
        max_iterations: int = 1_000_000,
    ) -> None:
        limits = _Limits(float(cpu_seconds), int(memory_bytes), int(max_iterations))
        super().__init__(environment=SandboxedEnvironment(helpers, limits))
        self.limits = limits

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as se:
            se.add_note(f"表达式：{expression}")
            raise
        except (ScriptError, ScriptSyntaxError) as err:
            raise WorkflowTaskException(f"表达式 {expression!r} 出错：{explain(err)}", task=task,
                                        exception=err) from err
        except Exception as err:
            raise WorkflowTaskException(f"表达式 {expression!r} 求值出错：{type(err).__name__}: {err}",
                                        task=task, exception=err) from err

    def execute(self, task: Any, script: str, external_context: Any = None) -> bool:
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except Exception as err:
            raise self.create_task_exec_exception(task, script, err) from err

    def create_task_exec_exception(self, task: Any, script: str, err: Exception) -> Exception:
        if isinstance(err, SpiffWorkflowException):
            return super().create_task_exec_exception(task, script, err)
        line_number, error_line = self.get_error_line_number_and_content(script, err)
        if isinstance(err, ScriptError) and err.lineno:
            line_number = err.lineno
            error_line = _line(script, line_number)
        if isinstance(err, ScriptError | ScriptSyntaxError):
            detail = err.message
        else:
            detail = f"{type(err).__name__}: {err}"
        message = f"脚本第 {line_number} 行出错：{detail}" if line_number else f"脚本出错：{detail}"
        return WorkflowTaskException(message, task=task, exception=err, line_number=line_number,
                                     error_line=error_line)


def _line(script: str, lineno: int) -> str:
    lines = script.splitlines()
    return lines[lineno - 1] if 0 < lineno <= len(lines) else ""
