"""Moving a running instance from one deployed version of its process to another.

govflow saves only the task tree (service/engine/state.py); every task names its spec by id.
An instance can move to version M when M can carry its tree on:

- every task the instance has reached (done, active, or scheduled below a finished task) names an
  element that exists in M with the same id and of the same kind;
- every active user task keeps its lane and its form, so the open work item (its unit, its form,
  the typed draft) stays what it was;
- no multi-instance task (会签) is half done and no call activity is running: their inner tasks
  are tied to the version that created them.

The not-yet-reached part below each active task is not M's: it is dropped and predicted again
from M, exactly as SpiffWorkflow predicts a new workflow from its start (mask NOT_FINISHED), so
the instance continues on M's flows after its current step."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from service.engine.runtime import ProcessRuntime

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
NOT_REACHED = TaskState.FUTURE | TaskState.LIKELY | TaskState.MAYBE
# The engine's own bookkeeping specs: every version has them.
_ENGINE_SPECS = frozenset({"Start", "End", "Root"})


@dataclass(frozen=True)
class Verdict:
    safe: bool
    reasons: list[str] = field(default_factory=list)
    active: list[str] = field(default_factory=list)  # element ids of the active tasks


def _label(runtime: ProcessRuntime, name: str) -> str:
    spec = runtime.spec.task_specs.get(name)
    title = getattr(spec, "bpmn_name", None) if spec is not None else None
    return f"「{title}」（{name}）" if title else name


def _dropped_below_active(tasks: dict[str, dict[str, Any]]) -> set[str]:
    """Ids of not-yet-reached tasks under an active task, with everything below them."""
    dropped: set[str] = set()
    stack = [cid for t in tasks.values() if t["state"] & ACTIVE for cid in t["children"]
             if cid in tasks and tasks[cid]["state"] & NOT_REACHED]
    while stack:
        tid = stack.pop()
        if tid in dropped:
            continue
        dropped.add(tid)
        stack.extend(c for c in tasks[tid]["children"] if c in tasks)
    return dropped


def check(state: str, source: ProcessRuntime, target: ProcessRuntime, target_version: int) -> Verdict:
    """Whether the saved `state` (made by `source`) can continue on `target`, and why not."""
    dct = json.loads(state)
    tasks: dict[str, dict[str, Any]] = dct["tasks"]
    reasons: list[str] = []
    if dct.get("subprocesses"):
        reasons.append("实例中有运行中的子流程（调用活动），其内部任务属于原版本，暂不能迁移")
    dropped = _dropped_below_active(tasks)
    active = sorted({t["task_spec"] for t in tasks.values() if t["state"] & ACTIVE} - _ENGINE_SPECS)
    seen: set[str] = set()
    for tid, task in tasks.items():
        name = task["task_spec"]
        if tid in dropped or name in seen:
            continue
        seen.add(name)
        old, new = source.spec.task_specs.get(name), target.spec.task_specs.get(name)
        is_active = bool(task["state"] & ACTIVE)
        if new is None:
            what = "活动环节" if is_active else "已办理或已排定的环节"
            reasons.append(f"{what}{_label(source, name)} 在版本 v{target_version} 中不存在")
            continue
        if old is not None and type(old) is not type(new):
            reasons.append(f"环节{_label(source, name)} 的类型在版本 v{target_version} 中由 "
                           f"{type(old).__name__} 变为 {type(new).__name__}")
            continue
        if is_active and isinstance(new, MultiInstanceTask):
            reasons.append(f"环节{_label(source, name)} 是多实例（会签）任务且正在办理，请在其办结后再迁移")
        if is_active and old is not None and getattr(old, "manual", False):
            if getattr(old, "lane", None) != getattr(new, "lane", None):
                reasons.append(f"活动环节{_label(source, name)} 的泳道在版本 v{target_version} 中由 "
                               f"{old.lane} 变为 {new.lane}（待办单位会改变）")
            old_form = source.task_properties(name).get("form")
            new_form = target.task_properties(name).get("form")
            if old_form != new_form:
                reasons.append(f"活动环节{_label(source, name)} 的表单在版本 v{target_version} 中由 "
                               f"{old_form} 变为 {new_form}（已填写的暂存会失效）")
    return Verdict(not reasons, reasons, active)


def migrate(state: str, target: ProcessRuntime) -> BpmnWorkflow:
    """The instance on `target`'s spec; call only after `check` said it is safe."""
    dct = json.loads(state)
    tasks: dict[str, dict[str, Any]] = dct["tasks"]
    dropped = _dropped_below_active(tasks)
    for tid in dropped:
        del tasks[tid]
    for task in tasks.values():
        task["children"] = [c for c in task["children"] if c not in dropped]
    wf = target.load(json.dumps(dct, ensure_ascii=False, separators=(",", ":")))
    for task in list(wf.tasks.values()):
        if task.state & ACTIVE and not isinstance(task.task_spec, MultiInstanceTask):
            task.task_spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)
    return wf
