"""The sandboxed script engine for SpiffWorkflow: BPMN scripts, gateway conditions, timer expressions and
DMN cells, evaluated with hard CPU-time and memory bounds that cover C builtins too (docs/sandbox.md).

Where designer code runs:

* in an evaluator child process (``evaluator_pool``, ``evaluator_child``): every script, and every
  expression not proved cheap. The child runs RestrictedPython code with govflow's guards (precise zh-CN
  errors with the line) under a CPU timer and RLIMIT_AS (a C builtin cannot outrun them), and this
  process kills and replaces it past a wall-clock deadline;
* in this process: only expressions that ``sandbox_compile`` proves cheap from their text (comparisons
  of task data with small literals, and/or/not), such as most gateway conditions and DMN cells.

Layers of the sandbox, one module each: ``sandbox_errors`` (errors, zh-CN explanation, their JSON form),
``sandbox_compile`` (policy, RestrictedPython, instrumentation, cheapness), ``sandbox_guards`` (ticks,
size checks, JSON check of results), ``sandbox_eval`` (the globals a script sees), and this module, which
adapts them to Spiff.

Errors during a workflow step reach the caller as ``WorkflowTaskException`` (raised ``from`` the original
error, so ``__cause__`` is set); :func:`explain` recovers the zh-CN message. A workflow whose script failed
is left with the task in ERROR state: discard it and reload the last saved state instead of saving it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from service.engine import evaluator_pool
from service.engine.sandbox_compile import SAFE_BUILTIN_NAMES, check_source, compile_source, find_source_problem
from service.engine.sandbox_errors import (
    ScriptDataError,
    ScriptError,
    ScriptFailure,
    ScriptLimitError,
    ScriptSecurityError,
    ScriptSyntaxError,
    explain,
)
from service.engine.sandbox_eval import Evaluator
from service.engine.sandbox_guards import MAX_INT_BITS, Limits, MiB

__all__ = [
    "MAX_INT_BITS",
    "SAFE_BUILTIN_NAMES",
    "SandboxedEnvironment",
    "SandboxedScriptEngine",
    "ScriptDataError",
    "ScriptError",
    "ScriptFailure",
    "ScriptLimitError",
    "ScriptSecurityError",
    "ScriptSyntaxError",
    "check_source",
    "explain",
    "find_source_problem",
]


class SandboxedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates and executes through the sandbox. Spiff also calls ``environment.evaluate`` directly
    (process completion conditions, message correlation), so the routing lives here, not in the engine.

    ``isolate=False`` evaluates everything in this process, as govflow did before the evaluator pool:
    C builtins are then unbounded. It exists for ``bench/sandbox_cost.py`` to measure the difference;
    never use it for deployed processes."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None, limits: Limits, *,
                 isolate: bool = True, result_bytes: int = 2 * MiB, wall_seconds: float = 2.0) -> None:
        helpers = dict(helpers or {})
        super().__init__({})
        self.limits = limits
        self.helpers = helpers
        self.isolate = isolate
        self.local = Evaluator(helpers, limits)
        self.profile = evaluator_pool.make_profile(helpers, limits, result_bytes=result_bytes,
                                                   wall_seconds=wall_seconds)

    def evaluate(self, expression: str, context: Mapping[str, Any], external_context: Any = None) -> Any:
        compiled = compile_source(expression, "eval")  # compile errors are raised here, in-process
        if compiled.inline or not self.isolate:
            return self.local.evaluate(expression, context, external_context)
        return evaluator_pool.get_pool().run(self.profile, "eval", expression, context, external_context)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        """Run a script; on success task data is replaced by the script's globals (minus the sandbox's
        own names), every new or possibly mutated value checked and converted to plain JSON types."""
        compile_source(script, "exec")
        if self.isolate:
            result = evaluator_pool.get_pool().run(self.profile, "exec", script, context, external_context)
        else:
            result = self.local.execute(script, context, external_context)
        context.clear()
        context.update(result)
        return True

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        raise ScriptSecurityError("流程中不支持服务任务")


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
        result_bytes: int = 2 * MiB,
        wall_seconds: float | None = None,
        isolate: bool = True,
    ) -> None:
        limits = Limits(float(cpu_seconds), int(memory_bytes), int(max_iterations))
        # The wall-clock backstop: far above the CPU limit, since a busy machine shares its cores.
        wall = float(wall_seconds) if wall_seconds is not None else 1.0 + 5 * limits.cpu_seconds
        super().__init__(environment=SandboxedEnvironment(
            helpers, limits, isolate=isolate, result_bytes=int(result_bytes), wall_seconds=wall))
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
        child_line = getattr(err, "traceback_lineno", None)
        if not line_number and child_line:
            # Raised in an evaluator child: its traceback stayed there, the line came with the error.
            line_number, error_line = child_line, _line(script, child_line)
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
