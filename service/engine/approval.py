"""Approval modes of multi-instance user tasks (会签 / 比例会签 / 或签 / 依次), docs/approval-actions.md.

A multi-instance user task declares its mode in the extension property `approval_mode`:

    all          会签: every instance must agree; the first objection decides (有异议)
    ratio:P/Q    比例会签: passes once agreements reach P/Q of the instances; fails once they no longer can
    any          或签: the first decision decides, the other instances are cancelled
    sequential   依次: one instance after another (isSequential), all must agree, an objection stops the chain

Before an instance runs, the runtime puts the tally of its node (this decision included) into the
instance's data as `approval_total`, `approval_decided`, `approval_agreed`, `approval_objected`, and
the outcome (通过 / 有异议, or None while undecided) under the name in `approval_result`. The
BPMN `completionCondition` reads the tally (Spiff evaluates it on the instance that just completed),
and must be the one this module derives from the mode: validation refuses a model whose mode,
condition and isSequential disagree, so the diagram says what the engine does.

Nothing here imports SpiffWorkflow: the runtime and validation both use it."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

MODE_PROPERTY = "approval_mode"
# The form field that carries each instance's decision, and its agreeing value.
FIELD_PROPERTY = "approval_field"
DEFAULT_FIELD = "confirmation"
AGREE_VALUE = "同意"
# The variable the gateway after the node reads.
RESULT_PROPERTY = "approval_result"
DEFAULT_RESULT = "confirmation_result"
PASSED = "通过"
OBJECTED = "有异议"

TALLY_VARIABLES = ("approval_total", "approval_decided", "approval_agreed", "approval_objected")

_RATIO = re.compile(r"ratio:(\d{1,3})/(\d{1,3})")


class ApprovalModeError(ValueError):
    """A mode text that is not one of the four; the message is for designers (zh-CN)."""


@dataclass(frozen=True)
class ApprovalMode:
    kind: str  # all | ratio | any | sequential
    numerator: int = 1
    denominator: int = 1

    @property
    def text(self) -> str:
        return f"ratio:{self.numerator}/{self.denominator}" if self.kind == "ratio" else self.kind

    @property
    def label(self) -> str:
        return {"all": "会签", "ratio": f"会签（{self.numerator}/{self.denominator} 同意即通过）",
                "any": "或签", "sequential": "依次审批"}[self.kind]

    @property
    def sequential(self) -> bool:
        return self.kind == "sequential"

    @property
    def condition(self) -> str:
        """The completionCondition the BPMN must carry for this mode."""
        if self.kind == "any":
            return "approval_decided >= 1"
        if self.kind == "ratio":
            p, q = self.numerator, self.denominator
            return (f"approval_agreed * {q} >= approval_total * {p} or "
                    f"(approval_total - approval_objected) * {q} < approval_total * {p}")
        return "approval_objected > 0"


def parse_mode(text: str | None) -> ApprovalMode:
    value = (text or "").strip()
    if value in ("all", "any", "sequential"):
        return ApprovalMode(value)
    match = _RATIO.fullmatch(value)
    if match:
        p, q = int(match.group(1)), int(match.group(2))
        if 0 < p <= q:
            return ApprovalMode("ratio", p, q)
        raise ApprovalModeError(f"比例 {p}/{q} 无效：须满足 0 < 分子 ≤ 分母（如 ratio:2/3）")
    raise ApprovalModeError(f"审批方式 {value!r} 无效：应为 all（会签）、ratio:分子/分母（比例会签，如 ratio:2/3）、"
                            "any（或签）或 sequential（依次审批）")


def same_condition(a: str | None, b: str) -> bool:
    """Equal as Python expressions (spacing and redundant parentheses do not matter)."""
    try:
        return ast.dump(ast.parse((a or "").strip(), mode="eval")) == ast.dump(ast.parse(b, mode="eval"))
    except SyntaxError:
        return False


@dataclass(frozen=True)
class Tally:
    mode: ApprovalMode
    total: int
    decided: int
    agreed: int

    @property
    def objected(self) -> int:
        return self.decided - self.agreed

    @property
    def result(self) -> str | None:
        """通过 / 有异议 once the node is decided, else None. Mirrors `ApprovalMode.condition`."""
        m, total = self.mode, self.total
        if m.kind == "any":
            if self.decided == 0:
                return None
            return PASSED if self.agreed > 0 else OBJECTED
        if m.kind == "ratio":
            if self.agreed * m.denominator >= total * m.numerator:
                return PASSED
            if (total - self.objected) * m.denominator < total * m.numerator:
                return OBJECTED
            return None
        if self.objected > 0:
            return OBJECTED
        return PASSED if self.decided >= total else None

    def variables(self, result_name: str) -> dict[str, Any]:
        return {"approval_total": self.total, "approval_decided": self.decided, "approval_agreed": self.agreed,
                "approval_objected": self.objected, result_name: self.result}

    def summary(self) -> str:
        """What the task page says, e.g. 会签：3 家中已有 2 家同意."""
        m = self.mode
        if m.kind == "any":
            head = "或签：任一家决定即可"
            return head if self.decided == 0 else f"{head}，已由 1 家作出决定（{self.result}）"
        if m.kind == "sequential":
            position = min(self.decided + 1, self.total)
            done = self.result is not None
            text = f"依次：第 {position} 家，共 {self.total} 家" if not done else f"依次：共 {self.total} 家"
            return f"{text}，已有 {self.agreed} 家同意" + (f"（{self.result}）" if done else "")
        text = f"{m.label}：{self.total} 家中已有 {self.agreed} 家同意"
        if self.objected:
            text += f"，{self.objected} 家有异议"
        if m.kind == "ratio":
            needed = -(-self.total * m.numerator // m.denominator)
            text += f"（需 {needed} 家同意）"
        return text + (f"，结果：{self.result}" if self.result else "")

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode.text, "label": self.mode.label, "total": self.total, "decided": self.decided,
                "agreed": self.agreed, "objected": self.objected, "result": self.result, "summary": self.summary()}


def is_agreement(value: Any) -> bool:
    return value == AGREE_VALUE
