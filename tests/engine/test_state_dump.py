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
