"""The compiled validity check (service.domain.form_validity) against jsonschema with govflow's
keywords: on every form of forms/ with its example and its mutations, and on generated schemas and
data. The check may only skip jsonschema where jsonschema finds no error, so every disagreement
here is a fault, whichever way it goes."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain.form_validity import compile_validity
from service.domain.forms import Form, FormRegistry, _decimal_copy
from service.domain.schema_safety import FORMAT_CHECKER, FormValidator

FORMS = Path(__file__).resolve().parents[2] / "forms"
REGISTRY = FormRegistry(FORMS)

# Values a user (or a careless client) may put in any field.
ODD = [None, True, False, 0, -1, 1, 2024, 2101, 0.07, 131.58, 0.001, -0.01, 1e300, 99.999, 100, 100.01,
       "", " ", "x", "同意", "2027-02-30", "2027-03-01", "https://example.cn/a", "not a uri", "字" * 101,
       "字" * 5001, [], [{}], ["a", "a"], {}, {"x": 1}, float("nan")]


def jsonschema_valid(schema: dict[str, Any], data: Any) -> bool | None:
    """None: jsonschema raised (a NaN compared with a Decimal bound: InvalidOperation)."""
    validator = FormValidator(_decimal_copy(schema), format_checker=FORMAT_CHECKER)
    try:
        return not any(True for _ in validator.iter_errors(_decimal_copy(data)))
    except ArithmeticError:
        return None


def agree(form: Form, data: Any) -> None:
    exact = _decimal_copy(data)
    fast = form._valid(exact)
    full = not any(True for _ in form._validator.iter_errors(exact))
    shown = json.dumps(data, ensure_ascii=False)[:300]
    assert fast == full, f"{form.name}: compiled {fast}, jsonschema {full} for {shown}"


def mutations(value: Any) -> Any:
    """The value with each field (at any depth) dropped, or replaced by each odd value, one at a time;
    and with an undeclared field added."""
    yield value
    if isinstance(value, dict):
        yield {**value, "未定义字段": "x"}
        for key in value:
            yield {k: v for k, v in value.items() if k != key}
            for odd in ODD:
                yield {**value, key: odd}
            for inner in mutations(value[key]):
                yield {**value, key: inner}
    elif isinstance(value, list) and value:
        yield value + [copy.deepcopy(value[0])]
        yield value[:-1]
        for inner in mutations(value[0]):
            yield [inner, *value[1:]]


def test_every_form_is_compiled() -> None:
    # A form that is not compiled still validates, only slower: this says when a form stops being fast.
    assert [name for name in REGISTRY.names() if REGISTRY.get(name)._valid is None] == []


@pytest.mark.parametrize("name", REGISTRY.names())
def test_each_form_agrees_with_jsonschema_on_its_example_and_mutations(name: str) -> None:
    form = REGISTRY.get(name)
    outcomes = set()
    for example in form.schema.get("examples", []):
        for data in mutations(example):
            agree(form, data)
            outcomes.add(form._valid(_decimal_copy(data)))
    assert outcomes == {True, False}  # both answers were exercised


def test_invalid_data_still_gets_jsonschemas_worded_errors() -> None:
    form = REGISTRY.get("self_evaluation")
    data = {**form.schema["examples"][0], "total_score": 95, "grade": "良"}
    errors = form.validate(data)
    assert [(e.path, e.message) for e in errors] == [("grade", "自评等级：必须为 优")]


@pytest.mark.parametrize("schema", [
    {"$ref": "#/$defs/a", "$defs": {"a": {"type": "string"}}},
    {"type": "object", "patternProperties": {"^a": {"type": "string"}}},
    {"type": "object", "dependentRequired": {"a": ["b"]}},
    {"properties": {"a": {"$schema": "http://json-schema.org/draft-07/schema#"}}},
    {"$schema": "http://json-schema.org/draft-07/schema#", "type": "string"},
    {"prefixItems": [{"type": "string"}]},
    {"contains": {"type": "string"}},
    {"propertyNames": {"maxLength": 3}},
    {"unknownKeyword": 1},
])
def test_what_is_not_compiled_is_left_to_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_validity(_decimal_copy(schema)) is None


def test_a_deeply_nested_schema_is_left_to_jsonschema() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(5000):
        schema = {"items": schema}
    assert compile_validity(schema) is None


# -- generated schemas and data ---------------------------------------------------------------------

numbers = st.sampled_from([0, 1, 2, 3, 10, 0.5, 0.01, 0.07, 2.5, -1, -0.5, 100])
texts = st.sampled_from(["", "a", "ab", "同意", "不同意", "2027-01-31", "2027-13-01", "abc1", "x" * 12])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 300) | numbers | texts
    | st.sampled_from([1.0, 3.0, 1e300, float("nan"), float("inf")]),
    lambda inner: (st.lists(inner, max_size=4)
                   | st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), inner, max_size=4)),
    max_leaves=12,
)
types = st.sampled_from(["string", "number", "integer", "boolean", "null", "array", "object"])


def leaf_keywords() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={
        "type": types | st.lists(types, min_size=1, max_size=3, unique=True),
        "enum": st.lists(json_values, min_size=1, max_size=4),
        "const": json_values,
        "minLength": st.integers(0, 3), "maxLength": st.integers(0, 3),
        "pattern": st.sampled_from(["^a", "\\d", "^[a-c]+$", "同"]),
        "format": st.sampled_from(["date", "uri", "regex", "email"]),
        "minimum": numbers, "maximum": numbers, "exclusiveMinimum": numbers, "exclusiveMaximum": numbers,
        "multipleOf": st.sampled_from([0.01, 0.5, 2, 3, 1]),
        "minItems": st.integers(0, 3), "maxItems": st.integers(0, 3), "uniqueItems": st.booleans(),
        "required": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True),
        "minProperties": st.integers(0, 3), "maxProperties": st.integers(0, 3),
        "title": texts, "x-widget": texts,
    })


def with_children(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.tuples(leaf_keywords(), st.fixed_dictionaries({}, optional={
        "properties": st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
        "additionalProperties": st.booleans() | inner,
        "items": st.booleans() | inner,
        "if": inner, "then": inner, "else": inner,
        "allOf": st.lists(inner, min_size=1, max_size=3), "anyOf": st.lists(inner, min_size=1, max_size=3),
        "oneOf": st.lists(inner, min_size=1, max_size=3), "not": inner,
    })).map(lambda parts: {**parts[0], **parts[1]})


schemas = st.recursive(st.booleans() | leaf_keywords(), with_children, max_leaves=8)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=schemas, data=st.lists(json_values, min_size=1, max_size=6))
def test_generated_schemas_and_data_agree_with_jsonschema(schema: Any, data: list[Any]) -> None:
    exact = _decimal_copy(schema)
    check = compile_validity(exact)
    assert check is not None
    for value in data:
        full = jsonschema_valid(schema, value)
        fast = check(_decimal_copy(value))
        if non_finite(value):
            # Left to jsonschema where a bound meets it (which may raise, as before): never valid unseen.
            assert not fast or full, (schema, value, full)
        else:
            assert fast == full, (schema, value, full)


def non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return value != value or value in (float("inf"), float("-inf"))
    if isinstance(value, dict):
        return any(non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(non_finite(v) for v in value)
    return False
