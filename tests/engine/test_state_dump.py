"""The state serializer's one-loop task map (service.engine.state) writes byte for byte what Spiff's
own TaskConverter writes, so stored instances do not depend on which of the two saved them."""
from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.workflow import WorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from service.engine import state
from tests.engine.test_runtime import admitted, complete, plan_reviewed, runtime  # noqa: F401 (fixture)


def _stock(wf: BpmnWorkflow) -> str:
    """dump_state as it was: Spiff's WorkflowConverter.to_dict and the registry's task converter."""
    reg = state._STATE.registry
    converter = reg.convert_to_dict[reg.typenames[BpmnWorkflow]].args[1].__self__
    dct: dict[str, Any] = WorkflowConverter.to_dict(converter, wf)
    dct["subprocesses"] = converter.mapping_to_dict(wf.subprocesses)
    dct["bpmn_events"] = reg.convert(wf.bpmn_events)
    dct["typename"] = reg.typenames[BpmnWorkflow]
    return json.dumps(dct, ensure_ascii=False, separators=(",", ":"))


def test_the_fast_task_map_matches_spiffs_converter(runtime):  # noqa: F811
    wf = runtime.start({"budget_year": 2027})
    seen = [state.dump_state(wf) == _stock(wf)]
    wf = admitted(runtime)
    seen.append(state.dump_state(wf) == _stock(wf))
    plan_reviewed(runtime, wf, "修改后重审")  # a loop: compacted tree, data deltas and deletions
    seen.append(state.dump_state(wf) == _stock(wf))
    plan_reviewed(runtime, wf, "通过")
    complete(runtime, wf, "submit_budget")
    dumped = state.dump_state(wf)
    seen.append(dumped == _stock(wf))
    assert seen == [True] * 4
    # And what it wrote loads back into the same tree.
    again = runtime.load(dumped)
    assert state.dump_state(again) == dumped


def test_finished_tasks_are_given_again_only_while_unchanged(runtime):  # noqa: F811
    """The dicts kept for finished tasks (state._tasks_to_dict) are reused across steps, through a
    loop compaction, a withdrawal (撤回: a reset under completed tasks) and a parallel review, and
    every dump still equals Spiff's own converter's."""
    from service.engine.withdrawal import reset_completed

    assert state.VERIFY_REUSE  # tests/conftest.py: in this suite every reuse is checked as well
    wf = admitted(runtime)
    state.dump_state(wf)
    kept = getattr(wf, state._DUMPED)
    assert len(kept) >= 5  # the declaration, the two 初审 steps and the gateways before them
    dumps = []
    complete(runtime, wf, "write_plan", estimate_total=100)
    dumps.append(state.dump_state(wf) == _stock(wf))
    reviewed = [t for t in wf.tasks.values() if t.task_spec.name == "review_bigdata"]
    complete(runtime, wf, "review_bigdata")
    dumps.append(state.dump_state(wf) == _stock(wf))
    (done,) = [t for t in reviewed if t.state == 64]
    assert reset_completed(wf, str(done.id)).ok  # 撤回 of one branch
    dumps.append(state.dump_state(wf) == _stock(wf))
    for r in ("review_bigdata", "review_cac", "review_police", "review_crypto"):
        complete(runtime, wf, r)
        dumps.append(state.dump_state(wf) == _stock(wf))
    complete(runtime, wf, "review_consolidate", plan_review_result="修改后重审", approved_estimate=100)
    dumps.append(state.dump_state(wf) == _stock(wf))  # back to write_plan: the loop compacted
    assert dumps == [True] * len(dumps)
    # Reused means the very object: the 填报 step's dict survived every step above.
    declaration = next(k for k, t in wf.tasks.items() if t.task_spec.name == "submit_declaration")
    assert getattr(wf, state._DUMPED)[declaration][-1] is kept[declaration][-1]


def test_a_dict_is_built_again_when_its_task_moves(runtime):  # noqa: F811
    wf = admitted(runtime)
    state.dump_state(wf)
    task = next(t for t in wf.tasks.values() if t.task_spec.name == "preliminary_review")
    before = getattr(wf, state._DUMPED)[task.id][-1]
    task.data = {**task.data, "preliminary_decision": "不予入库"}  # a new data object
    assert json.loads(state.dump_state(wf))["tasks"][str(task.id)] != before
    assert state.dump_state(wf) == _stock(wf)
