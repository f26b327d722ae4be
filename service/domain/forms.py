"""Task forms: JSON Schemas from forms/, validated on the server on every completion, with
field-by-field zh-CN messages built from the schema's own titles."""
from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing.exceptions import Unresolvable

from service.domain import cross_field_rules
from service.domain.cross_field_rules import RULES_KEY
from service.domain.errors import FieldError, NotFound, ValidationFailed
from service.domain.form_validity import compile_validity
from service.domain.schema_safety import FORMAT_CHECKER, FormValidator, definition_problems, forms_registry

# The repository's forms/ (the default of Settings.forms_dir), for forms built without a directory.
DEFAULT_FORMS_DIR = Path(__file__).resolve().parents[2] / "forms"
# Root annotation (forms/README.md): tasks of this form may be completed together with one set of
# values from the inbox (批量办理, service.operations.batch). Validators ignore it.
BATCHABLE_KEY = "x-batchable"


class FormDefinitionError(ValueError):
    """The schema cannot be used as a form: `problems` name the path in the schema and the reason."""

    def __init__(self, problems: list[FieldError]) -> None:
        super().__init__("；".join(f"{p.path or '/'}：{p.message}" for p in problems))
        self.problems = problems


def _path(err: ValidationError) -> str:
    parts = [str(p) for p in err.absolute_path]
    if err.validator == "required":
        missing = _missing_property(err)
        if missing:
            parts.append(missing)
    return "/".join(parts)


def _missing_property(err: ValidationError) -> str | None:
    # jsonschema words it "'x' is a required property"; the name is the first quoted token.
    msg = err.message
    if msg.startswith("'") and "'" in msg[1:]:
        return msg[1 : msg.index("'", 1)]
    return None


def _decimal_copy(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=_plain), parse_float=Decimal)


def _plain(value: Any) -> Any:
    # Callers outside HTTP may hand in Decimals; NaN and huge ones then fail validation, not json.
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON data")


class Form:
    def __init__(self, name: str, schema: dict[str, Any], directory: Path | None = DEFAULT_FORMS_DIR) -> None:
        """`directory` is the forms/ that `$ref`s may reach besides the form itself (None: none)."""
        self.name = name
        self.schema = schema
        Draft202012Validator.check_schema(schema)
        problems = definition_problems(schema, directory)
        if BATCHABLE_KEY in schema and not isinstance(schema[BATCHABLE_KEY], bool):
            problems = [*problems, FieldError(BATCHABLE_KEY, f"{BATCHABLE_KEY}（可批量办理）：应为 true 或 false")]
        if RULES_KEY in schema:  # cross-field rules (service.domain.cross_field_rules) by id
            problems = [*problems, *(FieldError(RULES_KEY, m) for m in cross_field_rules.unknown(schema[RULES_KEY]))]
        if problems:
            raise FormDefinitionError(problems)
        # Validation runs on Decimal copies of schema and data: with floats, `multipleOf: 0.01`
        # rejects about one cent amount in seven (0.07, 131.58 …) through binary rounding.
        exact = _decimal_copy(schema)
        self._validator = FormValidator(exact, format_checker=FORMAT_CHECKER, registry=forms_registry(directory))
        # Valid data (nearly every submission) skips jsonschema's walk; errors are still its own.
        self._valid = compile_validity(exact)

    @property
    def batchable(self) -> bool:
        return self.schema.get(BATCHABLE_KEY) is True

    @property
    def rules(self) -> list[str]:
        """The ids of the cross-field rules this form runs after the schema (root `x-rules`)."""
        return list(self.schema.get(RULES_KEY) or [])

    @property
    def title(self) -> str:
        return str(self.schema.get("title", self.name))

    def _title_at(self, path: list[str]) -> str:
        node: Any = self.schema
        title = ""
        for part in path:
            if not isinstance(node, dict):
                break
            if part.isdigit() and "items" in node:
                node = node["items"]
                title = f"{title}第{int(part) + 1}行" if title else f"第{int(part) + 1}行"
                continue
            props = node.get("properties", {})
            if part not in props:
                # Conditional fields (if/then) are declared under "then" or "allOf".
                for branch in [node.get("then", {}), *node.get("allOf", [])]:
                    if isinstance(branch, dict) and part in branch.get("properties", {}):
                        props = branch["properties"]
                        break
            node = props.get(part, {})
            label = node.get("title", part) if isinstance(node, dict) else part
            title = f"{title} › {label}" if title else label
        return title or "表单"

    def _message(self, err: ValidationError) -> str:
        path = [str(p) for p in err.absolute_path]
        v, val = err.validator, err.validator_value
        if v == "required":
            missing = _missing_property(err) or ""
            return f"{self._title_at([*path, missing])}：必填"
        label = self._title_at(path)
        match v:
            case "type":
                names = {"string": "文本", "number": "数字", "integer": "整数", "boolean": "是/否",
                         "array": "列表", "object": "对象", "null": "空"}
                want = "或".join(names.get(t, t) for t in (val if isinstance(val, list) else [val]))
                return f"{label}：应为{want}"
            case "enum":
                return f"{label}：只能是 {'、'.join(map(str, val))} 之一"
            case "const":
                return f"{label}：必须为 {val}"
            case "minimum":
                return f"{label}：不能小于 {val}"
            case "maximum":
                return f"{label}：不能大于 {val}"
            case "exclusiveMinimum":
                return f"{label}：必须大于 {val}"
            case "multipleOf":
                return f"{label}：最多保留 {_decimals(val)} 位小数" if val < 1 else f"{label}：必须是 {val} 的倍数"
            case "minLength":
                return f"{label}：不能为空" if val == 1 else f"{label}：至少 {val} 个字"
            case "maxLength":
                return f"{label}：不能超过 {val} 个字"
            case "minItems":
                return f"{label}：至少填写 {val} 项"
            case "maxItems":
                return f"{label}：最多填写 {val} 项"
            case "pattern":
                return f"{label}：格式不正确"
            case "format":
                fmt = {"date": "日期（YYYY-MM-DD）", "email": "电子邮箱", "uri": "网址", "date-time": "日期时间"}
                return f"{label}：应为有效的{fmt.get(val, val)}"
            case "additionalProperties":
                extra = ", ".join(sorted(set(err.instance) - set(err.schema.get("properties", {}))))
                return f"{label}：包含表单未定义的字段 {extra}"
            case "uniqueItems":
                return f"{label}：不能有重复项"
        return f"{label}：{err.message}"

    def validate(self, data: Any) -> list[FieldError]:
        if not isinstance(data, Mapping):
            return [FieldError("", "表单数据应为对象")]
        try:
            exact = _decimal_copy(data)
            if self._valid is not None and self._valid(exact):
                return []
            errors = sorted(self._validator.iter_errors(exact),
                            key=lambda e: [str(p) for p in e.absolute_path])
        except RecursionError:
            # A `$ref` cycle that never reaches into the data (e.g. {"$ref": "#"}).
            return [FieldError("", "表单定义存在循环引用，无法校验")]
        except Unresolvable as exc:  # refused at save; a forms/ file may still name a missing form
            return [FieldError("", f"表单定义中的引用无法解析：{exc}")]
        return [FieldError(_path(e), self._message(e)) for e in errors]

    def check(self, data: Any) -> None:
        errors = self.validate(data)
        if errors:
            raise ValidationFailed(errors)


def _decimals(step: float) -> int:
    text = f"{step:f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


class FormRegistry:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @cached_property
    def _forms(self) -> dict[str, Form]:
        forms = {}
        for path in sorted(self.directory.glob("*.json")):
            forms[path.stem] = Form(path.stem, json.loads(path.read_text(encoding="utf-8")), self.directory)
        return forms

    def names(self) -> list[str]:
        return list(self._forms)

    def exists(self, name: str) -> bool:
        return name in self._forms

    def get(self, name: str) -> Form:
        try:
            return self._forms[name]
        except KeyError:
            raise NotFound(f"表单 {name} 不存在") from None
