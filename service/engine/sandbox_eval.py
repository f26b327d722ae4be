"""Evaluating compiled designer code against task data: the globals a script sees (safe builtins,
helpers, guards) and the rules for what a script leaves behind.

Used in the evaluator children for everything, and in the service process only for expressions that
:mod:`service.engine.sandbox_compile` proved cheap. No SpiffWorkflow import."""
from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from service.engine.sandbox_compile import FORBIDDEN_NAMES, STATE_NAMES, compile_source
from service.engine.sandbox_guards import Guards, Limits, Run, jsonable

__all__ = ["Evaluator", "check_helper_names"]

_MISSING = object()


def check_helper_names(names: Iterable[str]) -> None:
    for name in names:
        if not name.isidentifier() or name.startswith("_") or name in FORBIDDEN_NAMES:
            raise ValueError(f"invalid helper name {name!r}")


class Evaluator:
    """Runs compiled code with the sandbox's globals; stateless between calls, so shared by threads."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]], limits: Limits) -> None:
        check_helper_names(helpers)
        self.limits = limits
        guards = Guards(limits)
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
        self._reserved = frozenset(self._static) | frozenset(STATE_NAMES)

    def _globals(self, context: Mapping[str, Any], external: Mapping[str, Any] | None) -> dict[str, Any]:
        # Task data first, guards last: a form field named `_getattr_` must not replace the guard.
        g = dict(context)
        if external:
            g.update(external)
        g.update(self._static)
        return g

    def evaluate(self, expression: str, context: Mapping[str, Any], external: Mapping[str, Any] | None = None) -> Any:
        compiled = compile_source(expression, "eval")
        g = self._globals(context, external)
        if not compiled.ticks:
            return eval(compiled.code, g)
        run = Run(self.limits)
        g["_tick_"], g["_tickv_"] = run.tick, run.tickv
        result = eval(compiled.code, g)
        run.finish()
        return result

    def execute(self, script: str, context: Mapping[str, Any], external: Mapping[str, Any] | None = None
                ) -> dict[str, Any]:
        """Run a script; the new task data is the script's globals (minus the sandbox's own names and
        unchanged external values), every new or possibly mutated value checked and converted to
        plain JSON types."""
        compiled = compile_source(script, "exec")
        external = dict(external or {})
        g = self._globals(context, external)
        run = Run(self.limits) if compiled.ticks else None
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
            result[key] = jsonable(key, value, set())
        return result
