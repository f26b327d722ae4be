"""Suspended projects (暂停建设 第十四条, 暂停运行 第二十六条): the words and the refusal, as pure rules.

A suspended project's open tasks stand still: nothing moves its process (completion, 退回, 撤回, a
timer) until 市大数据局 resumes it, and its clocks do not run (service.operations.suspension)."""
from __future__ import annotations

from service.domain.errors import RuleViolation

CONSTRUCTION, OPERATION = "construction", "operation"
# kind → (label, article)
KINDS = {CONSTRUCTION: ("暂停建设", "第十四条"), OPERATION: ("暂停运行", "第二十六条")}


def label(kind: str | None) -> str | None:
    return KINDS[kind][0] if kind in KINDS else None


def article(kind: str) -> str:
    return KINDS[kind][1]


def refusal(kind: str) -> RuleViolation:
    name, art = KINDS.get(kind, ("暂停", "第十四条"))
    return RuleViolation(f"项目已{name}（{art}），其待办任务暂停办理，须待市大数据局恢复后再办理", article=art)


def require_not_suspended(kind: str | None) -> None:
    """`kind` is projects.suspension: None while the project runs."""
    if kind:
        raise refusal(kind)
