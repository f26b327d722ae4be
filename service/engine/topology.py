"""Where a user task's work comes from, read off the process graph: which parallel branches feed a
consolidation step. Pure reading of the deployed spec; nothing here runs the workflow."""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import ParallelMultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway

from service.engine.runtime import ProcessRuntime

# A branch may pass a few non-user elements (script, intermediate event) on its way to the join.
_MAX_HOPS = 20


def _user_task_before(spec: Any) -> str | None:
    """The nearest user task upstream of `spec` on a single path (None when the path forks or
    reaches no user task within _MAX_HOPS)."""
    for _ in range(_MAX_HOPS):
        if getattr(spec, "manual", False) or isinstance(spec, ParallelMultiInstanceTask):
            return getattr(spec, "bpmn_id", None)
        inputs = list(getattr(spec, "inputs", []) or [])
        if len(inputs) != 1:
            return None
        spec = inputs[0]
    return None


def feeding_branches(runtime: ProcessRuntime, task_name: str) -> list[str]:
    """The user tasks whose parallel results `task_name` consolidates, in diagram order.

    Two shapes count as a join: a parallel gateway with several incoming flows right before the
    task (方案评审's four departments → 汇合 → 出具评审意见), and a parallel multi-instance task
    right before it (参建单位确认: one instance per participating unit). Elements without user
    work between the join and the task are passed over. Anything else is no join: []."""
    specs = [ts for ts in runtime.spec.task_specs.values()
             if getattr(ts, "bpmn_id", None) == task_name and getattr(ts, "manual", False)]
    for ts in runtime.subprocess_specs.values():
        specs.extend(s for s in ts.task_specs.values()
                     if getattr(s, "bpmn_id", None) == task_name and getattr(s, "manual", False))
    if not specs:
        return []
    spec = specs[0]
    for _ in range(_MAX_HOPS):
        inputs = list(getattr(spec, "inputs", []) or [])
        if len(inputs) != 1:
            return []
        prev = inputs[0]
        if isinstance(prev, ParallelMultiInstanceTask):
            return [prev.bpmn_id] if getattr(prev, "bpmn_id", None) else []
        if isinstance(prev, ParallelGateway) and len(prev.inputs) > 1:
            names = [_user_task_before(i) for i in prev.inputs]
            return [n for n in names if n]
        if getattr(prev, "manual", False):
            return []
        spec = prev
    return []
