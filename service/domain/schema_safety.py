"""Form schemas are written by designers and the data by every user: neither may make the server
fetch anything, read files outside forms/, or spend more than linear time.

- `$ref` / `$dynamicRef` resolve inside the form itself and against the forms/ directory only
  (`govflow:forms/<name>` — the `$id` every form carries — or `<name>.json`): a `referencing`
  Registry whose retrieve function refuses every other URI. jsonschema's default registry would
  fetch http(s) and file URLs.
- `pattern`, `patternProperties` (also where `additionalProperties` consults it) and `format: regex`
  run on RE2, which matches in linear time; Python's `re` backtracks exponentially on `^(a+)+$`
  and holds the GIL while it does, freezing every request of the process.
- `multipleOf` is exact (fractions) and never raises on NaN or huge numbers; `uniqueItems` hashes
  a canonical form instead of jsonschema's pairwise comparison, which is quadratic for objects.

`definition_problems` finds, before a schema is used, every `$ref` that does not resolve under
these rules and every pattern RE2 cannot compile, with its path in the schema."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

import re2
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema import _keywords as std_keywords
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT202012

from service.domain.errors import FieldError

__all__ = ["FormValidator", "definition_problems", "forms_registry", "FORM_ID_PREFIX", "FORMAT_CHECKER",
           "all_unique", "exact_fraction", "is_multiple", "pattern_found"]

FORM_ID_PREFIX = "govflow:forms/"
_FORM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Numbers past this decimal exponent are not amounts: refusing them keeps fractions small.
_MAX_EXPONENT = 400

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.max_mem = 8 << 20  # a pattern needing more than 8 MB of automaton is refused
_RE2_OPTIONS.log_errors = False  # refusals are reported to the designer, not to stderr


class Re2Error(ValueError):
    pass


@lru_cache(maxsize=2048)
def compile_pattern(pattern: str) -> Any:
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except (re2.error, TypeError, ValueError, UnicodeEncodeError) as exc:
        detail = exc.args[0] if exc.args else exc
        raise Re2Error(detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)) from None


def pattern_found(pattern: str, text: str) -> bool:
    try:
        return compile_pattern(pattern).search(text) is not None
    except UnicodeEncodeError:  # a lone surrogate cannot be matched (nor stored)
        return False


# -- $ref resolution ------------------------------------------------------------------------------------

def _form_name(uri: str) -> str | None:
    """The forms/ file a URI names, or None when it names anything else."""
    uri = uri.split("#", 1)[0]
    if uri.startswith(FORM_ID_PREFIX):
        name = uri[len(FORM_ID_PREFIX):]
    elif uri.endswith(".json") and "/" not in uri and ":" not in uri and "\\" not in uri:
        name = uri[: -len(".json")]
    else:
        return None
    return name if _FORM_NAME.fullmatch(name) else None


def forms_registry(directory: Path | None) -> Registry[Any]:
    """A registry that retrieves forms/ files and nothing else: no network, no other path."""
    cache: dict[str, Resource[Any]] = {}

    def retrieve(uri: str) -> Resource[Any]:
        name = _form_name(uri)
        if name is None or directory is None:
            raise NoSuchResource(ref=uri)
        if name not in cache:
            path = directory / f"{name}.json"
            # The same refusal whether or not a file exists: no existence oracle.
            if not path.is_file():
                raise NoSuchResource(ref=uri)
            contents = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
            cache[name] = DRAFT202012.create_resource(contents)
        return cache[name]

    return Registry(retrieve=retrieve)  # type: ignore[call-arg]


# -- keywords ---------------------------------------------------------------------------------------

def _pattern(validator: Any, patrn: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not pattern_found(patrn, instance):
        yield ValidationError(f"{instance!r} does not match {patrn!r}")


def _pattern_properties(validator: Any, pattern_properties: Mapping[str, Any], instance: Any,
                        schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for k, v in instance.items():
            if pattern_found(pattern, k):
                yield from validator.descend(v, subschema, path=k, schema_path=pattern)


def _additional_properties(validator: Any, ap: Any, instance: Any,
                           schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    patterns = schema.get("patternProperties")
    if not patterns or not validator.is_type(instance, "object"):
        # No regex involved: jsonschema's own keyword, unchanged.
        yield from std_keywords.additionalProperties(validator, ap, instance, schema)
        return
    properties = schema.get("properties", {})
    extras = sorted((k for k in instance if k not in properties and not any(pattern_found(p, k) for p in patterns)),
                    key=str)
    if validator.is_type(ap, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], ap, path=extra)
    elif not ap and extras:
        joined = ", ".join(repr(e) for e in extras)
        yield ValidationError(f"{joined} do not match any of the regexes: {', '.join(map(repr, sorted(patterns)))}")


def exact_fraction(number: Any) -> Fraction | None:
    if isinstance(number, bool):
        return None
    if isinstance(number, Decimal):
        if not number.is_finite() or abs(number.adjusted()) > _MAX_EXPONENT:
            return None
    elif isinstance(number, float) and (number != number or number in (float("inf"), float("-inf"))):
        return None
    try:
        return Fraction(number)
    except (TypeError, ValueError, OverflowError):
        return None


def is_multiple(value: Any, step: Fraction | None) -> bool:
    """`value` is a finite number and an exact multiple of `step` (exact_fraction of the keyword)."""
    x = exact_fraction(value)
    return x is not None and step is not None and step != 0 and not x % step


def _multiple_of(validator: Any, step: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "number"):
        return
    d = exact_fraction(step)
    if is_multiple(instance, d):
        return
    if exact_fraction(instance) is None or not d:
        yield ValidationError(f"{instance!r} is not a finite number in range")
    else:
        yield ValidationError(f"{instance!r} is not a multiple of {step}")


def _canonical(value: Any) -> Any:
    """A hashable form in which two JSON values are equal exactly when JSON Schema says they are
    (1 == 1.0, true != 1, key order does not matter)."""
    if value is True or value is False or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int | float | Decimal):
        exact = exact_fraction(value)
        return ("number", exact if exact is not None else str(value))
    if isinstance(value, Mapping):
        return ("object", frozenset((k, _canonical(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("array", tuple(_canonical(v) for v in value))
    return ("other", repr(value))


def all_unique(items: list[Any]) -> bool:
    """No two of `items` are equal as JSON Schema compares them: linear, by hashed canonical forms."""
    seen: set[Any] = set()
    for item in items:
        key = _canonical(item)
        if key in seen:
            return False
        seen.add(key)
    return True


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if unique and validator.is_type(instance, "array") and not all_unique(instance):
        yield ValidationError(f"{instance!r:.200} has non-unique elements")


def _format_checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("regex", raises=Re2Error)
    def _regex(instance: object) -> bool:
        if isinstance(instance, str):
            compile_pattern(instance)
        return True

    return checker


FORMAT_CHECKER = _format_checker()

FormValidator = validators.extend(
    Draft202012Validator,
    {"pattern": _pattern, "patternProperties": _pattern_properties,
     "additionalProperties": _additional_properties, "multipleOf": _multiple_of, "uniqueItems": _unique_items},
)


# -- checks before use --------------------------------------------------------------------------------

_ONE = ("additionalProperties", "items", "contains", "not", "if", "then", "else", "propertyNames",
        "unevaluatedItems", "additionalItems")
_MANY = ("allOf", "anyOf", "oneOf", "prefixItems")
_NAMED = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


def _join(path: str, *parts: object) -> str:
    return "/".join(p for p in (path, *map(str, parts)) if p)


def definition_problems(schema: Any, directory: Path | None) -> list[FieldError]:
    """Every refused or unresolvable reference, every pattern RE2 cannot compile, and keywords that
    would run Python's regex engine, with their path in the schema ("" is the root). Iterative:
    a schema nested deeply does not exhaust the stack here."""
    if not isinstance(schema, Mapping):
        return []
    root_id = schema.get("$id") if isinstance(schema.get("$id"), str) else ""
    resource = DRAFT202012.create_resource(schema)
    registry = forms_registry(directory).with_resource(root_id, resource)
    problems: list[FieldError] = []
    # In-place edges (subschemas applied to the same instance): a cycle of them recurses for ever.
    in_place: dict[int, list[int]] = {}
    paths: dict[int, str] = {}
    stack: list[tuple[Any, str, Any]] = [(schema, "", registry.resolver(base_uri=root_id))]
    while stack:
        node, path, resolver = stack.pop()
        if not isinstance(node, Mapping):
            continue
        paths.setdefault(id(node), path)
        edges = in_place.setdefault(id(node), [])
        edges.extend(id(node[k]) for k in ("not", "if", "then", "else") if isinstance(node.get(k), Mapping))
        for k in ("allOf", "anyOf", "oneOf"):
            if isinstance(node.get(k), list):
                edges.extend(id(sub) for sub in node[k] if isinstance(sub, Mapping))
        if isinstance(node.get("dependentSchemas"), Mapping):
            edges.extend(id(sub) for sub in node["dependentSchemas"].values() if isinstance(sub, Mapping))
        if path and isinstance(node.get("$id"), str):
            resolver = resolver.in_subresource(DRAFT202012.create_resource(node))
        for keyword in ("$ref", "$dynamicRef"):
            ref = node.get(keyword)
            if isinstance(ref, str):
                try:
                    edges.append(id(resolver.lookup(ref).contents))
                except (Unresolvable, NoSuchResource, ValueError, TypeError):
                    problems.append(FieldError(
                        _join(path, keyword),
                        f"引用 {keyword}「{ref[:200]}」不允许或无法解析：只能引用本表单内部（#/…）"
                        f"或 forms/ 目录中的表单（{FORM_ID_PREFIX}<表单名>），不会访问网络或其他文件"))
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            problems.extend(_pattern_problem(_join(path, "pattern"), pattern))
        if "unevaluatedProperties" in node:
            # jsonschema evaluates patternProperties for it with Python's re; forms close objects with
            # additionalProperties instead (forms/README.md).
            problems.append(FieldError(_join(path, "unevaluatedProperties"),
                                       "表单不支持 unevaluatedProperties，请使用 additionalProperties"))
            stack.append((node["unevaluatedProperties"], _join(path, "unevaluatedProperties"), resolver))
        for keyword in _ONE:
            if keyword in node:
                stack.append((node[keyword], _join(path, keyword), resolver))
        for keyword in _MANY:
            if isinstance(node.get(keyword), list):
                stack.extend((sub, _join(path, keyword, i), resolver) for i, sub in enumerate(node[keyword]))
        for keyword in _NAMED:
            if isinstance(node.get(keyword), Mapping):
                for key, sub in node[keyword].items():
                    if keyword == "patternProperties":
                        problems.extend(_pattern_problem(_join(path, keyword, key), key))
                    stack.append((sub, _join(path, keyword, key), resolver))
    cycle = _cycle(in_place)
    if cycle is not None:
        problems.append(FieldError(_join(paths.get(cycle, ""), "$ref"),
                                   "引用形成循环：该子模式经 $ref/allOf 等又回到自身而不进入数据，校验会无限递归"))
    return sorted(problems, key=lambda p: p.path)


def _cycle(edges: Mapping[int, list[int]]) -> int | None:
    """A node on a cycle of `edges` (iterative depth-first search), or None."""
    state: dict[int, int] = {}  # 1 on the current path, 2 done
    for start in edges:
        if state.get(start):
            continue
        state[start] = 1
        path: list[tuple[int, Iterator[int]]] = [(start, iter(edges.get(start, ())))]
        while path:
            node, children = path[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                path.pop()
            elif state.get(child) == 1:
                return child
            elif not state.get(child):
                state[child] = 1
                path.append((child, iter(edges.get(child, ()))))
    return None


def _pattern_problem(path: str, pattern: str) -> list[FieldError]:
    try:
        compile_pattern(pattern)
    except Re2Error as exc:
        return [FieldError(path, f"正则表达式「{pattern[:200]}」无法使用"
                                 f"（只支持 RE2 语法，不支持反向引用和环视）：{exc}")]
    return []
