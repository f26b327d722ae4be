"""SpiffWorkflow behind a narrow interface: the rest of govflow never touches Spiff objects.

Bounded state ("loop compaction"): when the engine re-enters a task that already completed on the
current path (a send-back: 退回修改, 修改后重审, another change during construction …), the runtime
resets the workflow to that earlier task instead of letting the tree grow one pass per loop.
The earlier pass's history is already in work_items and audit_records, so nothing is lost, and the
live tree of a project sent back 300 times is the size of one pass (docs/engine.md has the curve)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from service.domain.errors import Conflict, NotFound, ProcessError
from service.engine import approval
from service.engine.scripting import explain
from service.engine.state import dump_state, load_state
from service.engine.task_walk import GovflowWorkflow

# Bound on compaction rounds after one step; a well-formed model needs one.
_MAX_COMPACTIONS = 20


@dataclass(frozen=True)
class ReadyTask:
    id: str
    name: str
    title: str
    lane: str | None
    properties: Mapping[str, str]
    documentation: str
    # For a multi-instance child: the item it works on (e.g. the 参建单位 it belongs to).
    item: Any = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Waiting:
    message: str
    correlation_key: str | None
    stage: str | None


def _timer_utc(value: Any) -> dt.datetime | None:
    """A timer's stored fire time (ISO text, or a cycle's dict) as naive UTC."""
    try:
        if isinstance(value, dict):
            value = value.get("next") or value.get("start")
        if not isinstance(value, str):
            return None
        parsed = TimerEventDefinition.get_datetime(value)
    except Exception:  # noqa: BLE001 - an unparsable value simply has no fire time
        return None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()
    return parsed.astimezone(dt.UTC).replace(tzinfo=None)


class ProcessRuntime:
    """One deployed process version: spec objects built once, script engine attached on every load."""

    def __init__(self, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec], script_engine: Any) -> None:
        self.spec = spec
        self.subprocess_specs = subprocess_specs
        self.script_engine = script_engine
        self._mi_vars = self._multi_instance_variables()
        self._properties = self._index_properties()

    def _multi_instance_variables(self) -> frozenset[str]:
        names: set[str] = set()
        for spec in [self.spec, *self.subprocess_specs.values()]:
            for ts in spec.task_specs.values():
                if isinstance(ts, MultiInstanceTask):
                    for item in (ts.input_item, ts.output_item):
                        if item is not None:
                            names.add(item.bpmn_id)
        return frozenset(names)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, data: Mapping[str, Any]) -> BpmnWorkflow:
        wf = GovflowWorkflow(self.spec, self.subprocess_specs, script_engine=self.script_engine)
        wf.data.update(data)
        wf.get_tasks(state=TaskState.READY)[0].data.update(data)
        try:
            self._steps(wf)
        except SpiffWorkflowException as exc:
            # A script or condition before the first user task (the sandbox stopped it): a 422.
            raise ProcessError(f"流程启动出错：{explain(exc)}") from exc
        return wf

    def load(self, state: str) -> BpmnWorkflow:
        wf = load_state(state, self.spec, self.subprocess_specs)
        # The script engine is not serialized: without this the workflow would silently run on
        # Spiff's default, unrestricted engine.
        wf.script_engine = self.script_engine
        return wf

    @staticmethod
    def dump(wf: BpmnWorkflow) -> str:
        return dump_state(wf)

    # -- queries ---------------------------------------------------------------------------------
    def task_properties(self, name: str) -> Mapping[str, str]:
        """Extension properties of a task by its BPMN id."""
        return self._properties.get(name, {})

    def _index_properties(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for spec in [self.spec, *self.subprocess_specs.values()]:
            for ts in spec.task_specs.values():
                props = (getattr(ts, "extensions", None) or {}).get("properties")
                if props and getattr(ts, "bpmn_id", None):
                    out[ts.bpmn_id] = dict(props)
        return out

    @staticmethod
    def _tasks(wf: BpmnWorkflow, state: int) -> list[Task]:
        """Tasks in `state`, in creation order, from the flat task maps: cheaper than Spiff's
        tree iterator, which several queries per step would otherwise walk again and again."""
        out = [t for t in wf.tasks.values() if t.state & state]
        for sub in wf.subprocesses.values():
            out.extend(t for t in sub.tasks.values() if t.state & state)
        return out

    def ready_user_tasks(self, wf: BpmnWorkflow) -> list[ReadyTask]:
        return [self._view(t) for t in self._tasks(wf, TaskState.READY) if t.task_spec.manual]

    def _view(self, t: Task) -> ReadyTask:
        ts = t.task_spec
        item = None
        parent_spec = t.parent.task_spec if t.parent is not None else None
        if isinstance(parent_spec, MultiInstanceTask) and parent_spec.input_item is not None:
            item = t.data.get(parent_spec.input_item.bpmn_id)
            if item is None:  # dropped at completion (_drop_loop_item), and the task made ready again
                item = t.internal_data.get("item")
                index = t.internal_data.get("key_or_index")
                items = parent_spec.data_input.get(t.parent) if parent_spec.data_input is not None else None
                if index is not None and isinstance(items, list | dict):
                    try:
                        item = items[index]
                    except (IndexError, KeyError):
                        item = None
        props = dict((ts.extensions or {}).get("properties", {}))
        return ReadyTask(
            id=str(t.id),
            name=ts.bpmn_id or ts.name,
            title=ts.bpmn_name or ts.name,
            lane=ts.lane,
            properties=props,
            documentation=ts.documentation or "",
            item=item,
            data=t.data,
        )

    def waiting(self, wf: BpmnWorkflow) -> Waiting | None:
        for t in self._tasks(wf, TaskState.WAITING):
            ed = getattr(t.task_spec, "event_definition", None)
            if isinstance(ed, MessageEventDefinition):
                key = None
                for prop in getattr(ed, "process_correlations", []) or []:
                    value = self.script_engine.environment.evaluate(prop.retrieval_expression, t.data)
                    key = str(value)
                props = (t.task_spec.extensions or {}).get("properties", {})
                return Waiting(ed.name, key, props.get("stage"))
        return None

    def outcome(self, wf: BpmnWorkflow) -> tuple[str, str] | None:
        """(id, name) of the end event the instance finished at (end_rejected/不予入库 …), if finished."""
        if not wf.completed:
            return None
        for t in self._tasks(wf, TaskState.COMPLETED):
            if isinstance(t.task_spec, EndEvent) and t.workflow is wf:
                return t.task_spec.bpmn_id, t.task_spec.bpmn_name or t.task_spec.bpmn_id
        return "end", "完成"

    def element_states(self, wf: BpmnWorkflow) -> dict[str, set[str]]:
        """BPMN element ids of the live tree by state, for drawing the instance on its diagram:
        `completed` (the token passed: tasks, gateways, events, scripts) and `active` (ready,
        waiting or started). Spiff's own bookkeeping specs (Start, End, Root, EndJoin) have no
        bpmn_id and are left out. Read-only. After loop compaction the tree holds the current
        pass only; earlier passes of user tasks are in work_items."""
        completed: set[str] = set()
        active: set[str] = set()
        for t in self._tasks(wf, TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED):
            element = getattr(t.task_spec, "bpmn_id", None)
            if not element:
                continue
            (completed if t.state == TaskState.COMPLETED else active).add(element)
        return {"completed": completed, "active": active}

    def user_task_properties(self) -> dict[str, Mapping[str, str]]:
        """Extension properties of every user task (by BPMN id): which form each one uses."""
        out: dict[str, Mapping[str, str]] = {}
        for spec in [self.spec, *self.subprocess_specs.values()]:
            for ts in spec.task_specs.values():
                if ts.manual and getattr(ts, "bpmn_id", None):
                    out[ts.bpmn_id] = self._properties.get(ts.bpmn_id, {})
        return out

    # -- commands --------------------------------------------------------------------------------
    def complete(self, wf: BpmnWorkflow, task_id: str, values: Mapping[str, Any]) -> None:
        """Complete a ready user task with its engine values. On any error the workflow object is
        left in an undefined state: the caller must discard it and save nothing."""
        task = self._ready_task(wf, task_id)
        task.data.update(values)
        # Before run(): Spiff evaluates the node's completionCondition on this instance's data.
        task.data.update(self._approval_variables(task))
        self._drop_loop_item(task)
        try:
            task.run()
            self._steps(wf)
        except SpiffWorkflowException as exc:
            title = task.task_spec.bpmn_name or task.task_spec.name
            raise ProcessError(f"流程执行出错（{title}）：{explain(exc)}") from exc

    def fire_timers(self, wf: BpmnWorkflow) -> None:
        """Fire the timers that are due by Spiff's (real UTC) clock and run the engine, with loop
        compaction like any other step."""
        try:
            wf.refresh_timers()
            self._steps(wf)
        except SpiffWorkflowException as exc:
            raise ProcessError(f"定时事件执行出错：{explain(exc)}") from exc

    @staticmethod
    def next_timer_at(wf: BpmnWorkflow) -> dt.datetime | None:
        """Earliest fire time (naive UTC) among the waiting timer events: the indexed column the
        worker's tick reads."""
        best: dt.datetime | None = None
        for t in ProcessRuntime._tasks(wf, TaskState.WAITING):
            if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition):
                at = _timer_utc(t._get_internal_data("event_value"))
                if at is not None and (best is None or at < best):
                    best = at
        return best

    def deliver_message(self, wf: BpmnWorkflow, name: str, payload: Mapping[str, Any],
                        correlations: Mapping[str, Mapping[str, Any]]) -> None:
        event = BpmnEvent(MessageEventDefinition(name), payload=dict(payload), correlations=dict(correlations))
        try:
            wf.send_event(event)
            self._steps(wf)
        except SpiffWorkflowException as exc:
            raise ProcessError(f"消息 {name} 无法投递：{explain(exc)}") from exc

    def _ready_task(self, wf: BpmnWorkflow, task_id: str) -> Task:
        from uuid import UUID

        try:
            task = wf.get_task_from_id(UUID(task_id))
        except Exception as exc:  # Spiff raises TaskNotFoundException, a KeyError on old versions
            raise NotFound("流程中不存在该任务") from exc
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise Conflict("该任务当前不可办理（已办结或流程已流转）")
        return task

    def _steps(self, wf: BpmnWorkflow) -> None:
        wf.do_engine_steps()
        for _ in range(_MAX_COMPACTIONS):
            if not self._compact_once(wf):
                return
            wf.do_engine_steps()

    def _compact_once(self, wf: BpmnWorkflow) -> bool:
        # Ready tasks only: Spiff cannot reset to a waiting catch event (it leaves a detached
        # task behind), so a loop is compacted where it re-enters a task that runs, as every loop
        # of the lifecycle does.
        for t in self._tasks(wf, TaskState.READY):
            ancestor = t.parent
            while ancestor is not None:
                if ancestor.task_spec is t.task_spec and ancestor.state == TaskState.COMPLETED:
                    # Carry the current values into the earlier task, minus multi-instance
                    # bookkeeping that Spiff refuses to find already present on re-entry.
                    data = {k: v for k, v in t.data.items() if k not in self._mi_vars}
                    wf.reset_from_task_id(ancestor.id)
                    # reset_from_task_id re-inherits the parent's data, whose keys would win
                    # over ours: set the data explicitly afterwards.
                    ancestor.data = data
                    return True
                ancestor = ancestor.parent
        return False

    # -- approval modes (会签 / 或签 / 依次), service.engine.approval ----------------------------------
    def _approval_node(self, task: Task) -> tuple[Task, approval.ApprovalMode, Mapping[str, str]] | None:
        parent = task.parent
        if parent is None or not isinstance(parent.task_spec, MultiInstanceTask):
            return None
        props = (task.task_spec.extensions or {}).get("properties", {})
        if not props.get(approval.MODE_PROPERTY):
            return None
        return parent, approval.parse_mode(props[approval.MODE_PROPERTY]), props

    def _tally(self, task: Task, *, including: Any = None) -> approval.Tally | None:
        node = self._approval_node(task)
        if node is None:
            return None
        parent, mode, props = node
        field_name = props.get(approval.FIELD_PROPERTY, approval.DEFAULT_FIELD)
        spec = parent.task_spec
        items = spec.data_input.get(parent) if spec.data_input is not None else []
        # Completed siblings of this pass only: cancelled ones (a decided node) have no decision.
        done = [c.data.get(field_name) for c in parent.children
                if c.task_spec is task.task_spec and c.state == TaskState.COMPLETED]
        if including is not None:
            done.append(including)
        return approval.Tally(mode, len(items or []), len(done), sum(1 for d in done if approval.is_agreement(d)))

    def _approval_variables(self, task: Task) -> dict[str, Any]:
        node = self._approval_node(task)
        if node is None:
            return {}
        _, _, props = node
        field_name = props.get(approval.FIELD_PROPERTY, approval.DEFAULT_FIELD)
        decision = task.data.get(field_name)
        if decision is None:
            raise ProcessError(f"审批方式需要表单字段 {field_name}（在任务的 outputs 中声明）")
        tally = self._tally(task, including=decision)
        assert tally is not None
        return tally.variables(props.get(approval.RESULT_PROPERTY, approval.DEFAULT_RESULT))

    @staticmethod
    def _drop_loop_item(task: Task) -> None:
        """Without an output collection Spiff merges an instance's data into the node's, item
        variable included; a sequential node then refuses to start its next instance ("input item
        already exists"). The item is the instance's own business: keep it out of the merge."""
        parent = task.parent
        spec = parent.task_spec if parent is not None else None
        if isinstance(spec, MultiInstanceTask) and spec.input_item is not None and spec.data_output is None:
            task.data.pop(spec.input_item.bpmn_id, None)

    def approval_tally(self, wf: BpmnWorkflow, task_id: str, *, including: Any = None) -> approval.Tally | None:
        """The tally of the multi-instance node a task belongs to (None for other tasks, or once
        the task has left the live tree); `including`: a decision about to be submitted, counted."""
        from uuid import UUID

        try:
            task = wf.get_task_from_id(UUID(task_id))
        except Exception:  # noqa: BLE001 - gone after a loop reset: nothing to count
            return None
        return self._tally(task, including=including)

    # -- 退回 (send back) ------------------------------------------------------------------------
    def reset_to(self, wf: BpmnWorkflow, task_name: str) -> bool:
        """Send back: reset the workflow to the latest completed occurrence of user task
        `task_name`, which becomes ready again with the data it had then; everything after it is
        dropped from the live tree (its history stays in work_items and audit_records). False when
        the task never completed on the current path."""
        done = [t for t in self._tasks(wf, TaskState.COMPLETED)
                if t.task_spec.manual and (t.task_spec.bpmn_id or t.task_spec.name) == task_name]
        if not done:
            return False
        target = max(done, key=lambda t: t.last_state_change)
        try:
            wf.reset_from_task_id(target.id)
            wf.do_engine_steps()
        except SpiffWorkflowException as exc:
            raise ProcessError(f"无法退回到该步骤：{explain(exc)}") from exc
        return True
