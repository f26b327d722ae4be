"""Serialization of SpiffWorkflow state without its spec.

Spiff's default serializer embeds the whole spec in every saved instance (~40 KB here) and
rebuilds it on every load. govflow stores the spec once per process version and saves only the
task tree; loading hands the already-built spec objects back to the converter."""
from __future__ import annotations

import json
import os
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from service.engine.task_walk import GovflowWorkflow
from service.storage.json_text import encode

_SPEC_KEY = "__govflow_specs__"
# On a workflow object kept between steps (the workflow cache): the dicts of its finished tasks.
_DUMPED = "_govflow_dumped_tasks"
_NAMES = "_govflow_task_names"
_FINISHED = TaskState.FINISHED_MASK
# The test suite sets it (tests/conftest.py): every task dict reused is compared with one built afresh.
VERIFY_REUSE = os.environ.get("GOVFLOW_VERIFY_STATE_REUSE") == "1"


class StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        # WorkflowConverter.to_dict with the task map converted by _tasks_to_dict (same output).
        reg = self.registry
        dct = {
            "data": reg.convert(reg.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": self._tasks_to_dict(workflow.tasks, workflow),
            "root": str(workflow.task_tree.id),
        }
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def _tasks_to_dict(self, tasks: dict[UUID, Task], workflow: BpmnWorkflow | None = None) -> dict[str, Any]:
        """What mapping_to_dict(tasks) gives through Spiff's TaskConverter, built in one loop: every
        task id is formatted once (not again as a parent and a child) and the registry's dispatch is
        skipped. A task class with another converter goes through the registry as before.

        A finished task (completed, cancelled) whose parent is finished too no longer changes: a
        step adds a few tasks to a tree of dozens, so the dict of each such task is kept on the
        workflow object and given again while nothing it was built from has moved (see _unchanged)."""
        reg = self.registry
        typename = reg.typenames.get(Task)
        stock = reg.convert_to_dict.get(typename) if typename else None
        bound = getattr(getattr(stock, "args", (None, None))[1], "__self__", None)
        if type(bound) is not TaskConverter:
            return self.mapping_to_dict(tasks)
        convert = reg.convert
        previous: dict[UUID, tuple[Any, ...]] = getattr(workflow, _DUMPED, None) or {}
        kept: dict[UUID, tuple[Any, ...]] = {}
        # Formatting a UUID costs a microsecond, for every task of every dump: keep the text.
        known: dict[UUID, str] = getattr(workflow, _NAMES, None) or {}
        names = {k: known.get(k) or str(k) for k in tasks}
        out: dict[str, Any] = {}
        for key, task in tasks.items():
            if task.__class__ is not Task:
                out[names[key]] = convert(task)
                continue
            parent = task.parent
            reusable = (task._state & _FINISHED and parent is not None and parent._state & _FINISHED
                        and not task.internal_data)
            if reusable:
                entry = previous.get(key)
                if entry is not None and _unchanged(entry, task, parent):
                    if VERIFY_REUSE:
                        fresh = self._task_dict(task, parent, names, typename)
                        if entry[-1] != fresh:
                            raise AssertionError(f"state dump: a stale dict was reused for task {key}")
                    kept[key] = entry
                    out[names[key]] = entry[-1]
                    continue
            dct = self._task_dict(task, parent, names, typename)
            if reusable:
                kept[key] = (task.data, parent.data, len(task.data), len(parent.data), task._state,
                             task.last_state_change, task.triggered, tuple(task._children), dct)
            out[names[key]] = dct
        if workflow is not None:
            setattr(workflow, _DUMPED, kept)
            setattr(workflow, _NAMES, names)
        return out

    def _task_dict(self, task: Task, parent: Task | None, names: dict[UUID, str], typename: str) -> dict[str, Any]:
        if parent is None:
            data, delta = task.data, {}
        else:
            mine, theirs = task.data, parent.data
            data = {}
            delta = {"updates": {k: mine[k] for k in mine if k not in theirs or mine[k] != theirs[k]},
                     "deletions": [k for k in theirs if k not in mine]}
        return {
            "id": names.get(task.id) or str(task.id),
            "parent": (names.get(task._parent) or str(task._parent)) if parent is not None else None,
            "children": [names.get(c) or str(c) for c in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            # Empty for most tasks: the registry's walk would only rebuild the empty dict.
            "internal_data": self.registry.convert(internal) if (internal := task.internal_data) else {},
            "data": data,
            "delta": delta,
            "typename": typename,
        }

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        spec, subprocess_specs = dct.pop(_SPEC_KEY)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _unchanged(entry: tuple[Any, ...], task: Task, parent: Task) -> bool:
    """Nothing a kept task dict was built from has moved. Spiff changes a task's state, children,
    data or parent's data only through steps that also move its state and last_state_change
    (a reset, a loop compaction) or that replace its data object; values written into a finished
    task's data in place would go unseen here, and nothing in govflow or Spiff does that (the
    test suite checks every reuse against a fresh dict: VERIFY_REUSE)."""
    data, parent_data, size, parent_size, state, changed, triggered, children, _ = entry
    return (task.data is data and parent.data is parent_data and len(data) == size
            and len(parent_data) == parent_size and task._state == state and task.last_state_change == changed
            and task.triggered == triggered and tuple(task._children) == children)


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = StateOnlyWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    # Saved under Spiff's own name, so states written before and after read alike; restored as
    # GovflowWorkflow (service.engine.task_walk).
    StateOnlyWorkflowConverter(GovflowWorkflow, registry, typename="BpmnWorkflow")
    return BpmnWorkflowSerializer(registry)


_STATE = _make_serializer()
# Specs are converted with the stock configuration: they are written once per version.
_SPECS = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def dump_state(workflow: BpmnWorkflow) -> str:
    return encode(_STATE.to_dict(workflow))


def load_state(text: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> BpmnWorkflow:
    # json, not orjson: orjson reads an integer past 64 bits as a float.
    dct = json.loads(text)
    dct[_SPEC_KEY] = (spec, subprocess_specs)
    return _STATE.from_dict(dct)


def dump_specs(spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> str:
    reg = _SPECS.registry
    return json.dumps(
        {"spec": reg.convert(spec), "subprocess_specs": {k: reg.convert(v) for k, v in subprocess_specs.items()}},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def load_specs(text: str) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
    reg = _SPECS.registry
    dct = json.loads(text)
    return reg.restore(dct["spec"]), {k: reg.restore(v) for k, v in dct["subprocess_specs"].items()}
