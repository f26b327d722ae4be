"""CSV injection: formula-like cells get a leading apostrophe (service.domain.csv_cells)."""
from __future__ import annotations

import pytest

from service.domain.csv_cells import safe_cell


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=cmd", "\r=HYPERLINK(1)", "\t", "\rabc",
                                  " =1", "\n=1", "\u3000=1", "\u00a0+1", "\u200b=1", "\x0b@x", "＝1", "－2"])
def test_formula_like_text_is_neutralised(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(("value", "cell"), [("东营市智慧教育平台", "东营市智慧教育平台"), ("a=1", "a=1"), ("", ""),
                                             ("  ", "  "), (None, ""), (True, "是"), (False, "否"), (12.5, "12.5"),
                                             ("'=x", "'=x")])
def test_other_values(value: object, cell: str) -> None:
    assert safe_cell(value) == cell
