"""Documents for filing (第十六条): the dossier summary and the 审批单 of each step, rendered on the
server from the forms' JSON Schemas (labels, tables, 万元, dates) as HTML with a print stylesheet,
and as PDF through WeasyPrint. Pure rendering: callers pass plain dicts, nothing here reads the
database (docs/documents.md)."""
