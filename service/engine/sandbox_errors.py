"""Errors of the designer-code sandbox, shared by the service process and the evaluator children.

No SpiffWorkflow import here: the evaluator child imports this module and stays small."""
from __future__ import annotations

import builtins
from typing import Any

__all__ = [
    "ScriptDataError",
    "ScriptError",
    "ScriptFailure",
    "ScriptLimitError",
    "ScriptSecurityError",
    "ScriptSyntaxError",
    "explain",
    "rebuild_error",
    "describe_error",
]

# Spiff's error formatter looks for traceback frames with this file name to report the script line.
FILENAME = "<string>"


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


class ScriptFailure(ScriptError):
    """The script's own exception, raised in an evaluator child, of a type the service cannot rebuild."""


class ScriptSyntaxError(SyntaxError):
    """A syntax error with a zh-CN message and always an integer ``lineno``.

    Spiff's error formatter reads ``lineno`` of any SyntaxError and crashes on None (RestrictedPython's
    own SyntaxError has none), so nothing else escapes the compiler."""

    def __init__(self, message: str, lineno: int, offset: int | None = None, text: str | None = None) -> None:
        super().__init__(message, (FILENAME, lineno, offset or 0, text or ""))
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
            return with_line(cur.message, cur.lineno)
        cur = cur.__cause__ or cur.__context__
    return str(exc)


def with_line(message: str, lineno: int | None) -> str:
    return f"第 {lineno} 行：{message}" if lineno else message


# -- errors across the pipe -----------------------------------------------------------------------------
# A child runs designer code, so what it sends is data, never code or pickles: a class name picked from
# a fixed set, the zh-CN message, line numbers, and for the script's own exceptions the type name and
# JSON arguments. The service rebuilds the error from that.

_SANDBOX_KINDS: dict[str, type[ScriptError]] = {
    "ScriptError": ScriptError,
    "ScriptSecurityError": ScriptSecurityError,
    "ScriptLimitError": ScriptLimitError,
    "ScriptDataError": ScriptDataError,
    "ScriptFailure": ScriptFailure,
}


def describe_error(err: BaseException, traceback_line: int | None) -> dict[str, Any]:
    """The JSON description of an error raised while evaluating (in the child)."""
    out: dict[str, Any] = {"tb_line": traceback_line}
    if isinstance(err, ScriptSyntaxError):
        out.update(kind="ScriptSyntaxError", msg=err.message, line=err.lineno, offset=err.offset, text=err.text)
    elif isinstance(err, ScriptError) and type(err).__name__ in _SANDBOX_KINDS:
        out.update(kind=type(err).__name__, msg=err.message, line=err.lineno)
    else:
        args = [a for a in err.args if a is None or type(a) in (str, int, float, bool)]
        if len(args) != len(err.args):
            args = [str(err)]
        out.update(kind="exception", type=type(err).__name__, args=[_short(a) for a in args])
    return out


def _short(value: Any) -> Any:
    return value[:2000] if type(value) is str else value


def rebuild_error(desc: dict[str, Any]) -> Exception:
    """The exception a description stands for (in the service). ``traceback_lineno`` is set on it: the
    script line where it was raised, which the service's own traceback no longer shows."""
    kind = desc.get("kind")
    err: Exception
    if kind == "ScriptSyntaxError":
        err = ScriptSyntaxError(str(desc.get("msg")), int(desc.get("line") or 1), desc.get("offset"), desc.get("text"))
    elif kind in _SANDBOX_KINDS:
        err = _SANDBOX_KINDS[kind](str(desc.get("msg")), desc.get("line"))
    else:
        err = builtin_exception(str(desc.get("type")), list(desc.get("args") or []))
    err.traceback_lineno = desc.get("tb_line")  # type: ignore[attr-defined]
    return err


def builtin_exception(type_name: str, args: list[Any]) -> Exception:
    """A builtin exception rebuilt by name (ZeroDivisionError, KeyError ...), so that messages read as
    they did in-process; anything else becomes a ScriptFailure carrying the name."""
    cls = getattr(builtins, type_name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and not issubclass(cls, Warning):
        try:
            return cls(*args)
        except Exception:  # noqa: BLE001 - e.g. UnicodeDecodeError wants five arguments
            pass
    text = ", ".join(str(a) for a in args)
    return ScriptFailure(f"{type_name}: {text}" if text else type_name)
