"""Serialization of SpiffWorkflow state without its spec.

Spiff's default serializer embeds the whole spec in every saved instance (~40 KB here) and
rebuilds it on every load. govflow stores the spec once per process version and saves only the
task tree; loading hands the already-built spec objects back to the converter."""
from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task

from service.engine.task_walk import GovflowWorkflow
from service.storage.json_text import encode

_SPEC_KEY = "__govflow_specs__"


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
            "tasks": self._tasks_to_dict(workflow.tasks),
            "root": str(workflow.task_tree.id),
        }
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def _tasks_to_dict(self, tasks: dict[UUID, Task]) -> dict[str, Any]:
        """What mapping_to_dict(tasks) gives through Spiff's TaskConverter, built in one loop: every
        task id is formatted once (not again as a parent and a child) and the registry's dispatch is
        skipped. A task class with another converter goes through the registry as before."""
        reg = self.registry
        typename = reg.typenames.get(Task)
        stock = reg.convert_to_dict.get(typename) if typename else None
        bound = getattr(getattr(stock, "args", (None, None))[1], "__self__", None)
        if type(bound) is not TaskConverter:
            return self.mapping_to_dict(tasks)
        convert = reg.convert
        names = {k: str(k) for k in tasks}
        out: dict[str, Any] = {}
        for key, task in tasks.items():
            if task.__class__ is not Task:
                out[names[key]] = convert(task)
                continue
            parent = task.parent
            if parent is None:
                data, delta = task.data, {}
            else:
                mine, theirs = task.data, parent.data
                data = {}
                delta = {"updates": {k: mine[k] for k in mine if k not in theirs or mine[k] != theirs[k]},
                         "deletions": [k for k in theirs if k not in mine]}
            out[names[key]] = {
                "id": names.get(task.id) or str(task.id),
                "parent": (names.get(task._parent) or str(task._parent)) if parent is not None else None,
                "children": [names.get(c) or str(c) for c in task._children],
                "last_state_change": task.last_state_change,
                "state": task.state,
                "task_spec": task.task_spec.name,
                "triggered": task.triggered,
                # Empty for most tasks: the registry's walk would only rebuild the empty dict.
                "internal_data": convert(internal) if (internal := task.internal_data) else {},
                "data": data,
                "delta": delta,
                "typename": typename,
            }
        return out

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        spec, subprocess_specs = dct.pop(_SPEC_KEY)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


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
