"""Compile-time half of the sandbox: parse, refuse, restrict, instrument; and the static proof that an
expression is cheap enough to evaluate in the service process.

Layers, in the order a source text goes through them (cached by source text):

1. ``ast.parse`` - real ``SyntaxError`` with a line number.
2. ``_Policy`` - govflow refusals with zh-CN messages and lines: imports, function/class definitions,
   ``global``/``with``/``yield``, forbidden builtins (``eval``, ``open``, ``type`` ...), dynamic f-string
   widths.
3. RestrictedPython's ``RestrictingNodeTransformer`` - refuses names/attributes starting with ``_`` and
   routes attribute reads, item access, iteration and writes through guard functions.
4. ``_Instrument`` - inserts ``_tick_()`` into every loop body, comprehension and lambda, and replaces
   ``*``, ``**``, ``<<``, ``+`` and ``%`` with size-checking functions.

No SpiffWorkflow import: the evaluator child compiles with this module too."""
from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from RestrictedPython.transformer import RestrictingNodeTransformer

from service.engine.sandbox_errors import FILENAME as _FILENAME
from service.engine.sandbox_errors import ScriptError, ScriptSecurityError, ScriptSyntaxError, with_line

__all__ = [
    "FORBIDDEN_NAMES",
    "MAX_FORMAT_WIDTH",
    "SAFE_BUILTIN_NAMES",
    "STATE_NAMES",
    "Compiled",
    "check_source",
    "compile_source",
    "find_source_problem",
]

MAX_FORMAT_WIDTH = 10_000
_MAX_FORMAT_WIDTH = MAX_FORMAT_WIDTH


# -- compile-time policy -------------------------------------------------------------------------------

SAFE_BUILTIN_NAMES = frozenset({
    "len", "min", "max", "sum", "abs", "round", "int", "float", "str", "bool", "list", "dict", "tuple",
    "set", "sorted", "range", "enumerate", "zip", "any", "all", "ceil", "floor", "True", "False", "None",
})

# Named explicitly so the designer learns at deploy time why, instead of a NameError at run time.
FORBIDDEN_NAMES = frozenset({
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
        if node.id in FORBIDDEN_NAMES:
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
STATE_NAMES = ("_tick_", "_tickv_")


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
class Compiled:
    code: Any
    ticks: bool
    # Proved cheap by :func:`_is_cheap`: may run in the service process (see there for why).
    inline: bool


@lru_cache(maxsize=4096)
def compile_source(source: str, mode: str) -> Compiled:
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
    inline = mode == "eval" and _is_cheap(tree)
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
    return Compiled(compile(tree, _FILENAME, mode), instrument.ticks, inline and not instrument.ticks)


# -- the static proof of cheapness ----------------------------------------------------------------------
# Most evaluations are gateway conditions and DMN cells such as `decision == "通过"`,
# `annual_list["on_list"] == True` or `dmninputexpr > 1500`. Sending each to an evaluator child would
# cost a round trip for nothing, so an expression whose cost is bounded *by its own text* runs in the
# service process. The grammar admitted is deliberately tiny:
#
# * operands: a name (task data, which in the service process is always a JSON tree decoded from a
#   bounded text: no shared sub-structures), a name subscripted by constant keys (`x["k"][0]`: one hash
#   of a short constant and a lookup per step, never a slice), or a small literal (str of at most
#   _LITERAL_CHARS characters, int of at most 64 bits, float, bool, None; tuple/list of at most
#   _LITERAL_ITEMS such scalars);
# * comparisons in which every pair has a literal on one side, and `in`/`not in` only with a literal on
#   the right: comparing anything with a small literal stops after the literal's length (sequence
#   equality checks lengths first; ordering stops at the first difference or at the literal's end;
#   str containment in a short str is bounded by the short str);
# * `and`, `or`, `not`, unary minus/plus of a name or literal (ints decoded from JSON have at most
#   4,300 digits).
#
# No calls, attributes, arithmetic, comprehensions, lambdas, f-strings, slices, conditional expressions
# or name-to-name comparisons: each of those can be made to cost time or memory proportional to data
# the expression builds or the size of task data. Everything else goes to an evaluator child.

_LITERAL_CHARS = 256
_LITERAL_ITEMS = 64
_MAX_INLINE_NODES = 64
_CHEAP_COMPARE = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot)


def _scalar_literal(node: ast.AST) -> bool:
    if not isinstance(node, ast.Constant):
        return False
    value = node.value
    if value is None or type(value) in (bool, float):
        return True
    if type(value) is int:
        return value.bit_length() <= 64
    if type(value) is str:
        return len(value) <= _LITERAL_CHARS
    return False


def _literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Tuple | ast.List):
        return len(node.elts) <= _LITERAL_ITEMS and all(_scalar_literal(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _scalar_literal(node.operand)
    return _scalar_literal(node)


def _data_ref(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return isinstance(node.ctx, ast.Load)
    if isinstance(node, ast.Subscript):
        key = node.slice
        return (isinstance(key, ast.Constant) and type(key.value) in (str, int) and _scalar_literal(key)
                and _data_ref(node.value))
    return False


def _cheap_node(node: ast.AST) -> bool:
    if _literal(node) or _data_ref(node):
        return True
    if isinstance(node, ast.BoolOp):
        return all(_cheap_node(v) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            return _cheap_node(node.operand)
        return isinstance(node.op, ast.USub | ast.UAdd) and (_data_ref(node.operand) or _literal(node.operand))
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        if not all(_literal(o) or _data_ref(o) for o in operands):
            return False
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            if not isinstance(op, _CHEAP_COMPARE):
                return False
            if isinstance(op, ast.In | ast.NotIn):
                if not _literal(right):
                    return False
            elif not (_literal(left) or _literal(right)):
                return False
        return True
    return False


def _is_cheap(tree: ast.AST) -> bool:
    if sum(1 for _ in ast.walk(tree)) > _MAX_INLINE_NODES:
        return False
    return isinstance(tree, ast.Expression) and _cheap_node(tree.body)


def check_source(
    source: str, mode: Literal["eval", "exec"], *, functions: Iterable[str] | None = None
) -> str | None:
    """Lint an expression (``eval``) or script (``exec``) without running it.

    Returns a zh-CN message with the line number where known, or None. Catches syntax errors and
    everything the sandbox refuses at compile time. With ``functions`` (the helper names), calls of
    names that are neither builtins, helpers nor assigned in the script are reported too: task data
    is JSON and never callable, so such a call can only be a typo."""
    problem = find_source_problem(source, mode, functions=functions)
    return None if problem is None else with_line(problem[1], problem[0])


def find_source_problem(
    source: str, mode: Literal["eval", "exec"], *, functions: Iterable[str] | None = None
) -> tuple[int | None, str] | None:
    """Like :func:`check_source`, but the line (within the source) and the message apart."""
    if mode == "eval" and not source.strip():
        return None, "表达式为空"
    try:
        compile_source(source, mode)
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


