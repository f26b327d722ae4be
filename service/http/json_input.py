"""Reading a JSON request body so that no body can become a 500 or exhaust the stack.

Python's decoder accepts NaN, Infinity and 1e400 (→ inf), which are not JSON and break exact
arithmetic further on; it keeps lone surrogates ("\\ud800"), which no UTF-8 text column can hold;
and it recurses once per nesting level, as did every walk over the result. Here the nesting depth
is measured without recursion before decoding, and one iterative walk reports every non-finite or
out-of-range number, NUL and lone surrogate with its path.

Cost: decoding keeps the C fast paths (only NaN/Infinity go through a Python hook), and the walk —
about as costly as decoding — runs only when the text can hold a problem at all: a `\\u0000` or
`\\udXXX` escape (raw NULs and surrogates are not valid JSON text or UTF-8), a three-digit exponent,
a run of more than 100 digits, or a NaN/Infinity."""
from __future__ import annotations

import json
import math
import re
from typing import Any

from service.domain.errors import FieldError, ValidationFailed

MAX_DEPTH = 64
MAX_INTEGER_DIGITS = 100
MAX_PROBLEMS = 20
_MAX_INTEGER = 10**MAX_INTEGER_DIGITS

# A JSON string, unrolled so that matching is linear: "…" with backslash escapes inside.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SUSPECT_TEXT = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_SUSPECT_NUMBER = re.compile(r"[eE][+-]?[0-9]{3}|[0-9]{" + str(MAX_INTEGER_DIGITS + 1) + "}")


class MalformedJson(ValidationFailed):
    """400: the body is JSON the service will not take; `errors` name the path of each problem."""

    code = "bad_request"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors, message=errors[0].message)
        self.field = errors[0].path or None


class _Constant:
    """NaN / Infinity / -Infinity as decoded, until the walk names its path."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _skeleton(text: str) -> str:
    """The text without its strings: brackets, numbers, literals and punctuation."""
    return _STRING.sub("", text)


def nesting_depth_exceeds(text: str, limit: int = MAX_DEPTH, *, skeleton: str | None = None) -> bool:
    """Whether arrays/objects nest deeper than `limit`, counted without recursion: strings are cut
    out, the brackets kept, and innermost pairs removed `limit` times. Malformed bracket sequences
    stop shrinking and are left to the decoder to report."""
    brackets = _NOT_BRACKETS.sub("", _skeleton(text) if skeleton is None else skeleton)
    for _ in range(limit):
        if not brackets:
            return False
        shorter = brackets.replace("[]", "").replace("{}", "")
        if shorter == brackets:
            return False  # unbalanced: a syntax error, not depth
        brackets = shorter
    return bool(brackets)


def _label(key: str) -> str:
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", key).replace("\x00", "\\u0000")


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "不能包含空字符（\\u0000）"
    if _SURROGATE.search(text):
        return "包含无效的 Unicode 字符（未配对的代理项，如 \\ud800）"
    return None


def _number_problem(node: Any) -> str | None:
    kind = type(node)
    if kind is _Constant:
        text = node.text
    elif kind is float and math.isinf(node):
        text = "超出浮点范围的数"
    elif kind is int and abs(node) >= _MAX_INTEGER:
        text = f"{str(node)[:20]}…（超过 {MAX_INTEGER_DIGITS} 位）"
    else:
        return None
    return f"数值 {text} 无效或超出允许范围（不接受 NaN、Infinity 及超出范围的数）"


def _path(link: tuple[Any, Any] | None) -> str:
    parts: list[str] = []
    while link is not None:
        link, key = link
        parts.append(_label(key) if isinstance(key, str) else str(key))
    return "/".join(reversed(parts))


def problems(value: Any, *, text: bool = True, numbers: bool = True) -> list[FieldError]:
    """NULs and lone surrogates (`text`) and non-finite or out-of-range numbers (`numbers`) anywhere
    in `value`, with their paths. Iterative; only containers go on the stack, each with a link to
    its parent that is spelled out as a path only for a problem."""
    found: list[FieldError] = []

    def add(link: tuple[Any, Any] | None, problem: str, prefix: str = "") -> None:
        where = _path(link)
        found.append(FieldError(where, f"{where or '请求体'}：{prefix}{problem}"))

    if type(value) not in (dict, list):
        problem = (_text_problem(value) if text else None) if type(value) is str else _number_problem(value)
        return [FieldError("", f"请求体：{problem}")] if problem else []
    stack: list[tuple[Any, tuple[Any, Any] | None]] = [(value, None)]
    while stack and len(found) < MAX_PROBLEMS:
        node, link = stack.pop()
        is_dict = type(node) is dict
        for key, item in (node.items() if is_dict else enumerate(node)):
            if is_dict and text:
                key_problem = _text_problem(key)
                if key_problem:
                    add((link, key), key_problem, "字段名")
            kind = type(item)
            if kind is dict or kind is list:
                stack.append((item, (link, key)))
            elif kind is str:
                if text:
                    problem = _text_problem(item)
                    if problem:
                        add((link, key), problem)
            elif numbers and kind is not bool and item is not None:
                problem = _number_problem(item)
                if problem:
                    add((link, key), problem)
    return sorted(found, key=lambda e: e.path)


def parse_object(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object; None when it is not JSON or not an object (the caller's 400).
    Raises MalformedJson for JSON the service refuses (too deep, NaN, lone surrogates, NUL)."""
    try:
        text = raw.decode(json.detect_encoding(raw))
    except (UnicodeDecodeError, LookupError):
        return None
    skeleton = _skeleton(text)
    if nesting_depth_exceeds(text, skeleton=skeleton):
        raise MalformedJson([FieldError("", f"请求体嵌套层数超过 {MAX_DEPTH} 层")])
    constants: list[_Constant] = []

    def constant(word: str) -> _Constant:
        constants.append(_Constant(word))
        return constants[-1]

    try:
        data = json.loads(text, parse_constant=constant)
    except (ValueError, RecursionError):  # ValueError also for integers past Python's 4300 digits
        return None
    check_text = _SUSPECT_TEXT.search(text) is not None
    check_numbers = bool(constants) or _SUSPECT_NUMBER.search(skeleton) is not None
    if check_text or check_numbers:
        found = problems(data, text=check_text, numbers=check_numbers)
        if found:
            raise MalformedJson(found)
    return data if isinstance(data, dict) else None
