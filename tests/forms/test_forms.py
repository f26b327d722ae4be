"""Task form schemas (forms/*.json): draft 2020-12, zh-CN, closed objects, valid examples, and the
engine-field contract that the BPMN conditions, the DMN change rule and the deadline rules rely on."""
from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "forms"
BPMN = ROOT / "processes" / "lifecycle.bpmn"
CJK = re.compile(r"[\u4e00-\u9fff]")
CREDIT_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$"

MONEY = "money"  # {"type": "number", "minimum": 0, "multipleOf": 0.01}, title ends with （万元）
DATE = "date"
BOOL = "boolean"
INT = "integer"
TEXT = "string"
LIST = "array"

LEVELS = ["第一级", "第二级", "第三级", "第四级"]
REVIEW = ["同意", "修改后同意", "不同意"]
METHODS = ["公开招标", "邀请招标", "竞争性谈判", "竞争性磋商", "单一来源", "询价", "框架协议"]
GRADES = ["优", "良", "中", "差"]

# form -> engine field -> exact enum (list, order matters: the first value is the happy path) or kind.
# Every field here must be `required` (except those in CONDITIONAL, which are required through if/then).
CONTRACT: dict[str, dict[str, list[str] | str]] = {
    "declaration": {"project_name": TEXT, "project_type": ["新建", "升级改造", "运维运营", "购买服务"],
                    "budget_year": INT, "participants": LIST, "is_urgent": BOOL,
                    "investment_estimate": MONEY},
    "participant_confirmation": {"confirmation": ["同意", "有异议"], "responsibilities": TEXT},
    "preliminary_opinion": {"finance_opinion": ["同意入库", "建议退回修改", "不同意入库"]},
    "preliminary_review": {"preliminary_decision": ["入库", "退回修改", "不予入库"]},
    "construction_plan": {
        "estimate_total": MONEY, "uses_gov_cloud": BOOL, "gov_extranet": BOOL, "big_data_platform": BOOL,
        "city_brain": BOOL, "cloud_native": BOOL, "ipv6": BOOL,
        "ai_on_gov_cloud": ["不涉及人工智能", "基于政务云建设", "其他方式"],
        "mobile_channel": ["无移动端", "爱山东", "山东通", "爱山东和山东通", "自建移动端"],
        "xinchuang": BOOL, "crypto_plan": TEXT, "mlps_level": LEVELS, "emergency_plan": BOOL,
        "data_catalog": TEXT},
    "review_bigdata": {"conclusion": REVIEW, "suggested_estimate": MONEY},
    "review_cac": {"conclusion": REVIEW},
    "review_police": {"conclusion": REVIEW, "confirmed_mlps_level": LEVELS},
    "review_crypto": {"conclusion": REVIEW, "crypto_level": LEVELS},
    "plan_review_conclusion": {"plan_review_result": ["通过", "修改后重审", "不通过"],
                               "approved_estimate": MONEY, "review_method": ["会审", "函审"]},
    "budget_submission": {"budget_amount": MONEY},
    "budget_review": {"budget_decision": ["建议安排", "不予安排"], "is_key_project": BOOL,
                      "sizing_method": ["功能点规模测量", "专家评审", "其他"], "approved_budget": MONEY},
    "consistency_request": {"procurement_action": ["申请一致性审核", "终止项目"], "implementing_body": TEXT,
                            "responsible_person": TEXT},
    "consistency_review": {"consistency_result": ["通过", "退回修改"]},
    "termination_filing": {"termination_date": DATE},
    "procurement_record": {"contract_date": DATE, "contract_amount": MONEY},
    "contract_filing": {"procurement_method": METHODS, "contract_amount": MONEY, "contract_start": DATE,
                        "contract_end": DATE, "has_subcontracting": BOOL},
    "construction_progress": {"construction_action": ["申请竣工验收", "提交变更", "报告严重逾期或重大损失"]},
    "change_request": {"change_type": ["建设内容", "资金", "工期", "技术路线"], "change_amount": MONEY,
                       "new_total": MONEY, "goal_unchanged": BOOL,
                       "change_reason": ["上级和市委市政府工作部署", "技术方案完善优化", "业务发展需要",
                                         "其他"]},
    "change_filing": {"filing_number": TEXT},
    "change_review": {"change_review_result": ["同意变更", "不同意变更"]},
    "delay_handling": {"delay_decision": ["继续建设", "责令整改", "暂停建设"]},
    "acceptance_application": {"planned_acceptance_date": DATE},
    "acceptance_review": {"acceptance_review_result": ["同意组织验收", "不同意"]},
    "acceptance": {"acceptance_date": DATE, "operation_date": DATE,
                   "acceptance_conclusion": ["通过", "整改后通过", "不通过"]},
    "acceptance_report_filing": {"acceptance_report": TEXT},
    "self_evaluation": {"total_score": "number", "grade": GRADES},
    "evaluation_proposal": {"evaluation_proposal": ["建议选取", "不建议选取"]},
    "evaluation_selection": {"selected_for_evaluation": BOOL},
    "performance_evaluation": {"score": "number", "grade": GRADES, "result_application": LIST},
}

# Fields required only under a condition (if/then): form -> (field, trigger field, trigger value).
CONDITIONAL = {
    "declaration": ("urgent_basis", "is_urgent", True),
    "consistency_request": ("termination_reason", "procurement_action", "终止项目"),
}

# The example must take the happy path for these booleans (the first enum value for enum fields).
HAPPY_BOOLEANS = {("declaration", "is_urgent"): False, ("change_request", "goal_unchanged"): True,
                  ("evaluation_selection", "selected_for_evaluation"): True}

# Enumerations that do not route the process: the example uses a realistic value, not the first one.
NOT_ROUTING = {"mlps_level", "confirmed_mlps_level", "crypto_level"}

CHECKER = FormatChecker()


def load(name: str) -> dict[str, Any]:
    return json.loads((FORMS / f"{name}.json").read_text(encoding="utf-8"))


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=CHECKER)


def example(name: str) -> dict[str, Any]:
    return copy.deepcopy(load(name)["examples"][0])


def errors(name: str, data: dict[str, Any]) -> list[str]:
    return [e.message for e in validator(load(name)).iter_errors(data)]


def subschemas(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema (and array item schema) below a form, with a readable path."""
    if not isinstance(node, dict):
        return
    for key, sub in node.get("properties", {}).items():
        yield f"{path}/{key}", sub
        yield from subschemas(sub, f"{path}/{key}")
    items = node.get("items")
    if isinstance(items, dict):
        yield f"{path}[]", items
        yield from subschemas(items, f"{path}[]")


def form_names() -> list[str]:
    return sorted(p.stem for p in FORMS.glob("*.json"))


def credit_code_ok(code: str) -> bool:
    """GB 32100-2015 check digit."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(alphabet.index(c) * w for c, w in zip(code[:17], weights, strict=True))
    return alphabet[(31 - total % 31) % 31] == code[17]


def test_every_contract_form_exists_and_nothing_else():
    assert form_names() == sorted(CONTRACT)
    assert len(CONTRACT) == 30


@pytest.mark.parametrize("name", form_names())
def test_schema_is_valid_draft_2020_12_and_follows_conventions(name):
    schema = load(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"govflow:forms/{name}"
    assert CJK.search(schema["title"]), "zh-CN title"
    assert CJK.search(schema["description"])
    assert re.search(r"依据第[一二三四五六七八九十]+条", schema["description"]), "cites the article"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert set(schema["required"]) <= set(schema["properties"])
    opinion = schema["properties"]["opinion"]
    assert opinion["type"] == "string" and opinion["maxLength"] <= 2000
    for path, sub in subschemas(schema):
        assert CJK.search(sub.get("title", "")), f"{path}: zh-CN title"
        if sub.get("type") == "object":
            assert sub.get("additionalProperties") is False, path
            assert set(sub.get("required", [])) <= set(sub["properties"]), path
        if sub.get("title", "").endswith("（万元）"):
            assert {k: sub[k] for k in ("type", "minimum", "multipleOf")} == {
                "type": "number", "minimum": 0, "multipleOf": 0.01}, path
        if sub.get("type") == "number" and "multipleOf" in sub and "（%）" not in sub["title"]:
            assert sub["multipleOf"] == 0.01, path
        if sub.get("format") == "date":
            assert sub["type"] == "string", path
        if "enum" in sub:
            assert all(CJK.search(v) for v in sub["enum"]), f"{path}: Chinese enum"
        if sub.get("x-widget") == "textarea":
            assert sub["type"] == "string" and sub["maxLength"] <= 5000, path
        if sub.get("x-widget") == "file":
            assert sub["type"] == "string", path
        if "信用代码" in sub.get("title", ""):
            assert sub["pattern"] == CREDIT_PATTERN, path
    assert len(schema["examples"]) == 1


@pytest.mark.parametrize("name", form_names())
def test_example_is_valid_with_formats_checked(name):
    schema = load(name)
    assert list(validator(schema).iter_errors(schema["examples"][0])) == []


@pytest.mark.parametrize("name", form_names())
def test_engine_fields_are_required_with_exact_enums(name):
    schema = load(name)
    props, required, ex = schema["properties"], set(schema["required"]), schema["examples"][0]
    for field, spec in CONTRACT[name].items():
        assert field in required, f"{name}.{field} must be required"
        sub = props[field]
        if isinstance(spec, list):
            assert sub["type"] == "string" and sub["enum"] == spec, f"{name}.{field}"
            if field not in NOT_ROUTING:
                assert ex[field] == spec[0], f"{name}.{field}: the example takes the happy path"
        elif spec == MONEY:
            assert sub["type"] == "number" and sub["minimum"] == 0 and sub["multipleOf"] == 0.01
            assert sub["title"].endswith("（万元）")
        elif spec == DATE:
            assert sub == {**sub, "type": "string", "format": "date"}
        else:
            assert sub["type"] == spec, f"{name}.{field}"
        if (name, field) in HAPPY_BOOLEANS:
            assert ex[field] is HAPPY_BOOLEANS[(name, field)]
    if name in CONDITIONAL:
        field, trigger, value = CONDITIONAL[name]
        assert field in props and field not in required
        data = {k: v for k, v in ex.items() if k != field}
        data[trigger] = value
        assert any(f"'{field}' is a required property" in m for m in errors(name, data))


def test_bpmn_forms_exist_and_task_outputs_are_required():
    """The BPMN names each task's form and the fields that enter the engine (`outputs`)."""
    assert BPMN.exists(), "processes/lifecycle.bpmn is part of the project"
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
    tree = ET.parse(BPMN)
    seen = 0
    for task in tree.iterfind(".//bpmn:userTask", ns):
        props = {p.get("name"): p.get("value") for p in task.iterfind(".//spiffworkflow:property", ns)}
        if "form" not in props:
            continue
        seen += 1
        schema = load(props["form"])
        for field in filter(None, (f.strip() for f in props.get("outputs", "").split(","))):
            assert field in schema["required"], f"{task.get('id')}: output {field} not required"
    assert seen >= len(CONTRACT)


def test_example_credit_codes_have_a_valid_check_digit():
    found = re.findall(r'"([0-9A-Z]{18})"', (FORMS / "contract_filing.json").read_text(encoding="utf-8"))
    codes = [c for c in found if re.fullmatch(CREDIT_PATTERN, c)]
    assert codes and all(credit_code_ok(c) for c in codes)


def dec(value: float) -> Decimal:
    return Decimal(str(value))


def total(rows: list[dict[str, Any]], key: str) -> Decimal:
    return sum((dec(r[key]) for r in rows), Decimal(0))


def test_example_figures_add_up():
    decl, plan = example("declaration"), example("construction_plan")
    assert total(decl["investment_breakdown"], "amount") == dec(decl["investment_estimate"])
    assert total(plan["estimate_items"], "amount") == dec(plan["estimate_total"])
    contract = example("contract_filing")
    assert total(contract["payment_milestones"], "amount") == dec(contract["contract_amount"])
    review = example("plan_review_conclusion")
    change = example("change_request")
    # The example change stays on the 第十三条 filing path: within the estimate and at most 15 %.
    assert change["new_total"] <= review["approved_estimate"]
    assert change["change_amount"] * 100 <= review["approved_estimate"] * 15
    ev = example("self_evaluation")
    assert dec(ev["execution_score"]) + total(ev["indicators"], "score") == dec(ev["total_score"])


# ---------------------------------------------------------------- negative cases


def test_amount_with_three_decimals_fails():
    data = example("declaration")
    data["investment_estimate"] = 12.345
    assert any("multiple of 0.01" in m for m in errors("declaration", data))
    data["investment_estimate"] = -1
    assert errors("declaration", data)


def test_bad_credit_code_fails():
    for bad in ["91370502MA3N8K7Q2", "91370502MA3N8K7Q2PX", "91370502MA3N8K7QIO", "9137050ZMA3N8K7Q2P",
                "91370502ma3n8k7q2p"]:
        data = example("contract_filing")
        data["supplier_credit_code"] = bad
        assert errors("contract_filing", data), bad


def test_urgent_without_basis_fails_and_with_basis_passes():
    data = example("declaration")
    data["is_urgent"] = True
    data.pop("urgent_basis", None)
    assert any("'urgent_basis' is a required property" in m for m in errors("declaration", data))
    data["urgent_basis"] = "市委、市政府2026年第5次专题会议部署的防汛应急指挥调度系统建设"
    assert errors("declaration", data) == []


def test_termination_without_reason_fails():
    data = example("consistency_request")
    data["procurement_action"] = "终止项目"
    messages = errors("consistency_request", data)
    assert any("'termination_reason' is a required property" in m for m in messages)
    data["termination_reason"] = "需求变化，不再实施"
    assert errors("consistency_request", data) == []


@pytest.mark.parametrize(("name", "field"), [("procurement_record", "contract_date"),
                                             ("acceptance", "acceptance_date"),
                                             ("termination_filing", "termination_date")])
def test_impossible_date_fails_with_the_format_checker(name, field):
    data = example(name)
    data[field] = "2026-13-01"
    assert any("is not a 'date'" in m for m in errors(name, data))
    data[field] = "2026-02-29"
    assert errors(name, data)


def test_unknown_field_and_unknown_enum_value_fail():
    data = example("preliminary_review")
    data["preliminary_decision"] = "随便"
    assert errors("preliminary_review", data)
    data = example("preliminary_review")
    data["unexpected"] = 1
    assert errors("preliminary_review", data)
    data = example("declaration")
    data["investment_breakdown"][0]["unexpected"] = 1
    assert errors("declaration", data)


def test_grade_must_match_score():
    data = example("self_evaluation")
    data["grade"] = "良"
    assert errors("self_evaluation", data)
    data = example("performance_evaluation")
    data.update(score=79.5, grade="中")
    assert errors("performance_evaluation", data) == []
    data["grade"] = "良"
    assert errors("performance_evaluation", data)


def test_subcontracting_needs_at_least_one_row():
    data = example("contract_filing")
    data["subcontracts"] = []
    assert errors("contract_filing", data)
    data["has_subcontracting"] = False
    assert errors("contract_filing", data) == []


def test_function_point_counts_required_when_sized_by_function_points():
    data = example("budget_review")
    del data["ilf"]
    assert errors("budget_review", data)
    data["sizing_method"] = "专家评审"
    assert errors("budget_review", data) == []


def test_cent_amounts_pass_when_numbers_are_parsed_as_decimal():
    """multipleOf 0.01 on binary floats rejects some valid cent amounts (0.07 / 0.01 != 7 in floating
    point). Parsing both schema and data with Decimal makes the check exact; see forms/README.md."""
    schema = json.loads((FORMS / "procurement_record.json").read_text(encoding="utf-8"), parse_float=Decimal)
    v = Draft202012Validator(schema, format_checker=CHECKER)
    base = schema["examples"][0]
    for raw in ["0.07", "131.58", "307.02", "438.60", "99999.99"]:
        data = {**base, "contract_amount": Decimal(raw)}
        assert list(v.iter_errors(data)) == [], raw
    assert list(v.iter_errors({**base, "contract_amount": Decimal("12.345")}))


def test_service_registry_loads_every_form_and_words_errors_in_chinese():
    from service.domain.forms import FormRegistry

    registry = FormRegistry(FORMS)
    assert registry.names() == form_names()
    form = registry.get("declaration")
    data = example("declaration")
    data.update(is_urgent=True, investment_estimate=12.345)
    del data["project_name"]
    by_path = {e.path: e.message for e in form.validate(data)}
    assert by_path == {"project_name": "项目名称：必填", "urgent_basis": "紧急部署依据：必填",
                       "investment_estimate": "投资估算（万元）：最多保留 2 位小数"}
