"""Drive projects through the lifecycle as the right departments would: used by the demo, the
end-to-end tests and the benchmarks. Each answer is the form's own example with the routing values
the caller chooses."""
from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from service.domain.access import Actor
from service.operations import projects, tasks
from service.operations.context import Govflow
from service.storage.models import WorkItem

# Values that keep a project on the happy path, per form (engine fields only).
HAPPY: dict[str, dict[str, Any]] = {
    "preliminary_review": {"preliminary_decision": "入库"},
    "plan_review_conclusion": {"plan_review_result": "通过"},
    "budget_review": {"budget_decision": "建议安排"},
    "consistency_request": {"procurement_action": "申请一致性审核"},
    "consistency_review": {"consistency_result": "通过"},
    "construction_progress": {"construction_action": "申请竣工验收"},
    "acceptance_review": {"acceptance_review_result": "同意组织验收"},
    "acceptance": {"acceptance_conclusion": "通过"},
    "evaluation_selection": {"selected_for_evaluation": True},
}


# A total and the rows it must equal (cross-field rules declaration_estimate_sum, plan_estimate_sum).
BREAKDOWNS: dict[str, list[tuple[str, str]]] = {
    "declaration": [("investment_estimate", "investment_breakdown")],
    "construction_plan": [("estimate_total", "estimate_items")],
}


def _balance(data: dict[str, Any], total: str, rows: str) -> None:
    """A caller who changes only the total gets the example's rows adjusted to it, as a unit would
    revise its breakdown: the difference goes to the first row, or one row carries it all."""
    items = data.get(rows)
    if not isinstance(items, list) or not items or not isinstance(data.get(total), (int, float)):
        return
    rest = sum(Decimal(str(r["amount"])) for r in items[1:])
    first = Decimal(str(data[total])) - rest
    if first >= 0:
        items[0]["amount"] = float(first)
    else:
        data[rows] = [{**items[0], "amount": data[total]}]


def worker(unit: str) -> Actor:
    return Actor(f"{unit}经办人", unit, frozenset({"department"}))


class Driver:
    def __init__(self, ctx: Govflow, actor_of: Callable[[str], Actor] = worker) -> None:
        self.ctx = ctx
        # Who acts for a unit: a made-up 经办人 by default; the demo passes its logins (demo_projects).
        self.actor_of = actor_of
        # Time spent inside the service layer (declare/complete), for benchmarks.
        self.service_seconds = 0.0

    def _timed(self, fn: Callable[..., Any], *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.service_seconds += time.perf_counter() - t0

    def answer(self, form: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        schema = self.ctx.forms.get(form).schema
        data = copy.deepcopy(schema["examples"][0])
        data.update(HAPPY.get(form, {}))
        if overrides:
            data.update(overrides)
            for key, value in overrides.items():
                if value is None:
                    data.pop(key, None)
            for total, rows in BREAKDOWNS.get(form, []):
                if total in overrides and rows not in overrides:
                    _balance(data, total, rows)
        return data

    def declare(self, unit: str, **overrides: Any) -> projects.Declared:
        return self._timed(projects.declare, self.ctx, self.answer("declaration", overrides),
                           self.actor_of(unit))

    def open_items(self, project_id: int) -> list[WorkItem]:
        return tasks.open_items(self.ctx, project_id)

    def item(self, project_id: int, task_name: str) -> WorkItem:
        for w in self.open_items(project_id):
            if w.task_name == task_name:
                return w
        names = [w.task_name for w in self.open_items(project_id)]
        raise LookupError(f"{task_name} is not open for project {project_id}; open: {names}")

    def complete(self, project_id: int, task_name: str, **overrides: Any) -> tasks.Completion:
        item = self.item(project_id, task_name)
        return self._timed(tasks.complete, self.ctx, item.id, self.answer(item.form, overrides),
                           self.actor_of(item.unit.name))

    def run(self, project_id: int, *, until: str | None = None,
            answers: Mapping[str, list[dict[str, Any]]] | None = None,
            on_step: Callable[[WorkItem, tasks.Completion], None] | None = None, max_steps: int = 10_000) -> int:
        """Complete open tasks in order until none is open (or `until` is open). `answers` gives
        per-task override lists consumed one per occurrence. Returns the number of completions."""
        queue = {k: list(v) for k, v in (answers or {}).items()}
        done = 0
        while done < max_steps:
            items = self.open_items(project_id)
            if not items or (until and any(w.task_name == until for w in items)):
                return done
            item = items[0]
            overrides = queue[item.task_name].pop(0) if queue.get(item.task_name) else {}
            result = self._timed(tasks.complete, self.ctx, item.id, self.answer(item.form, overrides),
                                 self.actor_of(item.unit.name))
            done += 1
            if on_step:
                on_step(item, result)
        raise RuntimeError("too many steps")
