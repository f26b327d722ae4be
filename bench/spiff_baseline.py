"""Benchmark (not a test): bare SpiffWorkflow on the lifecycle, no database, one completion =
load state → complete → engine steps → save state. Compares Spiff's default serializer (spec
embedded in every saved state) with govflow's state-only format (spec stored once per version).

    python bench/spiff_baseline.py
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402

from service.domain.calendar import WorkCalendar  # noqa: E402
from service.engine.helpers import make_helpers  # noqa: E402
from service.engine.runtime import ProcessRuntime  # noqa: E402
from service.engine.scripting import SandboxedScriptEngine  # noqa: E402
from service.engine.validation import load_parser  # noqa: E402

REVIEWS = ("review_bigdata", "review_cac", "review_police", "review_crypto")


def main(passes: int = 60) -> None:
    files = {p.name: p.read_bytes() for p in (ROOT / "processes").iterdir() if p.suffix in (".bpmn", ".dmn")}
    parser = load_parser(files)
    spec, subs = parser.get_spec("govflow_lifecycle"), parser.get_subprocess_specs("govflow_lifecycle")
    cal = WorkCalendar()
    runtime = ProcessRuntime(spec, subs, SandboxedScriptEngine(helpers=make_helpers(lambda: cal)))
    full = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

    def full_load(text: str):  # type: ignore[no-untyped-def]
        wf = full.deserialize_json(text)
        wf.script_engine = runtime.script_engine
        return wf

    plan = ["write_plan", *REVIEWS, "review_consolidate"]
    values = {"write_plan": {"estimate_total": 100},
              "review_consolidate": {"plan_review_result": "修改后重审", "approved_estimate": 100}}
    results = {}
    for label, load, dump in (("spiff_default_full_json", full_load, full.serialize_json),
                              ("govflow_state_only", runtime.load, runtime.dump)):
        wf = runtime.start({"budget_year": 2027})
        for name, vals in (("submit_declaration", {"participants": [], "budget_year": 2027}),
                           ("preliminary_review_finance", {}),
                           ("preliminary_review", {"preliminary_decision": "入库"})):
            (t,) = [t for t in runtime.ready_user_tasks(wf) if t.name == name]
            runtime.complete(wf, t.id, vals)
        state = dump(wf)
        n = 0
        t0 = time.perf_counter()
        for _ in range(passes):
            for name in plan:
                wf = load(state)
                (t,) = [t for t in runtime.ready_user_tasks(wf) if t.name == name]
                runtime.complete(wf, t.id, values.get(name, {}))
                state = dump(wf)
                n += 1
        elapsed = time.perf_counter() - t0
        results[label] = {"completions": n, "per_s": round(n / elapsed, 1), "state_bytes": len(state)}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
