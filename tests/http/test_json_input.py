"""The JSON body reader (service.http.json_input), without an app: depth without recursion, markers
for NaN and out-of-range numbers, paths of NUL and lone surrogates."""
from __future__ import annotations

import pytest

from service.http.json_input import MAX_DEPTH, MalformedJson, nesting_depth_exceeds, parse_object


def test_depth_is_counted_outside_strings() -> None:
    assert not nesting_depth_exceeds("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert nesting_depth_exceeds("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert not nesting_depth_exceeds('{"a": "' + "[" * 1000 + '\\"' + "{" * 100 + '"}')
    assert not nesting_depth_exceeds("[" * 1000)  # unbalanced: the decoder's syntax error, not depth
    assert nesting_depth_exceeds('{"a":' * 1_000_000 + "1" + "}" * 1_000_000)


def test_parse_object() -> None:
    assert parse_object(b'{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    assert parse_object('\ufeff{"a": 1}'.encode()) == {"a": 1}
    assert parse_object('{"a": "中文"}'.encode("utf-16")) == {"a": "中文"}
    assert parse_object(b"[1]") is None and parse_object(b"{x") is None and parse_object(b"\xff\xfe\xfa") is None


@pytest.mark.parametrize(("body", "path"), [
    (b'{"a": NaN}', "a"), (b'{"a": [1, -Infinity]}', "a/1"), (b'{"a": {"b": 1e999}}', "a/b"),
    (b'{"a": "\\ud800"}', "a"), (b'{"\\udc00": 1}', "\\udc00"), (b'{"a": "\\u0000"}', "a"),
    (b'{"a": ' + b"9" * 101 + b"}", "a"),
])
def test_refused_with_the_path(body: bytes, path: str) -> None:
    with pytest.raises(MalformedJson) as err:
        parse_object(body)
    assert err.value.field == path and err.value.errors[0].path == path
