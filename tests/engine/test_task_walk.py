"""GovflowWorkflow's tree walk (service.engine.task_walk) answers exactly what Spiff's TaskIterator
answers, so the engine runs the same steps in the same order: the saved states of a lifecycle run
with the walk and one run with Spiff's own iterator are byte for byte the same."""
from __future__ import annotations

import itertools
import re
import uuid

import pytest
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from service.engine import state
from service.engine.task_walk import GovflowWorkflow, walk
from tests.engine.test_runtime import admitted, complete, plan_reviewed, runtime  # noqa: F401 (fixture)


def _lifecycle_states(runtime, monkeypatch) -> list[str]:  # noqa: F811
    """Dump after every step of 初审 → two 方案评审 rounds → 预算, with task ids from a counter."""
    counter = itertools.count(1)
    monkeypatch.setattr("SpiffWorkflow.task.uuid4", lambda: uuid.UUID(int=next(counter)))
    wf = admitted(runtime)
    dumps = [state.dump_state(wf)]
    for result in ("修改后重审", "通过"):
        plan_reviewed(runtime, wf, result)
        dumps.append(state.dump_state(wf))
    complete(runtime, wf, "submit_budget")
    dumps.append(state.dump_state(wf))
    # Clock readings differ between two runs; everything else must not.
    return [re.sub(r'"last_state_change":[0-9.e+-]+', '"last_state_change":0', d) for d in dumps]


def test_a_lifecycle_saves_the_same_states_with_the_walk_and_with_spiffs_iterator(runtime, monkeypatch):  # noqa: F811
    walked = _lifecycle_states(runtime, monkeypatch)
    monkeypatch.setattr(GovflowWorkflow, "get_tasks_iterator", BpmnWorkflow.get_tasks_iterator)
    monkeypatch.setattr(GovflowWorkflow, "update_waiting_tasks", BpmnWorkflow.update_waiting_tasks)
    stock = _lifecycle_states(runtime, monkeypatch)
    assert len(walked) == 4
    assert walked == stock


@pytest.mark.parametrize("mask", [TaskState.READY, TaskState.WAITING, TaskState.COMPLETED, TaskState.FUTURE,
                                  TaskState.MAYBE | TaskState.LIKELY, TaskState.NOT_FINISHED_MASK,
                                  TaskState.ANY_MASK])
def test_the_walk_lists_what_spiffs_iterator_lists_in_its_order(runtime, mask):  # noqa: F811
    wf = admitted(runtime)
    plan_reviewed(runtime, wf, "修改后重审")
    complete(runtime, wf, "write_plan", estimate_total=100)  # four parallel reviews open
    assert [t.id for t in walk(wf.task_tree, mask)] == [t.id for t in BpmnTaskIterator(wf.task_tree, state=mask)]
    assert wf.get_tasks(state=mask) == list(BpmnTaskIterator(wf.task_tree, state=mask))


def test_other_queries_still_go_to_spiff(runtime):  # noqa: F811
    wf = admitted(runtime)
    complete(runtime, wf, "write_plan", estimate_total=100)
    assert isinstance(wf, GovflowWorkflow)
    manual = wf.get_tasks(state=TaskState.READY, manual=True)
    assert sorted(t.task_spec.bpmn_id for t in manual) == ["review_bigdata", "review_cac", "review_crypto",
                                                          "review_police"]
    assert not isinstance(wf.get_tasks_iterator(state=TaskState.READY, manual=True), type(walk(wf.task_tree, 1)))


def test_saved_states_keep_spiffs_typename_and_load_as_govflow_workflows(runtime):  # noqa: F811
    wf = admitted(runtime)
    dumped = state.dump_state(wf)
    assert '"typename":"BpmnWorkflow"' in dumped[-200:]
    again = runtime.load(dumped)
    assert type(again) is GovflowWorkflow
    assert state.dump_state(again) == dumped
