"""撤回 in the engine: put a completed user task back to READY, dropping only what its completion
started. The operations layer (service.operations.withdraw) decides who may; this module answers
whether the live tree allows it without disturbing anything else.

Facts of SpiffWorkflow 3.2 this relies on (measured, docs/withdraw.md):
- `reset_from_task_id(id)` keeps the task's id and drops its subtree only.
- A parallel join waits under the branch that arrived last; the join tasks of the branches that
  arrived earlier are CANCELLED (and count as arrived). Resetting an earlier branch while the join
  still waits is fine: its cancelled join task goes, so the join waits for it again. Once the join
  has fired (its task COMPLETED under another branch, after this step completed), resetting would
  leave the continuation alive beside the reopened task: refused.
- The continuation of a multi-instance node hangs under the node, not under the instance that
  completed it last: resetting that instance leaves the next tasks alive. The caller's comparison of
  ready tasks before and after catches it."""
from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState


@dataclass(frozen=True)
class Reset:
    ok: bool
    reason: str = ""


def _merged_since(task: Task) -> bool:
    """A join this step's branch reached has fired under another branch since the step completed."""
    specs = {t.task_spec for t in task if t is not task and t.state == TaskState.CANCELLED}
    if not specs:
        return False
    return any(o.task_spec in specs and o.state == TaskState.COMPLETED and o.last_state_change >= task.last_state_change
               for o in task.workflow.tasks.values())


def _instance_of(task: Task) -> tuple[str | None, Any, dict[str, Any]] | None:
    """For an instance of a multi-instance node: (item variable, item, Spiff's bookkeeping), which
    the reset clears (internal data) or re-inherits without (the node's data lacks the item)."""
    parent = task.parent
    spec = parent.task_spec if parent is not None else None
    if not isinstance(spec, MultiInstanceTask):
        return None
    internal = {k: task.internal_data[k] for k in ("key_or_index", "item") if k in task.internal_data}
    item = internal.get("item")
    if "key_or_index" in internal and getattr(spec, "data_input", None) is not None:
        item = spec.data_input.get(parent)[internal["key_or_index"]]
    input_item = getattr(spec, "input_item", None)
    return (input_item.bpmn_id if input_item is not None else None), item, internal


def _restore_instance(task: Task, item_var: str | None, item: Any, internal: dict[str, Any]) -> None:
    task.internal_data.update(internal)
    if item_var:
        task.data[item_var] = deepcopy(item)
    # The node counts merged instances by id: this one is no longer merged.
    merged = task.parent.internal_data.get("merged")
    if isinstance(merged, list) and str(task.id) in merged:
        merged.remove(str(task.id))


def reset_completed(wf: BpmnWorkflow, task_id: str) -> Reset:
    """Reset `wf` in place to the completed user task `task_id` (which becomes READY with the data
    it was entered with). On a refusal `wf` is untouched; on an engine error it is undefined and the
    caller must discard it."""
    try:
        task = wf.get_task_from_id(UUID(task_id))
    except Exception:  # noqa: BLE001 - gone from the live tree (loop compaction, 退回 past it)
        return Reset(False, "该步骤已不在当前流程中（流程已继续流转或被退回）")
    if task.state != TaskState.COMPLETED or not task.task_spec.manual:
        return Reset(False, "该步骤在流程中已不是已办结状态")
    if _merged_since(task):
        return Reset(False, "并行各方已汇合，流程已进入下一步")
    instance = _instance_of(task)
    try:
        wf.reset_from_task_id(task.id)
        if instance is not None:
            _restore_instance(task, *instance)
        wf.do_engine_steps()
    except SpiffWorkflowException as exc:
        return Reset(False, f"流程无法回到该步骤：{exc}")
    return Reset(True)
