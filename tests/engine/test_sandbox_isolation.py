"""Designer code runs in evaluator child processes with hard CPU and memory bounds that hold inside C
builtins too: real child processes, real BPMN/DMN through SpiffWorkflow."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from service.domain.calendar import WorkCalendar, parse_year_file
from service.engine import evaluator_pool
from service.engine.helpers import make_helpers
from service.engine.sandbox_compile import compile_source
from service.engine.scripting import (
    SandboxedScriptEngine,
    ScriptDataError,
    ScriptLimitError,
    ScriptSecurityError,
    explain,
)

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
# What the stop must take at most: the CPU timer fires at 0.3 s of CPU time; the wall-clock backstop
# is 2 s. Beyond this, the bound did not hold (this is not a speed measurement: see bench/).
STOPPED_WITHIN = 3.0

HUGE_STR = "len(str([[0]*10000]*10000))"  # 17 s and 300 MB of text in-process
RUNAWAYS = {
    "str_of_shared_list": "x = len(str([[0]*10000]*10000))",
    "str_of_big_strings": "x = len(str(['a'*50000000]*20))",  # peaked the server at 1.16 GB
    "sorted_shared_lists": "x = sorted([[0]*10000]*10000)",
    "join_of_a_long_string": "x = '-'.join('a' * 30000000)",
    "f_string": "x = f'{[[0]*10000]*10000}'",
    "comparison_of_shared_structures": "a = [[0]*1000000]*1000\nb = [[0]*1000000]*1000\nx = a == b",
    "list_of_enumerate": "x = list(enumerate([0]*8000000))",
}


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may linger where PID 1 does not reap)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(scope="module")
def engine() -> SandboxedScriptEngine:
    return SandboxedScriptEngine()


def _parse(bpmn: str, name: str, dmn: str | None = None) -> SpiffBpmnParser:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(bpmn.encode(), name)
    if dmn is not None:
        parser.add_dmn_str(dmn.encode(), "change_rule.dmn")
    return parser


def _script_workflow(script: str, engine: SandboxedScriptEngine, **data: Any) -> BpmnWorkflow:
    source = (FIXTURES / "script_task.bpmn").read_text(encoding="utf-8")
    parser = _parse(source.replace("SCRIPT_PLACEHOLDER", escape(script)), "script_task.bpmn")
    wf = BpmnWorkflow(parser.get_spec("script_proc"), script_engine=engine)
    wf.get_tasks(state=TaskState.READY)[0].data.update(data)
    return wf


def _stopped(wf: BpmnWorkflow) -> tuple[WorkflowTaskException, float, int]:
    rss, started = _rss(), time.perf_counter()
    with pytest.raises(WorkflowTaskException) as info:
        wf.do_engine_steps()
    return info.value, time.perf_counter() - started, _rss() - rss


def _assert_limit(err: BaseException, elapsed: float, grown: int) -> None:
    assert isinstance(err.__cause__, ScriptLimitError), repr(err.__cause__)
    assert "超时" in explain(err) or "内存" in explain(err), explain(err)
    assert elapsed < STOPPED_WITHIN, elapsed
    assert grown < 100 * MiB, grown / MiB


@pytest.mark.parametrize("script", RUNAWAYS.values(), ids=RUNAWAYS.keys())
def test_work_inside_c_builtins_is_stopped(engine: SandboxedScriptEngine, script: str) -> None:
    err, elapsed, grown = _stopped(_script_workflow(script, engine))
    _assert_limit(err, elapsed, grown)
    assert "脚本" in str(err)


def test_the_memory_case_reports_memory(engine: SandboxedScriptEngine) -> None:
    err, _, grown = _stopped(_script_workflow(RUNAWAYS["str_of_big_strings"], engine))
    assert explain(err) == "脚本内存超限（限 64 MB）"
    assert grown < 100 * MiB


def test_a_gateway_condition_is_stopped(engine: SandboxedScriptEngine) -> None:
    source = (FIXTURES / "gateway_timer.bpmn").read_text(encoding="utf-8")
    source = source.replace('decision == "通过"</bpmn:conditionExpression>',
                            f'{HUGE_STR} &gt; 0</bpmn:conditionExpression>')
    wf = BpmnWorkflow(_parse(source, "gw.bpmn").get_spec("gateway_proc"), script_engine=engine)
    wf.get_tasks(state=TaskState.READY)[0].data.update(decision="通过", submitted_on="2027-03-01")
    _assert_limit(*_stopped(wf))


def test_a_timer_expression_is_stopped(engine: SandboxedScriptEngine) -> None:
    source = (FIXTURES / "gateway_timer.bpmn").read_text(encoding="utf-8")
    timer = 'working_days_after(submitted_on, 3) + "T09:00:00+08:00"'
    assert timer in source
    source = source.replace(timer, f'"2027-03-04T09:00:00+08:00" if {HUGE_STR} else ""')
    wf = BpmnWorkflow(_parse(source, "timer.bpmn").get_spec("gateway_proc"), script_engine=engine)
    wf.get_tasks(state=TaskState.READY)[0].data.update(decision="通过", submitted_on="2027-03-01")
    _assert_limit(*_stopped(wf))


@pytest.mark.parametrize(("cell", "runaway"), [
    ('<text>"备案"</text>', f'<text>"备案" if {HUGE_STR} else ""</text>'),  # an output cell
    ("<text>&lt;= 1500</text>", f"<text>? &lt; {HUGE_STR}</text>"),  # an input cell
])
def test_a_dmn_cell_is_stopped(engine: SandboxedScriptEngine, cell: str, runaway: str) -> None:
    dmn = (FIXTURES / "change_rule.dmn").read_text(encoding="utf-8")
    assert cell in dmn
    bpmn = (FIXTURES / "decision_task.bpmn").read_text(encoding="utf-8")
    spec = _parse(bpmn, "decision_task.bpmn", dmn.replace(cell, runaway)).get_spec("decision_proc")
    wf = BpmnWorkflow(spec, script_engine=engine)
    wf.get_tasks(state=TaskState.READY)[0].data.update(within_estimate=True, change_bp=100)
    _assert_limit(*_stopped(wf))


def test_a_killed_child_is_replaced_and_the_next_evaluation_works(engine: SandboxedScriptEngine) -> None:
    pool = evaluator_pool.get_pool()
    env = engine.environment
    assert env.evaluate("len([1, 2, 3])", {}) == 3
    before, started = set(pool.live_pids()), pool.started
    with pytest.raises(ScriptLimitError):
        env.evaluate(HUGE_STR, {})
    after = set(pool.live_pids())
    assert len(before - after) == 1  # the child that ran it is gone
    for pid in before - after:
        assert not os.path.exists(f"/proc/{pid}")  # and reaped, not left a zombie
    assert env.evaluate("sum([i for i in range(10)])", {}) == 45
    assert pool.started >= started  # a new child where needed, started on demand
    assert env.evaluate("len(items)", {"items": [1, 2]}) == 2


def test_a_child_killed_from_outside_is_replaced(engine: SandboxedScriptEngine) -> None:
    env = engine.environment
    assert env.evaluate("len('ab')", {}) == 2
    for pid in evaluator_pool.get_pool().live_pids():
        os.kill(pid, 9)
    time.sleep(0.05)
    # Nothing had started in them: the request goes to a fresh child, no evaluation fails.
    assert [env.evaluate("len('abc')", {}) for _ in range(3)] == [3, 3, 3]


def test_helpers_work_local_and_calling_back_to_the_live_calendar() -> None:
    holder = {"calendar": WorkCalendar()}
    engine = SandboxedScriptEngine(helpers=make_helpers(lambda: holder["calendar"]))
    env = engine.environment
    assert env.evaluate("ceil_div(10**12 + 1, 10**6)", {}) == 1_000_001  # runs in the child
    assert env.evaluate("working_days_after(d, 1)", {"d": "2027-06-02"}) == "2027-06-03"
    assert env.evaluate("is_workday('2027-06-03')", {}) is True
    # The service reloads the calendar: the next call sees the operator's arrangement.
    cal = WorkCalendar()
    cal.load_year(parse_year_file(json.dumps({"year": 2027, "days": [
        {"name": "测试假日", "date": "2027-06-03", "isOffDay": True}]})))
    holder["calendar"] = cal
    assert env.evaluate("is_workday('2027-06-03')", {}) is False
    assert env.evaluate("working_days_after(d, 1)", {"d": "2027-06-02"}) == "2027-06-04"
    # Many calls from a loop, in a script, through the pipe.
    data: dict[str, Any] = {"d": "2027-06-01"}
    env.execute("days = [working_days_after(d, n) for n in range(1, 40)]", data)
    assert data["days"][0] == "2027-06-02" and len(data["days"]) == 39
    err = pytest.raises(ValueError, env.evaluate, "working_days_after(d, 10**6)", {"d": "2027-06-02"})
    assert "工作日数过大" in str(err.value)
    with pytest.raises(ScriptSecurityError, match="参数只能是"):
        env.evaluate("working_days_after([d], 1)", {"d": "2027-06-02"})


def test_helper_errors_keep_their_type_and_line() -> None:
    engine = SandboxedScriptEngine(helpers=make_helpers(WorkCalendar))
    wf = _script_workflow("a = 1\nb = ceil_div(a, 0)", engine)
    with pytest.raises(WorkflowTaskException) as info:
        wf.do_engine_steps()
    assert info.value.line_number == 2
    assert "ZeroDivisionError: 除数不能为 0" in str(info.value)


def test_script_errors_come_back_with_type_and_line(engine: SandboxedScriptEngine) -> None:
    wf = _script_workflow("x = 1\ny = items['missing']", engine, items={})
    with pytest.raises(WorkflowTaskException) as info:
        wf.do_engine_steps()
    assert info.value.line_number == 2
    assert isinstance(info.value.__cause__, KeyError)
    assert "KeyError: 'missing'" in str(info.value)


def test_results_are_bounded_and_json(engine: SandboxedScriptEngine) -> None:
    with pytest.raises(ScriptLimitError, match="脚本结果过大"):
        engine.environment.execute("x = 'a' * (3 * 1024 * 1024)", {})
    with pytest.raises(ScriptDataError):
        engine.environment.execute("x = 1", {"when": dt.date(2027, 1, 1)})


def test_threads_evaluate_at_once(engine: SandboxedScriptEngine) -> None:
    env = engine.environment
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(30):
                data: dict[str, Any] = {"k": k, "i": i}
                env.execute("total = sum([k * 1000 + i for j in range(3)])", data)
                assert data["total"] == 3 * (k * 1000 + i)
                assert env.evaluate("[k, i]", {"k": k, "i": i}) == [k, i]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_others_are_served_while_a_runaway_is_stopped(engine: SandboxedScriptEngine) -> None:
    env = engine.environment
    env.evaluate("len('warm')", {})
    done: dict[str, float] = {}

    def runaway() -> None:
        try:
            env.evaluate(HUGE_STR, {})
        except ScriptLimitError:
            done["runaway"] = time.perf_counter()

    t = threading.Thread(target=runaway)
    t.start()
    time.sleep(0.05)  # let it take a child
    for i in range(20):
        assert env.evaluate("len(s) + 1", {"s": "x" * i}) == i + 1
    done["others"] = time.perf_counter()
    t.join()
    assert "runaway" in done  # it was stopped with the limit error ...
    assert done["others"] < done["runaway"]  # ... and the others finished while it was running


def test_cheap_expressions_stay_in_process_and_the_rest_does_not() -> None:
    for source in ['decision == "通过"', 'annual_list["on_list"] == True', "dmninputexpr > 1500",
                   'change_reason in ("a", "b")', "not approved", "x is None or 3 < x <= 5", "budget_year",
                   '"PT1S"', "-1 < x", "-x"]:
        assert compile_source(source, "eval").inline, source
    for source in ["len(x) > 0", "a == b", "x[1:]", "x.count(1)", "[i for i in x]", "x * 2 == 4",
                   "1 in x", f"x == {'1' * 30}", "x == 'a' * 1000", "(lambda: 1)()", 'f"{x}" == ""',
                   "x if y else z", "x == [[1]]", "x in {1, 2}", "sorted(x) == [1]"]:
        assert not compile_source(source, "eval").inline, source


def test_a_forked_process_gets_its_own_pool(engine: SandboxedScriptEngine) -> None:
    env = engine.environment
    assert env.evaluate("len('abc')", {}) == 3
    parent_pool = evaluator_pool.get_pool()
    pid = os.fork()
    if pid == 0:  # the forked process: must not use the parent's children
        code = 1
        try:
            pool = evaluator_pool.get_pool()
            ok = pool is not parent_pool and env.evaluate("len('abcd')", {}) == 4
            ok = ok and set(pool.live_pids()).isdisjoint(parent_pool.live_pids())
            code = 0 if ok else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert env.evaluate("len('ab')", {}) == 2  # the parent's pool still works


def test_children_exit_when_the_service_process_dies() -> None:
    program = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from service.engine.scripting import SandboxedScriptEngine
        from service.engine import evaluator_pool
        import threading
        env = SandboxedScriptEngine().environment
        ts = [threading.Thread(target=env.evaluate, args=("len([1])", {{}})) for _ in range(3)]
        [t.start() for t in ts]; [t.join() for t in ts]
        print(" ".join(map(str, evaluator_pool.get_pool().live_pids())), flush=True)
        os.kill(os.getpid(), 9)  # no atexit, no cleanup: as if the server crashed
    """)
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    pids = [int(p) for p in out.stdout.split()]
    assert pids, out.stderr
    deadline = time.monotonic() + 10
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        for p in list(alive):
            if not _running(p):
                alive.discard(p)
        time.sleep(0.05)
    assert not alive  # they saw end of file on their pipe and left
