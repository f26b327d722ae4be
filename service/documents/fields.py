"""A form's data as labelled document fields, the way the task page's read-only form shows it
(static/js/schema-form.js): the schema's titles in the author's order, repeatable rows as tables,
amounts in 万元, booleans 是/否, attachments by file name."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from service.domain.labels import money

UNIT_SUFFIX = re.compile(r"（(万元|%|月|个|人|天|年)）$")
# An attachment id → how the document names it (file name); None when the id is unknown.
FileName = Callable[[str], str | None]


@dataclass
class Field:
    """kind: text | long | files | table | group."""
    key: str
    label: str
    kind: str = "text"
    text: str = ""
    files: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)


def _props(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    props = (schema or {}).get("properties")
    return {k: v for k, v in props.items() if isinstance(v, dict)} if isinstance(props, dict) else {}


def ordered(schema: Mapping[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """The author's property order; `x-order` where given; 办理意见 last (as the page does)."""
    entries = list(_props(schema).items())
    order = (schema or {}).get("x-order")
    if isinstance(order, list):
        rank = {k: i for i, k in enumerate(order)}
        entries.sort(key=lambda e: rank.get(e[0], 10**9))
    return sorted(entries, key=lambda e: e[0] == "opinion")


def label(schema: Mapping[str, Any], key: str) -> str:
    return str(schema.get("title") or key)


def _unit(schema: Mapping[str, Any]) -> str | None:
    m = UNIT_SUFFIX.search(str(schema.get("title") or ""))
    return m.group(1) if m else (str(schema["x-unit"]) if schema.get("x-unit") else None)


def _is_file(schema: Mapping[str, Any]) -> bool:
    return schema.get("x-widget") == "file"


def _file_list(value: Any, names: FileName) -> list[str]:
    ids = value if isinstance(value, list) else [value]
    return [names(str(i)) or f"附件 {i}" for i in ids if i not in (None, "")]


def scalar_text(schema: Mapping[str, Any], value: Any, names: FileName) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if _is_file(schema) or (schema.get("type") == "array" and _is_file(schema.get("items") or {})):
        return "、".join(_file_list(value, names)) or "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        unit = _unit(schema)
        if unit == "万元":
            return money(value)
        number = f"{value:,.2f}" if schema.get("multipleOf") == 0.01 else f"{value:,}"
        return f"{number} {unit}" if unit else number
    if isinstance(value, list):
        items = schema.get("items") or {}
        return "、".join(scalar_text(items, v, names) for v in value) or "—"
    if isinstance(value, dict):
        props = _props(schema)
        return "；".join(f"{label(props.get(k, {}), k)}：{scalar_text(props.get(k, {}), v, names)}"
                        for k, v in value.items())
    return str(value)


def _shown_label(schema: Mapping[str, Any], key: str) -> str:
    # The unit moves into the value ("120.00 万元"), so the label drops its （万元）.
    return UNIT_SUFFIX.sub("", label(schema, key))


def build(schema: Mapping[str, Any] | None, data: Mapping[str, Any] | None, names: FileName) -> list[Field]:
    """The filled fields of a form, in order; data keys the schema does not know follow by name."""
    data = data or {}
    known = _props(schema)
    out: list[Field] = []
    for key, sub in ordered(schema):
        if key in data:
            out.append(_field(key, sub, data[key], names))
    for key, value in data.items():
        if key not in known:
            out.append(_field(key, {}, value, names))
    return out


def _field(key: str, schema: Mapping[str, Any], value: Any, names: FileName) -> Field:
    items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
    if _is_file(schema) or (schema.get("type") == "array" and _is_file(items)):
        return Field(key, label(schema, key), "files", files=_file_list(value, names))
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        cols = ordered(items) or [(k, {}) for k in dict.fromkeys(k for row in value for k in row)]
        # Cells carry their unit ("290.00 万元"), so the column header drops its （万元）.
        return Field(key, label(schema, key), "table", columns=[_shown_label(s, k) for k, s in cols],
                     rows=[[scalar_text(s, row.get(k), names) for k, s in cols] for row in value])
    if isinstance(value, dict):
        sub = Field(key, label(schema, key), "group")
        sub.children = build(schema, value, names)
        return sub
    kind = "long" if schema.get("x-widget") == "textarea" else "text"
    shown = _shown_label(schema, key) if isinstance(value, int | float) and not isinstance(value, bool) else \
        label(schema, key)
    return Field(key, shown, kind, text=scalar_text(schema, value, names))


def file_fields(schema: Mapping[str, Any] | None, data: Mapping[str, Any] | None,
                prefix: str = "") -> dict[str, str]:
    """attachment id → the label of the field that holds it (nested: 分包信息 › 合同文件)."""
    out: dict[str, str] = {}
    props = _props(schema)
    for key, value in (data or {}).items():
        sub = props.get(key, {})
        title = f"{prefix}{label(sub, key)}"
        items = sub.get("items") if isinstance(sub.get("items"), dict) else {}
        if _is_file(sub) or (sub.get("type") == "array" and _is_file(items)):
            for i in value if isinstance(value, list) else [value]:
                if i not in (None, ""):
                    out.setdefault(str(i), title)
        elif isinstance(value, list):
            for row in value:
                if isinstance(row, dict):
                    out.update({k: v for k, v in file_fields(items, row, f"{title} › ").items() if k not in out})
        elif isinstance(value, dict):
            out.update({k: v for k, v in file_fields(sub, value, f"{title} › ").items() if k not in out})
    return out
