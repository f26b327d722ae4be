"""Helpers shared by views: the context, query parameters with zh-CN errors."""
from __future__ import annotations

from flask import current_app, request

from service.domain.errors import FieldError, ValidationFailed
from service.operations.context import Govflow


def ctx() -> Govflow:
    return current_app.extensions["govflow"]  # type: ignore[no-any-return]


def int_arg(name: str, *, minimum: int = 0, maximum: int = 2**31 - 1, default: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed([FieldError(name, f"{name}：应为整数")]) from None
    if not minimum <= value <= maximum:
        raise ValidationFailed([FieldError(name, f"{name}：须在 {minimum}–{maximum} 之间")])
    return value


def choice_arg(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = request.args.get(name) or default
    if raw not in choices:
        raise ValidationFailed([FieldError(name, f"{name}：只能是 {'、'.join(choices)} 之一")])
    return raw


def bool_arg(name: str) -> bool:
    raw = (request.args.get(name) or "").lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ValidationFailed([FieldError(name, f"{name}：应为 true 或 false")])


def str_arg(name: str, max_length: int = 100) -> str | None:
    raw = request.args.get(name)
    if raw is not None and len(raw) > max_length:
        raise ValidationFailed([FieldError(name, f"{name}：不能超过 {max_length} 个字")])
    return raw or None
