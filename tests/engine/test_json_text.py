"""service.storage.json_text.encode: the engine state's JSON, written by orjson, reads back as what
json.dumps wrote, and falls back to json where orjson refuses."""
from __future__ import annotations

import json

from service.storage.json_text import encode


def _json(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_it_writes_the_text_json_writes_for_the_engines_data():
    value = {"项目名称": "智慧教育平台", "estimate": 480.5, "year": 2027, "ok": True, "none": None,
             "list": [1, 2.25, "a\"b\\c", "\u2028\u2029", "\x00\x1f"], "nested": {"k": [{"x": -0.0}]},
             "last_state_change": 1796174000.7172947, "big": 2**63 - 1}
    assert encode(value) == _json(value)
    assert json.loads(encode(value)) == value


def test_floats_read_back_as_the_same_value():
    for x in (1e-05, 1e16, 0.1 + 0.2, 123456789.123456789, 5e-324):
        assert json.loads(encode({"x": x}))["x"] == x


def test_what_orjson_refuses_goes_to_json():
    value = {"big": 10**30, 1: "a key that is not a string"}
    assert encode(value) == _json(value)
