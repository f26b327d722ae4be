"""Each cross-field rule on its own: refused with the field and the article, accepted when consistent."""
from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from service.domain import cross_field_rules as rules
from service.domain.cross_field_rules import CrossFieldRefused, RuleContext
from service.domain.forms import Form, FormDefinitionError, FormRegistry

FORMS = Path(__file__).resolve().parents[2] / "forms"
REGISTRY = FormRegistry(FORMS)


def example(form: str, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(REGISTRY.get(form).schema["examples"][0])
    data.update(changes)
    return data


REVIEWED = RuleContext(history={"review_consolidate": {"approved_estimate": 460.0},
                                "acceptance_review": {"acceptance_review_result": "同意组织验收"}},
                       completed_on={"acceptance_review": dt.date(2027, 11, 20)},
                       change_base_total=Decimal("460"))
NOT_COMPLIANT = {"mobile_channel": "自建移动端", "ai_on_gov_cloud": "其他方式", "xinchuang": False}
NONE_AGREED = dict.fromkeys(("source_code", "data_ownership", "software_copyright", "patent", "trademark",
                             "right_of_use"), False)

# (form, changes that break the rule, field, article, changes that make it consistent again)
CASES = [
    ("declaration", {"investment_estimate": 500.0}, "investment_estimate", "第七条(一)",
     {"investment_estimate": 480.0}),
    ("construction_plan", {"estimate_total": 470.0}, "estimate_total", "第七条(二)", {"estimate_total": 480.0}),
    ("budget_submission", {"budget_amount": 460.01}, "budget_amount", "第七条(四)", {"budget_amount": 460.0}),
    ("construction_plan", NOT_COMPLIANT, "non_compliance_explanation", "第十八条",
     {**NOT_COMPLIANT, "non_compliance_explanation": "问答模型需调用国家级行业大模型，政务云暂无算力。"}),
    ("contract_filing", {"contract_start": "2027-04-16", "contract_end": "2027-04-15"}, "contract_end", "第十二条",
     {"contract_start": "2027-04-16", "contract_end": "2027-04-16"}),
    ("contract_filing", {"ownership": NONE_AGREED}, "ownership", "第十条",
     {"ownership": {**NONE_AGREED, "source_code": True}}),
    ("acceptance", {"acceptance_date": "2027-11-19"}, "acceptance_date", "第二十三条",
     {"acceptance_date": "2027-11-20"}),
    ("change_request", {"change_amount": 30.0, "new_total": 500.0}, "new_total", "第十三条",
     {"change_amount": 40.0, "new_total": 500.0}),
]


@pytest.mark.parametrize(("form", "bad", "path", "article", "good"), CASES,
                         ids=[f"{c[0]}:{c[2]}" for c in CASES])
def test_rule_refuses_with_field_and_article_and_accepts_consistent_data(form, bad, path, article, good):
    f = REGISTRY.get(form)
    assert f.rules, f"{form} declares no x-rules"
    broken = example(form, **bad)
    assert f.validate(broken) == []  # the schema alone accepts it: only the rule can refuse
    with pytest.raises(CrossFieldRefused) as exc:
        rules.check(f.rules, broken, REVIEWED)
    err = exc.value
    assert (err.field, err.article, err.code) == (path, article, "validation_failed")
    assert [e.path for e in err.errors] == [path] and article in err.errors[0].message
    assert err.message == err.errors[0].message
    fixed = example(form, **good)
    assert f.validate(fixed) == [] and rules.evaluate(f.rules, fixed, REVIEWED) == []


def test_every_example_passes_its_rules():
    for name in REGISTRY.names():
        form = REGISTRY.get(name)
        assert rules.evaluate(form.rules, form.schema["examples"][0], REVIEWED) == [], name


def test_cent_amounts_sum_exactly():
    data = example("declaration", investment_estimate=0.3,
                   investment_breakdown=[{"category": "软件开发", "amount": 0.1},
                                         {"category": "其他", "amount": 0.2}])
    assert rules.evaluate(["declaration_estimate_sum"], data, RuleContext()) == []  # 0.1 + 0.2 != 0.3 in floats


def test_chapter_4_lists_each_non_compliance_with_its_article():
    data = example("construction_plan", **NOT_COMPLIANT)
    (err,) = rules.evaluate(["chapter_4_explained"], data, RuleContext())
    for text in ("自建移动端渠道（第二十条）", "人工智能应用未基于政务云建设（第十八条）",
                 "未采用信创技术和产品（第二十一条）"):
        assert text in err.message
    blank = {**data, "non_compliance_explanation": "  "}
    assert rules.evaluate(["chapter_4_explained"], blank, RuleContext())


def test_rules_needing_an_earlier_step_stay_silent_without_it():
    assert rules.evaluate(["budget_within_estimate", "acceptance_after_review", "change_amount_reconciled"],
                          example("budget_submission", budget_amount=9999.0) | example("acceptance",
                          acceptance_date="2000-01-01") | example("change_request", new_total=9999.0),
                          RuleContext()) == []


def test_a_change_may_move_the_total_by_at_most_its_amount():
    ctx = RuleContext(change_base_total=Decimal("460"))
    ok = [(30.0, 460.0), (30.0, 490.0), (30.0, 430.0)]
    for amount, total in ok:
        assert rules.evaluate(["change_amount_reconciled"], example("change_request", change_amount=amount,
                                                                    new_total=total), ctx) == []
    assert rules.evaluate(["change_amount_reconciled"], example("change_request", change_amount=30.0,
                                                                new_total=429.99), ctx)


def test_unknown_rule_ids_are_refused_when_the_form_is_loaded():
    schema = json.loads((FORMS / "acceptance.json").read_text(encoding="utf-8"))
    with pytest.raises(FormDefinitionError) as exc:
        Form("acceptance", {**schema, "x-rules": ["acceptance_after_review", "no_such_rule"]}, FORMS)
    assert "no_such_rule" in str(exc.value)
    with pytest.raises(FormDefinitionError):
        Form("acceptance", {**schema, "x-rules": "acceptance_after_review"}, FORMS)


class _Steps(dict):  # type: ignore[type-arg]
    """History that notes which steps a rule asks for."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.asked: set[str] = set()

    def get(self, key: Any, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self.asked.add(key)
        return super().__getitem__(key)


class _Recording(RuleContext):
    """A RuleContext that notes every field a rule reads."""

    def __getattribute__(self, name: str) -> object:
        if not name.startswith("_"):
            object.__getattribute__(self, "_read").add(name)
        return object.__getattribute__(self, name)


@pytest.mark.parametrize("rule_id", sorted(rules.RULES))
def test_a_rule_reads_the_projects_history_only_if_it_says_so(rule_id: str) -> None:
    # The service reads the project's earlier steps only for forms with such a rule (form_rules.check).
    from service.operations.form_rules import HISTORY_TASKS

    steps = _Steps({"review_consolidate": {"approved_estimate": 1}})
    dates = _Steps({"acceptance_review": dt.date(2027, 1, 2)})
    ctx = _Recording(history=steps, completed_on=dates)
    object.__setattr__(ctx, "_read", set())
    data = {"budget_amount": 2, "acceptance_date": "2027-01-01", "change_amount": 1, "new_total": 3}
    rules.RULES[rule_id].check(data, ctx)
    read = object.__getattribute__(ctx, "_read")
    assert bool(read) == rules.RULES[rule_id].reads_history, read
    # ... and only the steps form_rules.context reads for them.
    assert steps.asked | dates.asked <= set(HISTORY_TASKS), steps.asked | dates.asked
