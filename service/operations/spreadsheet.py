"""The 项目库 register as an Excel workbook (openpyxl): the same rows, columns and words as the CSV
(service.operations.dossier.register_cells), a bold frozen header and widths that fit Chinese text.

Text cells go through the CSV rule against formula injection (service.domain.csv_cells): openpyxl
writes a string starting with `=` as a formula, so such text is stored behind an apostrophe."""
from __future__ import annotations

import io
import unicodedata
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from service.domain.csv_cells import safe_cell
from service.operations.dossier import CSV_COLUMNS, register_cells

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Numbers stay numbers (sums and filters in Excel); everything else is text.
_NUMERIC = {"budget_year", "estimate"}


def _width(text: str) -> int:
    # East Asian wide characters take two columns of Excel's width unit.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def register_xlsx(rows: list[dict[str, Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "项目库"
    keys = [k for k, _ in CSV_COLUMNS]
    ws.append([title for _, title in CSV_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center")
    widths = [_width(title) for _, title in CSV_COLUMNS]
    for r in rows:
        values = []
        for key, value in zip(keys, register_cells(r), strict=True):
            if key in _NUMERIC and isinstance(value, int | float) and not isinstance(value, bool):
                values.append(value)
            else:
                # Control characters are not allowed in XLSX text at all (openpyxl refuses them).
                values.append(ILLEGAL_CHARACTERS_RE.sub("", safe_cell(value)) if value is not None else None)
        ws.append(values)
        for i, v in enumerate(values):
            widths[i] = max(widths[i], _width("" if v is None else str(v)))
    for row in ws.iter_rows(min_row=2, min_col=keys.index("estimate") + 1, max_col=keys.index("estimate") + 1):
        for cell in row:
            cell.number_format = "#,##0.00"
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(w + 2, 8), 60)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(keys))}{max(ws.max_row, 1)}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
