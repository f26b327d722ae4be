"""A cheaper walk of Spiff's task tree for the queries the engine itself makes on every step.

SpiffWorkflow 3.2 asks its tree for the READY tasks once per pass of `do_engine_steps` and for the
WAITING tasks after every task that completes (`update_waiting_tasks`); each time a general
`TaskIterator` walks every task of the instance through a filter object and a list it pops from
the front. That was 6 % of a completion's instructions (docs/performance.md). `GovflowWorkflow`
answers the same two questions with a plain depth-first walk, in the same order and with the same
laziness (a task's state is read when the walk reaches it, its children when it leaves it), and
leaves every other query, and every workflow with subprocesses, to Spiff's own iterator."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState


def _min_state(state: int) -> int:
    # TaskIterator's rule for how deep to look: predicted tasks may follow definite ones, definite
    # tasks may follow finished ones, never the other way round.
    if state & TaskState.PREDICTED_MASK:
        return TaskState.MAYBE
    if state & TaskState.DEFINITE_MASK:
        return TaskState.FUTURE
    return TaskState.COMPLETED


def walk(root: Task, state: int) -> Iterator[Task]:
    """The tasks under `root` (itself included) in `state`, in TaskIterator's depth-first order."""
    floor = _min_state(state)
    tasks = root.workflow.tasks
    stack = [root]
    pop, push = stack.pop, stack.extend
    while stack:
        task = pop()
        children = task._children
        if children and task.state >= floor:
            push([tasks[c] for c in reversed(children)])
        if task.state & state:
            yield task


class GovflowWorkflow(BpmnWorkflow):
    """BpmnWorkflow with `walk` behind the state-only queries (serialized as a BpmnWorkflow)."""

    def get_tasks_iterator(self, first_task: Task | None = None, **kwargs: Any) -> Any:
        if kwargs.keys() <= {"state"} and not self.subprocesses:
            return walk(first_task or self.task_tree, kwargs.get("state", TaskState.ANY_MASK))
        return super().get_tasks_iterator(first_task, **kwargs)

    def update_waiting_tasks(self) -> None:
        if self.subprocesses:
            super().update_waiting_tasks()
            return
        for task in walk(self.task_tree, TaskState.WAITING):
            task.task_spec._update(task)
