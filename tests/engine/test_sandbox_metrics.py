"""govflow_sandbox_stops_total counts each sandboxed evaluation the evaluator pool stops (its child
killed), by reason; evaluations that end normally, or with the script's own error, are not stops."""
from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from service.engine.sandbox_errors import ScriptLimitError
from service.engine.scripting import SandboxedScriptEngine
from tests.engine.test_sandbox_isolation import HUGE_STR


def stops(reason: str) -> float:
    return REGISTRY.get_sample_value("govflow_sandbox_stops_total", {"reason": reason}) or 0.0


def test_a_stopped_evaluation_is_counted_once() -> None:
    env = SandboxedScriptEngine().environment
    assert env.evaluate("len([1, 2, 3])", {}) == 3
    before = {r: stops(r) for r in ("cpu_time", "wall_time", "killed", "result", "protocol")}
    with pytest.raises(ScriptLimitError):
        env.evaluate(HUGE_STR, {})
    after = {r: stops(r) for r in before}
    assert sum(after.values()) == sum(before.values()) + 1
    with pytest.raises(Exception):  # noqa: B017 - the script's own error: not a stop
        env.evaluate("1 // 0", {})
    assert env.evaluate("sum([i for i in range(10)])", {}) == 45
    assert {r: stops(r) for r in before} == after
