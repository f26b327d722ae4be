"""What the 年度清单 page reads: a budget year's window, its lists (main and 追加) and the projects
waiting at 项目批准 with 预算评审's proposals; what the caller may do with them."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.domain.access import (
    GOVERNMENT_UNIT,
    LIST_COMPILER_UNIT,
    LIST_COSIGNER_UNIT,
    WORKER_ROLES,
    Actor,
    require_list_reader,
)
from service.operations import annual_list
from service.operations.budget_arrangement import window_view
from service.operations.context import Govflow
from service.operations.people import name_of
from service.storage.models import AnnualList, DeclarationWindow, Project


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _person(session: Any, username: str | None) -> str | None:
    return name_of(session, username) if username else None


def _may(actor: Actor, unit: str) -> bool:
    return "system" in actor.roles or (actor.unit == unit and bool(actor.roles & WORKER_ROLES))


def year_overview(ctx: Govflow, budget_year: int, actor: Actor) -> dict[str, Any]:
    require_list_reader(actor)
    with ctx.db.session() as s:
        window = s.get(DeclarationWindow, budget_year)
        lists = list(s.scalars(select(AnnualList).where(AnnualList.budget_year == budget_year)
                               .order_by(AnnualList.seq)))
        waiting = annual_list.waiting_instances(s, budget_year)
        ids = {i.project_id for i in waiting} | {e["project_id"] for row in lists for e in row.entries}
        projects = {p.id: p for p in s.scalars(select(Project).where(Project.id.in_(ids)))} if ids else {}
        proposed = annual_list.proposals(s, sorted(i.project_id for i in waiting))
        open_row = next((r for r in lists if r.status in annual_list.OPEN), None)
        in_open = {e["project_id"] for e in open_row.entries} if open_row else set()

        def project_info(pid: int) -> dict[str, Any]:
            p = projects.get(pid)
            if p is None:
                return {"project_id": pid}
            return {"project_id": pid, "code": p.code, "name": p.name, "unit": p.unit.name,
                    "is_urgent": p.is_urgent, "urgent_basis": p.urgent_basis, "status": p.status,
                    "outcome": p.outcome, "estimate": float(p.estimate) if p.estimate is not None else None}

        def list_view(row: AnnualList) -> dict[str, Any]:
            approved = {e["project_id"]: e for e in row.approved_entries or []}
            entries = []
            for e in sorted(row.entries, key=lambda e: (e.get("priority") or 1000, e["project_id"])):
                a = approved.get(e["project_id"])
                entries.append({**project_info(e["project_id"]), "proposed": e.get("proposed"),
                                "priority": e.get("priority"), "remark": e.get("remark"),
                                "approved_amount": a["amount"] if a else None, "reason": a["reason"] if a else None,
                                "on_list": (a is not None) if row.status == "approved" else None})
            return {"id": row.id, "budget_year": row.budget_year, "seq": row.seq,
                    "kind": "main" if row.seq == 1 else "supplementary",
                    "title": "项目建议清单" if row.seq == 1 else f"第 {row.seq - 1} 批追加清单",
                    "status": row.status, "revision": row.revision, "note": row.note, "entries": entries,
                    "proposed_total": round(sum(e.get("proposed") or 0 for e in row.entries), 2),
                    "approved_total": round(sum(e["amount"] for e in row.approved_entries or []), 2)
                    if row.approved_entries is not None else None,
                    "compiled_by": row.compiled_by, "compiled_by_name": _person(s, row.compiled_by),
                    "compiled_at": _iso(row.compiled_at),
                    "cosigned_by": row.cosigned_by, "cosigned_by_name": _person(s, row.cosigned_by),
                    "cosigned_at": _iso(row.cosigned_at), "cosign_opinion": row.cosign_opinion,
                    "returned_reason": row.returned_reason, "document_no": row.document_no,
                    "approved_by": row.approved_by, "approved_by_name": _person(s, row.approved_by),
                    "approved_at": _iso(row.approved_at)}

        rows = [{**project_info(i.project_id), "proposed": proposed.get(i.project_id),
                 "in_open_list": i.project_id in in_open} for i in waiting]
        government = actor.unit == GOVERNMENT_UNIT or bool(actor.roles & {"admin", "system"})
        arranged = window is not None and window.budget_arranged_at is not None
        return {
            "budget_year": budget_year,
            "window": window_view(window) if window is not None else None,
            "budget_arranged": arranged,
            "lists": [list_view(r) for r in lists],
            "open_list_id": open_row.id if open_row else None,
            "waiting": rows,
            "waiting_proposed_total": round(sum(r["proposed"] or 0 for r in rows), 2),
            "can_compile": _may(actor, LIST_COMPILER_UNIT) and (open_row is None or open_row.status == "draft"),
            "can_cosign": _may(actor, LIST_COSIGNER_UNIT) and open_row is not None and open_row.status == "draft",
            "can_approve": government and open_row is not None and open_row.status == "cosigned",
            "can_send_back": open_row is not None and (
                (_may(actor, LIST_COSIGNER_UNIT)) or (government and open_row.status == "cosigned")),
            "can_manage_window": bool(actor.roles & {"supervisor", "admin", "system"}),
        }
