"""CSV cells that a spreadsheet will not run as formulas (CSV injection).

Excel and LibreOffice start a formula at `=`, `+`, `-` or `@` (and the full-width forms an IME
types), and they skip leading spaces, tabs, carriage returns and other control characters before
looking, so `\\t=cmd|...` and `\\r=HYPERLINK(...)` are formulas too. Such a cell gets a leading
apostrophe, which spreadsheets show as text and do not display."""
from __future__ import annotations

import unicodedata
from typing import Any

FORMULA_START = frozenset("=+-@＝＋－＠")
# A leading TAB or CR alone is refused too (OWASP): some importers treat it as a cell separator.
_ALWAYS = ("\t", "\r")


def _skippable(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def is_formula_like(text: str) -> bool:
    if text.startswith(_ALWAYS):
        return True
    for ch in text:
        if not _skippable(ch):
            return ch in FORMULA_START
    return False


def safe_cell(value: Any) -> str:
    """The text of a CSV cell: None empty, booleans 是/否, formula-like text behind an apostrophe."""
    text = "" if value is None else ("是" if value is True else "否" if value is False else str(value))
    return "'" + text if is_formula_like(text) else text
