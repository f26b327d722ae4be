"""Benchmark (not a test): plain SpiffWorkflow 3.2 on govflow's lifecycle, no database, no govflow
runtime — the baseline the service is compared with (docs/performance.md).

What it measures: N projects (no 参建单位), each driven through every user task of the lifecycle,
the annual-list message included, with nothing but Spiff's own API: `SpiffBpmnParser`, Spiff's
`PythonScriptEngine` (its TaskDataEnvironment given the working-day helpers the BPMN calls),
`task.data.update(); task.run(); wf.do_engine_steps()`, and Spiff's default serializer, which
embeds the spec in every saved state. One completion = load state → complete → engine steps →
save state, as a service that keeps no workflow in memory would do. A second row runs the same
walk through govflow's ProcessRuntime (sandboxed scripts, state-only format with the spec cached,
loop compaction) for comparison. Completions/s are printed with the machine's load average.

    python bench/spiff_baseline.py [--projects 10]
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment  # noqa: E402
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.util.event import BpmnEvent  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from service.domain.calendar import WorkCalendar  # noqa: E402
from service.engine.helpers import make_helpers  # noqa: E402
from service.scenario import HAPPY  # noqa: E402

PROCESS = "govflow_lifecycle"
YEAR = 2027


def examples() -> dict[str, dict[str, Any]]:
    out = {}
    for path in (ROOT / "forms").glob("*.json"):
        schema = json.loads(path.read_text())
        if schema.get("examples"):
            out[path.stem] = schema["examples"][0]
    return out


def answer(task: Any, forms: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The engine values of a user task: its declared `outputs`, from the form's example with the
    happy-path routing values (what govflow would pass; the form itself stays out of the engine)."""
    props = (task.task_spec.extensions or {}).get("properties", {})
    form = props.get("form", "")
    data = copy.deepcopy(forms.get(form, {}))
    data.update(HAPPY.get(form, {}))
    if task.task_spec.bpmn_id == "submit_declaration":
        data.update({"participants": [], "budget_year": YEAR})
        return {k: data.get(k) for k in ("project_name", "budget_year", "participants", "is_urgent",
                                          "investment_estimate")} | _outputs(props, data)
    return _outputs(props, data)


def _outputs(props: dict[str, str], data: dict[str, Any]) -> dict[str, Any]:
    names = [n.strip() for n in props.get("outputs", "").split(",") if n.strip()]
    return {n: data[n] for n in names if n in data}


def walk(n_projects: int, load: Any, dump: Any, start: Any, deliver: Any,
         forms: dict[str, dict[str, Any]]) -> dict[str, Any]:
    completions = 0
    elapsed = 0.0
    size = 0
    for i in range(n_projects):
        t0 = time.perf_counter()
        state = dump(start({"project_id": i + 1, "project_code": f"DY{YEAR}-{i + 1:05d}", "budget_year": YEAR,
                            "unit": "市教育局"}))
        elapsed += time.perf_counter() - t0
        delivered = False
        while True:
            t0 = time.perf_counter()
            wf = load(state)
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                if wf.completed or delivered:
                    elapsed += time.perf_counter() - t0
                    break
                deliver(wf)  # the annual list: every project is on it
                delivered = True
            else:
                task = ready[0]
                task.data.update(answer(task, forms))
                task.run()
                wf.do_engine_steps()
                completions += 1
            state = dump(wf)
            elapsed += time.perf_counter() - t0
            size = max(size, len(state))
    return {"completions": completions, "per_s": round(completions / elapsed, 1), "max_state_bytes": size}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--projects", type=int, default=10)
    args = ap.parse_args()
    forms = examples()
    files = sorted(p for p in (ROOT / "processes").iterdir() if p.suffix in (".bpmn", ".dmn"))
    cal = WorkCalendar()
    helpers = make_helpers(lambda: cal)

    # -- plain SpiffWorkflow -------------------------------------------------------------------
    parser = SpiffBpmnParser()
    parser.add_bpmn_files([str(p) for p in files if p.suffix == ".bpmn"])
    parser.add_dmn_files([str(p) for p in files if p.suffix == ".dmn"])
    spec, subs = parser.get_spec(PROCESS), parser.get_subprocess_specs(PROCESS)
    engine = PythonScriptEngine(environment=TaskDataEnvironment(dict(helpers)))
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

    def spiff_start(data: dict[str, Any]) -> BpmnWorkflow:
        wf = BpmnWorkflow(spec, subs, script_engine=engine)
        wf.data.update(data)
        wf.get_tasks(state=TaskState.READY)[0].data.update(data)
        wf.do_engine_steps()
        return wf

    def spiff_load(text: str) -> BpmnWorkflow:
        wf = serializer.deserialize_json(text)
        wf.script_engine = engine
        return wf

    def spiff_deliver(wf: BpmnWorkflow) -> None:
        wf.send_event(BpmnEvent(MessageEventDefinition("annual_list_approved"),
                                payload={"on_list": True, "approved_amount": 100.0, "document_no": "东政字〔2026〕1号",
                                         "budget_year": YEAR, "list_seq": 1},
                                correlations={"annual_list_key": {"budget_year": YEAR}}))
        wf.do_engine_steps()

    results: dict[str, Any] = {"loadavg_before": [round(x, 2) for x in os.getloadavg()]}
    results["plain_spiff_default_serializer"] = walk(args.projects, spiff_load, serializer.serialize_json,
                                                     spiff_start, spiff_deliver, forms)

    # -- govflow's runtime, for comparison ---------------------------------------------------------
    from service.engine.runtime import ProcessRuntime
    from service.engine.scripting import SandboxedScriptEngine
    from service.engine.validation import load_parser

    gparser = load_parser({p.name: p.read_bytes() for p in files})
    runtime = ProcessRuntime(gparser.get_spec(PROCESS), gparser.get_subprocess_specs(PROCESS),
                             SandboxedScriptEngine(helpers=helpers))

    def gov_deliver(wf: BpmnWorkflow) -> None:
        runtime.deliver_message(wf, "annual_list_approved",
                                {"on_list": True, "approved_amount": 100.0, "document_no": "东政字〔2026〕1号",
                                 "budget_year": YEAR, "list_seq": 1}, {"annual_list_key": {"budget_year": YEAR}})

    results["govflow_runtime_state_only"] = walk(args.projects, runtime.load, runtime.dump, runtime.start,
                                                 gov_deliver, forms)
    results["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
