"""Cross-field rules of the measures that a JSON Schema cannot say: a total and its rows, a budget
and the reviewed estimate, two dates, a date and an earlier step of the project (docs/cross-field-rules.md).

Each rule is a pure function of (form data, RuleContext) returning field-located errors that cite the
article. A form names the rules it runs in its root `x-rules` list (forms/README.md), so designers see
them beside the fields; an id not in RULES is refused when the form is loaded or saved. Rules run
after the schema validated, so the fields they read have their declared types."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from service.domain.errors import FieldError, ValidationFailed

RULES_KEY = "x-rules"


@dataclass(frozen=True)
class RuleContext:
    """What a rule may know beyond the form: the project's earlier steps, read by the service."""

    # Newest completed form data per BPMN task id, and the Beijing date of that completion.
    history: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    completed_on: Mapping[str, dt.date] = field(default_factory=dict)
    # 第十三条: the total investment before this change (审定投资概算, or the new total of the last
    # change that took effect) and the amounts of earlier changes the unit filed (备案) by itself.
    change_base_total: Decimal | None = None
    filed_change_amount: Decimal = Decimal(0)


@dataclass(frozen=True)
class RuleError:
    path: str
    message: str
    article: str


@dataclass(frozen=True)
class Rule:
    id: str
    article: str
    title: str  # zh-CN, shown in the docs and to designers
    check: Callable[[Mapping[str, Any], RuleContext], list[RuleError]]
    # Reads the project's earlier steps (RuleContext): without such a rule the service skips
    # reading them, a query that grows with the project's age.
    reads_history: bool = False


class CrossFieldRefused(ValidationFailed):
    """422 like every form error (errors: [{path, message}]), with the article and field of the first."""

    def __init__(self, errors: list[RuleError]) -> None:
        super().__init__([FieldError(e.path, e.message) for e in errors], message=errors[0].message)
        self.article = errors[0].article
        self.field = errors[0].path


def money(value: Any) -> Decimal:
    # str() first: Decimal(0.07) is 0.0700000000000000066…, Decimal("0.07") is the cent amount typed.
    return Decimal(str(value)) if value is not None else Decimal(0)


def _wan(value: Decimal) -> str:
    return f"{value:.2f} 万元"


def _sum_rule(total: str, rows: str, total_label: str, row_label: str, article: str
              ) -> Callable[[Mapping[str, Any], RuleContext], list[RuleError]]:
    def check(data: Mapping[str, Any], _: RuleContext) -> list[RuleError]:
        if total not in data or not isinstance(data.get(rows), list):
            return []
        items = sum((money(r.get("amount")) for r in data[rows] if isinstance(r, Mapping)), Decimal(0))
        declared = money(data[total])
        if declared == items:
            return []
        return [RuleError(total, f"{total_label}：{_wan(declared)}与{row_label}合计 {_wan(items)}不一致，"
                                 f"应等于各项之和（{article}）", article)]
    return check


def _budget_within_estimate(data: Mapping[str, Any], ctx: RuleContext) -> list[RuleError]:
    approved = ctx.history.get("review_consolidate", {}).get("approved_estimate")
    if approved is None or "budget_amount" not in data:
        return []
    amount, ceiling = money(data["budget_amount"]), money(approved)
    if amount <= ceiling:
        return []
    return [RuleError("budget_amount", f"申请预算金额：{_wan(amount)}超过方案评审审定投资概算 {_wan(ceiling)}，"
                                       "应报送通过评审的预算，不得超出审定概算（第七条(四)）", "第七条(四)")]


# (field, value that is not compliant, what it means, article) — 第十八至二十一条.
_CHAPTER_4: list[tuple[str, Any, str, str]] = [
    ("uses_gov_cloud", False, "未依托市政务云部署", "第十八条"),
    ("gov_extranet", False, "未依托市政务外网", "第十八条"),
    ("big_data_platform", False, "未依托市一体化大数据平台", "第十八条"),
    ("city_brain", False, "未接入“城市大脑”平台", "第十八条"),
    ("cloud_native", False, "未采用云原生技术", "第十八条"),
    ("ipv6", False, "未支持IPv6", "第十八条"),
    ("ai_on_gov_cloud", "其他方式", "人工智能应用未基于政务云建设", "第十八条"),
    ("mobile_channel", "自建移动端", "自建移动端渠道", "第二十条"),
    ("xinchuang", False, "未采用信创技术和产品", "第二十一条"),
    ("emergency_plan", False, "未制定应急处置预案", "第二十一条"),
]


def _chapter_4_explained(data: Mapping[str, Any], _: RuleContext) -> list[RuleError]:
    found = [(what, article) for name, bad, what, article in _CHAPTER_4 if name in data and data[name] == bad]
    if not found or str(data.get("non_compliance_explanation") or "").strip():
        return []
    listed = "、".join(f"{what}（{article}）" for what, article in found)
    return [RuleError("non_compliance_explanation",
                      f"不符合第四章要求事项的说明：方案存在{listed}，须说明理由供评审部门判断（第十八至二十一条）",
                      found[0][1])]


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _contract_period(data: Mapping[str, Any], _: RuleContext) -> list[RuleError]:
    start, end = _date(data.get("contract_start")), _date(data.get("contract_end"))
    if start is None or end is None or end >= start:
        return []
    return [RuleError("contract_end", f"合同期限止：{end} 早于合同期限起 {start}，合同期限应登记准确（第十二条）",
                      "第十二条")]


_OWNERSHIP = {"source_code": "源代码", "data_ownership": "数据所有权", "software_copyright": "软件著作权",
              "patent": "专利权", "trademark": "商标权", "right_of_use": "使用权"}


def _ownership_agreed(data: Mapping[str, Any], _: RuleContext) -> list[RuleError]:
    own = data.get("ownership")
    if not isinstance(own, Mapping) or any(own.get(k) is True for k in _OWNERSHIP):
        return []
    return [RuleError("ownership", "技术成果产权归属：源代码、数据所有权、软件著作权、专利权、商标权、使用权均未约定，"
                                   "采购文件和合同应当明确技术成果产权归属（第十条）", "第十条")]


def _acceptance_after_review(data: Mapping[str, Any], ctx: RuleContext) -> list[RuleError]:
    approved_on = ctx.completed_on.get("acceptance_review")
    review = ctx.history.get("acceptance_review", {})
    accepted = _date(data.get("acceptance_date"))
    if approved_on is None or accepted is None or review.get("acceptance_review_result") != "同意组织验收":
        return []
    if accepted >= approved_on:
        return []
    return [RuleError("acceptance_date", f"验收日期：{accepted} 早于市大数据局审核同意组织验收的日期 {approved_on}，"
                                         "未经审核不得组织竣工验收（第二十三条）", "第二十三条")]


def _change_reconciled(data: Mapping[str, Any], ctx: RuleContext) -> list[RuleError]:
    base = ctx.change_base_total
    if base is None or "change_amount" not in data or "new_total" not in data:
        return []
    amount, new_total = money(data["change_amount"]), money(data["new_total"])
    # The total may move by at most the amount adjusted: moving 30 within the estimate leaves it as
    # it was, adding 30 raises it by 30, but a total 40 higher than before cannot come from 30.
    if abs(new_total - base) <= amount:
        return []
    return [RuleError("new_total", f"调整后总投资：{_wan(new_total)}较调整前总投资 {_wan(base)}变动 "
                                   f"{_wan(abs(new_total - base))}，超过资金调整数额 {_wan(amount)}，"
                                   "两者应当一致（第十三条）", "第十三条")]


RULES: dict[str, Rule] = {r.id: r for r in [
    Rule("declaration_estimate_sum", "第七条(一)", "投资估算等于投资估算明细之和",
         _sum_rule("investment_estimate", "investment_breakdown", "投资估算", "投资估算明细", "第七条(一)")),
    Rule("plan_estimate_sum", "第七条(二)", "投资概算总额等于投资概算明细之和",
         _sum_rule("estimate_total", "estimate_items", "投资概算总额", "投资概算明细", "第七条(二)")),
    Rule("chapter_4_explained", "第十八至二十一条", "不符合第四章（集约共享与安全）的事项须填写说明",
         _chapter_4_explained),
    Rule("budget_within_estimate", "第七条(四)", "申请预算不超过审定投资概算", _budget_within_estimate,
         reads_history=True),
    Rule("contract_period_order", "第十二条", "合同期限止不早于合同期限起", _contract_period),
    Rule("ownership_agreed", "第十条", "技术成果产权归属不能全部未约定", _ownership_agreed),
    Rule("acceptance_after_review", "第二十三条", "验收日期不早于竣工验收审核同意之日", _acceptance_after_review,
         reads_history=True),
    Rule("change_amount_reconciled", "第十三条", "调整后总投资与资金调整数额一致", _change_reconciled,
         reads_history=True),
]}


def unknown(ids: Any) -> list[str]:
    """What is wrong with a form's `x-rules` value (empty when every id names a rule)."""
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return [f"{RULES_KEY}（跨字段规则）：应为规则编号列表"]
    return [f"{RULES_KEY}（跨字段规则）：未知规则 {i}" for i in ids if i not in RULES]


def reads_history(ids: Iterable[str]) -> bool:
    return any(RULES[rule_id].reads_history for rule_id in ids)


def evaluate(ids: Iterable[str], data: Mapping[str, Any], ctx: RuleContext) -> list[RuleError]:
    errors: list[RuleError] = []
    for rule_id in ids:
        errors.extend(RULES[rule_id].check(data, ctx))
    return errors


def check(ids: Iterable[str], data: Mapping[str, Any], ctx: RuleContext) -> None:
    errors = evaluate(ids, data, ctx)
    if errors:
        raise CrossFieldRefused(errors)
