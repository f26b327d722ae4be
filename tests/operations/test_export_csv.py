"""The dossier's audit.csv neutralises formula cells like the register export (service.domain.csv_cells)."""
from __future__ import annotations

import csv
import io

from service.operations.export import AUDIT_CSV_COLUMNS, _audit_csv


def test_audit_csv_cells_are_not_formulas() -> None:
    record: dict[str, object] = {k: "ab" for k, _ in AUDIT_CSV_COLUMNS}
    record |= {"seq": 1, "at": "2027-01-04T01:00:00", "actor": "\t=cmd|' /C calc'!A0", "action": "\r=HYPERLINK(1)",
               "work_item_id": None, "detail": {"opinion": "=1+1"}, "algorithm": " @SUM(A1)", "prev_hash": "-"}
    text = _audit_csv([record]).decode("utf-8").lstrip("\ufeff")
    header, row = list(csv.reader(io.StringIO(text)))
    assert header == [title for _, title in AUDIT_CSV_COLUMNS]
    cells = dict(zip([k for k, _ in AUDIT_CSV_COLUMNS], row, strict=True))
    assert cells["actor"] == "'\t=cmd|' /C calc'!A0" and cells["action"] == "'\r=HYPERLINK(1)"
    assert cells["algorithm"] == "' @SUM(A1)" and cells["prev_hash"] == "'-"
    assert cells["detail"] == '{"opinion": "=1+1"}' and cells["work_item_id"] == "" and cells["hash"] == "ab"
