"""Compact JSON text for what is written on every completion: the engine state and the rows of
the one-statement write (docs/performance.md)."""
from __future__ import annotations

import json
from typing import Any

import orjson


def encode(value: Any) -> str:
    """What `json.dumps(value, ensure_ascii=False, separators=(",", ":"))` writes, about ten times
    faster (a float may be spelt otherwise, 0.00001 for 1e-05: the same value). What orjson
    refuses and json writes (integers past 64 bits, keys that are not strings) goes to json.
    orjson writes NaN and ±Infinity as null where json writes text that is not JSON; neither
    passes the HTTP input (service.http.json_input)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
