"""Form schemas from designers: `$ref` stays inside the form and forms/, patterns run on RE2, numbers
and arrays cannot make validation raise or go quadratic (service.domain.schema_safety)."""
from __future__ import annotations

import socket
from decimal import Decimal
from pathlib import Path

import pytest

from service.config import REPO_ROOT
from service.domain.forms import Form, FormDefinitionError, FormRegistry

FORMS = REPO_ROOT / "forms"


def _form(properties: dict, directory: Path | None = FORMS, **extra) -> Form:  # type: ignore[type-arg]
    return Form("t", {"$id": "govflow:forms/t", "type": "object", "properties": properties, **extra}, directory)


def _problems(properties: dict, directory: Path | None = FORMS, **extra) -> dict[str, str]:  # type: ignore[type-arg]
    with pytest.raises(FormDefinitionError) as err:
        _form(properties, directory, **extra)
    return {p.path: p.message for p in err.value.problems}


def test_network_ref_is_refused_without_connecting() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        server.settimeout(0.3)
        ref = f"http://127.0.0.1:{server.getsockname()[1]}/s.json"
        problems = _problems({"x": {"$ref": ref}})
        assert ref in problems["properties/x/$ref"]
        with pytest.raises(TimeoutError):
            server.accept()


@pytest.mark.parametrize("ref", ["file:///etc/passwd", "/etc/passwd", "../forms/declaration.json",
                                 "https://json-schema.org/x", "govflow:forms/../../etc/passwd", "nope.json",
                                 "#/$defs/missing"])
def test_refs_outside_the_form_and_forms_dir_are_refused(ref: str) -> None:
    assert "properties/x/$ref" in _problems({"x": {"$ref": ref}})


def test_refs_into_forms_dir_resolve_and_validate() -> None:
    form = _form({"a": {"$ref": "govflow:forms/declaration#/properties/project_name"},
                  "b": {"$ref": "declaration.json#/properties/contact_phone"},
                  "c": {"$ref": "#/$defs/c"}}, **{"$defs": {"c": {"type": "integer"}}})
    assert form.validate({"a": "x", "b": "13800000000", "c": 1}) == []
    assert {e.path for e in form.validate({"a": "", "b": "12", "c": "x"})} == {"a", "b", "c"}


def test_without_a_directory_only_the_form_itself_is_reachable() -> None:
    assert "properties/a/$ref" in _problems({"a": {"$ref": "govflow:forms/declaration"}}, directory=None)


def test_ref_cycles_are_refused() -> None:
    assert "$ref" in _problems({}, **{"$ref": "#"})
    assert "$defs/x/$ref" in _problems({"a": {"$ref": "#/$defs/x"}},
                                       **{"$defs": {"x": {"anyOf": [{"$ref": "#/$defs/x"}]}}})
    # Recursion through the data (a tree) is fine.
    tree = _form({"child": {"$ref": "#"}}, additionalProperties=False)
    assert tree.validate({"child": {"child": {}}}) == []


def test_hostile_pattern_runs_in_linear_time_on_re2() -> None:
    form = _form({"x": {"type": "string", "pattern": "^(a+)+$", "title": "编号"}})
    # Python's re would need about 2^40 steps here.
    assert [e.message for e in form.validate({"x": "a" * 40 + "!"})] == ["编号：格式不正确"]
    assert form.validate({"x": "a" * 1_000_000}) == []


def test_pattern_properties_and_additional_properties_use_re2() -> None:
    form = _form({}, patternProperties={"^(a+)+$": {"type": "integer"}}, additionalProperties=False)
    assert form.validate({"aaa": 1}) == []
    assert {e.path for e in form.validate({"aaa": "x"})} == {"aaa"}
    assert len(form.validate({"a" * 40 + "!": 1})) == 1  # not matched, so additional: refused


@pytest.mark.parametrize(("schema", "path"), [
    ({"x": {"pattern": r"(a)\1"}}, "properties/x/pattern"),
    ({"x": {"pattern": "(?!a)b"}}, "properties/x/pattern"),
    ({"x": {"type": "object", "patternProperties": {"(?<=a)b": {}}}}, "properties/x/patternProperties/(?<=a)b"),
    ({"x": {"type": "object", "unevaluatedProperties": False}}, "properties/x/unevaluatedProperties"),
])
def test_what_re2_cannot_run_is_refused_with_the_path(schema: dict, path: str) -> None:  # type: ignore[type-arg]
    assert path in _problems(schema)


def test_format_regex_is_checked_with_re2() -> None:
    form = _form({"r": {"type": "string", "format": "regex"}})
    assert form.validate({"r": "^[a-z]+$"}) == []
    assert len(form.validate({"r": r"(a)\1"})) == 1


@pytest.mark.parametrize("amount", [float("nan"), float("inf"), Decimal("NaN"), Decimal("1e999999"), 1e300, 10**400])
def test_multiple_of_never_raises(amount: object) -> None:
    form = _form({"m": {"type": "number", "multipleOf": 0.01, "title": "金额（万元）"}})
    errors = form.validate({"m": amount})
    assert all(e.path == "m" for e in errors)


def test_multiple_of_is_exact() -> None:
    form = _form({"m": {"type": "number", "multipleOf": 0.01}})
    assert form.validate({"m": 131.58}) == [] and form.validate({"m": 1e300}) == []
    assert len(form.validate({"m": 0.001})) == 1


def test_unique_items_is_linear_and_follows_json_equality() -> None:
    form = _form({"u": {"type": "array", "uniqueItems": True}})
    rows = [{"i": i, "v": [i, str(i)]} for i in range(50_000)]
    assert form.validate({"u": rows}) == []
    assert len(form.validate({"u": [*rows, {"v": [7, "7"], "i": 7}]})) == 1
    assert len(form.validate({"u": [1, 1.0]})) == 1
    assert form.validate({"u": [1, True, 0, False, None, "1"]}) == []


def test_repository_forms_all_pass_the_checks() -> None:
    registry = FormRegistry(FORMS)
    assert len(registry.names()) > 20
    for name in registry.names():
        form = registry.get(name)
        assert form.validate(form.schema["examples"][0]) == [], name
