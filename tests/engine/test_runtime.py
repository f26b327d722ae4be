"""ProcessRuntime on the real lifecycle, without a database: state, loops, messages."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState

from service.domain.calendar import WorkCalendar
from service.domain.errors import ProcessError
from service.engine.helpers import make_helpers
from service.engine.runtime import ProcessRuntime
from service.engine.scripting import SandboxedScriptEngine
from service.engine.state import dump_specs, load_specs
from service.engine.validation import load_parser

PROCESSES = Path(__file__).resolve().parents[2] / "processes"


@pytest.fixture(scope="module")
def runtime() -> ProcessRuntime:
    files = {p.name: p.read_bytes() for p in PROCESSES.iterdir() if p.suffix in (".bpmn", ".dmn")}
    parser = load_parser(files)
    # Round-trip the spec through its stored form, as the service does.
    spec, subs = load_specs(dump_specs(parser.get_spec("govflow_lifecycle"),
                                       parser.get_subprocess_specs("govflow_lifecycle")))
    calendar = WorkCalendar()
    return ProcessRuntime(spec, subs, SandboxedScriptEngine(helpers=make_helpers(lambda: calendar)))


def complete(runtime, wf, name, **values):
    (task,) = [t for t in runtime.ready_user_tasks(wf) if t.name == name]
    runtime.complete(wf, task.id, values)


def names(runtime, wf):
    return sorted(t.name for t in runtime.ready_user_tasks(wf))


def test_state_round_trip_reattaches_the_sandbox(runtime):
    wf = runtime.start({"budget_year": 2027})
    state = runtime.dump(wf)
    assert len(state) < 20_000 and '"spec"' not in state[:200]
    again = runtime.load(state)
    assert again.script_engine is runtime.script_engine
    assert names(runtime, again) == ["submit_declaration"]


def admitted(runtime):
    """A 2027 workflow that has passed 初审 and waits for its plan."""
    wf = runtime.start({"budget_year": 2027})
    complete(runtime, wf, "submit_declaration", participants=[], budget_year=2027)
    complete(runtime, wf, "preliminary_review_finance")
    complete(runtime, wf, "preliminary_review", preliminary_decision="入库")
    return wf


def plan_reviewed(runtime, wf, result):
    complete(runtime, wf, "write_plan", estimate_total=100)
    for r in ("review_bigdata", "review_cac", "review_police", "review_crypto"):
        complete(runtime, wf, r)
    complete(runtime, wf, "review_consolidate", plan_review_result=result, approved_estimate=100)


def test_two_hundred_send_backs_keep_the_tree_one_pass_deep(runtime):
    wf = admitted(runtime)
    sizes = []
    for _ in range(200):
        plan_reviewed(runtime, wf, "修改后重审")
        wf = runtime.load(runtime.dump(wf))
        sizes.append(len(wf.tasks))
    assert max(sizes) == min(sizes)
    assert names(runtime, wf) == ["write_plan"]


def test_message_is_correlated_on_budget_year(runtime):
    wf = admitted(runtime)
    plan_reviewed(runtime, wf, "通过")
    complete(runtime, wf, "submit_budget")
    complete(runtime, wf, "budget_review", budget_decision="建议安排")
    waiting = runtime.waiting(wf)
    assert (waiting.message, waiting.correlation_key) == ("annual_list_approved", "2027")
    # The 2026 list does not release a 2027 project: nothing catches it, and Spiff says so.
    with pytest.raises(ProcessError):
        runtime.deliver_message(wf, "annual_list_approved", {"on_list": True, "budget_year": 2026},
                                {"annual_list_key": {"budget_year": 2026}})
    assert runtime.waiting(wf) is not None and names(runtime, wf) == []
    runtime.deliver_message(wf, "annual_list_approved", {"on_list": True, "budget_year": 2027},
                            {"annual_list_key": {"budget_year": 2027}})
    assert names(runtime, wf) == ["consistency_request"]
    assert not [t for t in wf.get_tasks(state=TaskState.WAITING)]


LOOPING_TIMER = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://govflow.test">
  <bpmn:process id="reminder_loop" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT0.02S"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="count"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="again"><bpmn:incoming>f4</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f5</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end_completed"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="count" />
    <bpmn:sequenceFlow id="f4" sourceRef="count" targetRef="again" />
    <bpmn:sequenceFlow id="f3" sourceRef="again" targetRef="wait">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">rounds &lt; 1000</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f5" sourceRef="again" targetRef="end_completed">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">rounds &gt;= 1000</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>"""


def test_timer_steps_are_compacted_like_any_other_step():
    parser = load_parser({"loop.bpmn": LOOPING_TIMER})
    calendar = WorkCalendar()
    rt = ProcessRuntime(parser.get_spec("reminder_loop"), parser.get_subprocess_specs("reminder_loop"),
                        SandboxedScriptEngine(helpers=make_helpers(lambda: calendar)))
    wf = rt.start({"rounds": 0})
    sizes = []
    for n in range(1, 41):
        assert rt.next_timer_at(wf) is not None
        time.sleep(0.03)  # Spiff times timers by the real clock
        rt.fire_timers(wf)  # the timer fires and the loop re-enters `count`: compacted here
        assert names(rt, wf) == ["count"]
        sizes.append(len(wf.tasks))
        complete(rt, wf, "count", rounds=n)
    assert max(sizes) == min(sizes)
