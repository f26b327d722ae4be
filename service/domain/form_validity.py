"""A form schema compiled into plain closures that answer one question: is this data valid?

jsonschema walks a schema through its keyword dispatch for every value, building a validator per
subschema and an error generator per keyword: 40 µs to 1.5 ms per form here, on every completion
and every draft check, although nearly every submission is valid. `compile_validity` turns a
schema that uses only the keywords below into nested closures (no code is generated or executed
from the schema) that say True only when jsonschema with govflow's keywords
(service.domain.schema_safety) finds no error. Anything else — a False, a keyword not compiled
here, `$ref`, a recursion limit — sends the data to jsonschema, which words the errors as before.
So the closures decide nothing a user sees: they can only skip a walk whose answer is "no errors".

The data must be what `forms._decimal_copy` makes of it (JSON types, numbers as int or Decimal,
non-finite numbers as float), and the schema its Decimal copy too: the same values jsonschema sees.
`tests/forms/test_form_validity.py` compares the two on every form with generated data."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from jsonschema._utils import equal

from service.domain.schema_safety import FORMAT_CHECKER, all_unique, exact_fraction, is_multiple, pattern_found

Check = Callable[[Any], bool]

# Keywords that only annotate: jsonschema ignores them when validating, and so does this.
_ANNOTATIONS = frozenset({"title", "description", "examples", "default", "$comment", "$id", "readOnly",
                          "writeOnly", "deprecated", "contentMediaType", "contentEncoding"})
# `then`/`else` act through `if` (jsonschema reads them from the schema holding `if`).
_COMPILED = frozenset({"type", "enum", "const", "minLength", "maxLength", "pattern", "format", "minimum",
                       "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "required",
                       "properties", "additionalProperties", "items", "minItems", "maxItems", "uniqueItems",
                       "if", "then", "else", "allOf", "anyOf", "oneOf", "not", "minProperties",
                       "maxProperties"})


class _NotCompiled(Exception):
    pass


def _is_number(x: Any) -> bool:
    # bool is not a number here (type(True) is bool); a non-finite number stays a float.
    return type(x) is int or type(x) is Decimal or type(x) is float


_TYPES: dict[str, Check] = {
    "string": lambda x: type(x) is str,
    "object": lambda x: type(x) is dict,
    "array": lambda x: type(x) is list,
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
    "number": _is_number,
    # Draft 2020-12: an integral float is an integer; a Decimal (every fraction here) is not.
    "integer": lambda x: type(x) is int or (type(x) is float and x.is_integer()),
}


def compile_validity(schema: Any) -> Check | None:
    """The closures for `schema` (its Decimal copy), or None when it uses anything not compiled here."""
    if isinstance(schema, Mapping) and schema.get("$schema") not in (None, "https://json-schema.org/draft/2020-12/schema"):
        return None
    try:
        root = dict(schema) if isinstance(schema, Mapping) else schema
        if isinstance(root, dict):
            root.pop("$schema", None)
        check = _compile(root)
    except (_NotCompiled, RecursionError):
        return None

    def valid(data: Any) -> bool:
        try:
            return check(data)
        except RecursionError:  # let jsonschema, which catches it, answer
            return False

    return valid


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda x: True
    if len(checks) == 1:
        return checks[0]

    def every(x: Any) -> bool:
        # A loop, not all() over a generator: this runs for every value of every submission.
        for check in checks:
            if not check(x):
                return False
        return True

    return every


def _compile(schema: Any) -> Check:
    if schema is True:
        return lambda x: True
    if schema is False:
        return lambda x: False
    if not isinstance(schema, Mapping):
        raise _NotCompiled
    for key in schema:
        if key not in _COMPILED and key not in _ANNOTATIONS and not (isinstance(key, str) and key.startswith("x-")):
            raise _NotCompiled(key)
    checks: list[Check] = []
    if "type" in schema:
        checks.append(_type(schema["type"]))
    if "enum" in schema:
        values = list(schema["enum"])
        texts = frozenset(v for v in values if type(v) is str)
        checks.append(lambda x: (type(x) is str and x in texts) or any(equal(x, v) for v in values))
    if "const" in schema:
        const = schema["const"]
        checks.append(lambda x: equal(x, const))
    checks.extend(_string(schema))
    checks.extend(_number(schema))
    checks.extend(_object(schema))
    checks.extend(_array(schema))
    checks.extend(_applicators(schema))
    return _all(checks)


def _type(spec: Any) -> Check:
    names = [spec] if isinstance(spec, str) else list(spec)
    try:
        tests = [_TYPES[n] for n in names]
    except (KeyError, TypeError):
        raise _NotCompiled("type") from None
    if len(tests) == 1:
        return tests[0]
    return lambda x: any(t(x) for t in tests)


def _sizes(schema: Mapping[str, Any], kind: type, least_key: str, most_key: str) -> list[Check]:
    """minLength/maxLength, minItems/maxItems, minProperties/maxProperties: len() of `kind` only."""
    out: list[Check] = []
    if least_key in schema:
        least = schema[least_key]
        out.append(lambda x: type(x) is not kind or len(x) >= least)
    if most_key in schema:
        most = schema[most_key]
        out.append(lambda x: type(x) is not kind or len(x) <= most)
    return out


def _string(schema: Mapping[str, Any]) -> list[Check]:
    out = _sizes(schema, str, "minLength", "maxLength")
    if "pattern" in schema:
        pattern = schema["pattern"]
        out.append(lambda x: type(x) is not str or pattern_found(pattern, x))
    if "format" in schema:
        fmt = schema["format"]
        out.append(lambda x: FORMAT_CHECKER.conforms(x, fmt))
    return out


def _number(schema: Mapping[str, Any]) -> list[Check]:
    # A float here is NaN or ±Infinity (finite numbers are Decimals): jsonschema's comparison of one
    # with a Decimal raises, so such data is left to it (HTTP refuses them before: http/json_input).
    out: list[Check] = []
    if "minimum" in schema:
        low = schema["minimum"]
        out.append(lambda x: not _is_number(x) or (type(x) is not float and not x < low))
    if "maximum" in schema:
        high = schema["maximum"]
        out.append(lambda x: not _is_number(x) or (type(x) is not float and not x > high))
    if "exclusiveMinimum" in schema:
        above = schema["exclusiveMinimum"]
        out.append(lambda x: not _is_number(x) or (type(x) is not float and not x <= above))
    if "exclusiveMaximum" in schema:
        below = schema["exclusiveMaximum"]
        out.append(lambda x: not _is_number(x) or (type(x) is not float and not x >= below))
    if "multipleOf" in schema:
        step = exact_fraction(schema["multipleOf"])
        out.append(lambda x: not _is_number(x) or is_multiple(x, step))
    return out


def _object(schema: Mapping[str, Any]) -> list[Check]:
    out: list[Check] = []
    if "required" in schema:
        names = list(schema["required"])
        out.append(lambda x: type(x) is not dict or all(n in x for n in names))
    out.extend(_sizes(schema, dict, "minProperties", "maxProperties"))
    properties = schema.get("properties", {})
    if not isinstance(properties, Mapping):
        raise _NotCompiled("properties")
    fields = [(name, _compile(sub)) for name, sub in properties.items()]
    if fields:
        def each_field(x: Any) -> bool:
            if type(x) is not dict:
                return True
            for name, check in fields:
                if name in x and not check(x[name]):
                    return False
            return True

        out.append(each_field)
    if "additionalProperties" in schema:
        known = frozenset(properties)
        rest = schema["additionalProperties"]
        if rest is False:
            out.append(lambda x: type(x) is not dict or all(k in known for k in x))
        elif rest is not True:
            extra = _compile(rest)
            out.append(lambda x: type(x) is not dict or all(extra(v) for k, v in x.items() if k not in known))
    return out


def _array(schema: Mapping[str, Any]) -> list[Check]:
    out = _sizes(schema, list, "minItems", "maxItems")
    if "items" in schema:
        item = _compile(schema["items"])
        out.append(lambda x: type(x) is not list or all(item(v) for v in x))
    if schema.get("uniqueItems") is True:
        out.append(lambda x: type(x) is not list or all_unique(x))
    return out


def _applicators(schema: Mapping[str, Any]) -> list[Check]:
    out: list[Check] = []
    if "if" in schema:
        test = _compile(schema["if"])
        then = _compile(schema["then"]) if "then" in schema else None
        other = _compile(schema["else"]) if "else" in schema else None
        out.append(lambda x: (then is None or then(x)) if test(x) else (other is None or other(x)))
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            subs = [_compile(s) for s in schema[key]]
            if key == "allOf":
                out.append(lambda x, subs=subs: all(s(x) for s in subs))
            elif key == "anyOf":
                out.append(lambda x, subs=subs: any(s(x) for s in subs))
            else:
                out.append(lambda x, subs=subs: sum(1 for s in subs if s(x)) == 1)
    if "not" in schema:
        negated = _compile(schema["not"])
        out.append(lambda x: not negated(x))
    return out
