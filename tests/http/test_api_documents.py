"""Messages and the archive read like documents (docs/documents.md): the 第十六条 dossier's summary and
审批单 (HTML and PDF), the register as CSV and XLSX in Chinese and Beijing time, and 导出档案 offered
only to who may export."""
from __future__ import annotations

import csv
import io
import re
import zipfile

from openpyxl import load_workbook
from pypdf import PdfReader

from service.operations.identity import DEMO_PASSWORD

ENGLISH_STATES = re.compile(r"\b(active|completed|ended|open|cancelled)\b")
UTC_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
MICROSECONDS = re.compile(r"\d\d:\d\d:\d\d\.\d+")


def _project_with_plan_document(api, driver) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    driver.run(pid, until="write_plan")
    up = api.as_("edu").post(f"/api/projects/{pid}/attachments",
                             data={"file": (io.BytesIO("建设方案正文".encode() * 50), "智慧教育建设方案.pdf")},
                             content_type="multipart/form-data")
    assert up.status_code == 201, up.json
    driver.complete(pid, "write_plan", plan_document=str(up.json["id"]))
    driver.run(pid, until="review_consolidate")
    return pid, up.json


def _text(html: str) -> str:
    """What a reader sees: the text without tags and the stylesheet."""
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_dossier_reads_like_a_document(api, driver):
    pid, att = _project_with_plan_document(api, driver)
    r = api.as_("edu").get(f"/api/projects/{pid}/export.zip")
    assert r.status_code == 200
    z = zipfile.ZipFile(io.BytesIO(r.data))
    names = z.namelist()
    html = z.read("summary.html").decode("utf-8")
    text = _text(html)

    # Form data through the schemas: tables for repeatable rows, labels, 万元; no raw JSON.
    assert "[{" not in text and '["' not in text and "{&#34;" not in text and '{"' not in text
    assert "投资概算明细" in text and "万元" in text and "建设方案文本" in text
    assert re.search(r"<table class=\"inner\"><tr><th>", html), "estimate_items rows should be a table"
    # Chinese states and Beijing time to the minute; no ISO UTC, no microseconds.
    assert not ENGLISH_STATES.search(text), ENGLISH_STATES.search(text)
    assert not UTC_ISO.search(text) and not MICROSECONDS.search(text)
    assert "在办" in text and "北京时间" in text
    # The attachment is named by its step and field, with its file name and link inside the ZIP.
    assert re.search(r"编制建设方案\s*·\s*建设方案文本", text), text[text.find("四、附件"):][:600]
    assert f"attachments/{att['id']}-智慧教育建设方案.pdf" in html and "智慧教育建设方案.pdf" in text
    # People by name, not login.
    assert "教育局经办人" in text or "edu" not in re.findall(r"<td>(\w+)</td>", html)

    approvals = sorted(n for n in names if n.startswith("approvals/"))
    pdfs = [n for n in approvals if n.endswith(".pdf")]
    steps = [n for n in approvals if n.endswith(".html")]
    assert len(pdfs) == len(steps) >= 3 and steps[0] == "approvals/01-submit_declaration.html"
    plan = next(n for n in steps if "write_plan" in n)
    plan_html = z.read(plan).decode("utf-8")
    assert "编制建设方案审批单" in plan_html and "智慧教育建设方案.pdf" in plan_html
    assert "@media print" in plan_html  # prints as filed
    reader = PdfReader(io.BytesIO(z.read(plan.replace(".html", ".pdf"))))
    pdf_text = "".join(page.extract_text() for page in reader.pages)
    assert "编制建设方案审批单" in pdf_text.replace(" ", "") and "东营市智慧教育平台" in pdf_text.replace(" ", "")
    # Every file, the approvals too, is in the manifest.
    import json

    manifest = json.loads(z.read("manifest.json"))
    assert set(approvals) <= set(manifest["files"])


def test_register_csv_and_xlsx_in_chinese_and_beijing_time(api, driver, ctx):
    edu = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    health = driver.declare("市卫生健康委员会", budget_year=2027, participants=[]).project_id
    codes = {p["id"]: p["code"] for p in api.as_("edu").get("/api/projects").json}

    text = api.as_("edu").get("/api/projects/export.csv?year=2027").get_data(as_text=True).lstrip("\ufeff")
    header, *rows = list(csv.reader(io.StringIO(text)))
    status, declared = header.index("状态"), header.index("申报时间（北京时间）")
    assert {r[status] for r in rows} == {"在办"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", r[declared]) for r in rows), rows

    r = api.as_("edu").get("/api/projects/export.xlsx?unit=市卫生健康委员会")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(r.data)).active
    values = list(ws.values)
    assert list(values[0]) == header and ws["A1"].font.b
    assert [row[0] for row in values[1:]] == [codes[health]]  # the filter, as the CSV applies it
    assert values[1][status] == "在办" and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", values[1][declared])
    money_cell = ws.cell(row=2, column=header.index("投资估算（万元）") + 1)
    assert money_cell.data_type == "n" and money_cell.number_format == "#,##0.00"
    assert ws.column_dimensions["B"].width > 10
    both = load_workbook(io.BytesIO(api.as_("supervisor").get("/api/projects/export.xlsx?year=2027").data)).active
    assert {row[0] for row in list(both.values)[1:]} == {codes[edu], codes[health]}
    assert api.client.get("/api/projects/export.xlsx").status_code == 401


def test_xlsx_cells_are_not_formulas():
    from service.operations.spreadsheet import register_xlsx

    row = {"code": "=HYPERLINK(\"http://x\")", "name": "\t=cmd|' /C calc'!A0", "budget_year": 2027, "unit": "@SUM(A1)",
           "estimate": 12.5, "stage": "+1", "status": "active", "outcome": "\x01坏", "is_urgent": True,
           "declared_at": "2027-01-04T01:00:00.123456"}
    ws = load_workbook(io.BytesIO(register_xlsx([row]))).active
    cells = [c for c in ws[2]]
    assert all(c.data_type != "f" for c in cells)
    assert cells[0].value.startswith("'=") and cells[1].value.startswith("'\t=") and cells[3].value == "'@SUM(A1)"
    assert cells[6].value == "在办" and cells[7].value == "坏" and cells[8].value == "是"
    assert cells[9].value == "2027-01-04 09:00"


def test_can_export_matches_what_the_export_allows(api, driver):
    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    for user, allowed in (("edu", True), ("supervisor", True), ("nature", False)):
        detail = api.as_(user).get(f"/api/projects/{pid}").json
        status = api.as_(user).get(f"/api/projects/{pid}/export.zip").status_code
        assert detail["can_export"] is allowed and status == (200 if allowed else 403), (user, status)


def test_approval_sheet_page_and_pdf(api, driver, app):
    pid, _ = _project_with_plan_document(api, driver)
    steps = api.as_("edu").get(f"/api/projects/{pid}").json["completed_steps"]
    plan = next(s for s in steps if s["task"] == "write_plan")
    open_task = driver.item(pid, "review_consolidate")

    r = api.as_("edu").get(f"/tasks/{plan['id']}/approval")  # the bearer header is ignored on pages
    assert r.status_code == 302 and "/login?next=" in r.headers["Location"]
    page = app.test_client()
    assert page.post("/api/auth/login", json={"username": "edu", "password": DEMO_PASSWORD}).status_code == 200
    r = page.get(f"/tasks/{plan['id']}/approval")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "编制建设方案审批单" in html and '<link rel="stylesheet" href="/documents/document.css">' in html
    assert "<script" not in html and "style=" not in html and "<style" not in html  # the page CSP allows neither
    assert "style-src 'self'" in r.headers["Content-Security-Policy"]
    css = page.get("/documents/document.css")
    assert css.status_code == 200 and "@media print" in css.get_data(as_text=True)

    r = api.as_("supervisor").get(f"/api/tasks/{plan['id']}/approval.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages).replace(" ", "")
    assert "编制建设方案审批单" in text and "智慧教育建设方案.pdf" in text
    assert api.as_("nature").get(f"/api/tasks/{plan['id']}/approval.pdf").status_code == 404
    assert api.as_("edu").get(f"/api/tasks/{open_task.id}/approval.pdf").status_code == 404


def test_in_app_message_is_short_with_task_link_and_due_day(api, ctx, driver):
    from service.channels.config import ChannelSettings
    from service.operations import reminders
    from tests.workers.test_workers import DUE, add_due_items, bj, quiet_existing_clocks

    pid = driver.declare("市教育局", budget_year=2027, participants=[]).project_id
    quiet_existing_clocks(ctx)
    [item_id] = add_due_items(ctx, pid, 1)
    reminders.tick(ctx, bj("2026-04-29"), cfg=ChannelSettings(base_url="https://xm.dongying.example/"))
    [n] = api.as_("edu").get("/api/notifications").json
    assert n["link"] == f"https://xm.dongying.example/tasks/{item_id}" and n["work_item_id"] == item_id
    assert n["due_date"] == DUE.isoformat() and f"期限 {DUE.isoformat()}" in n["text"]
    assert "催办测试 0" in n["text"] and "东营市智慧教育平台" in n["text"] and "\n" not in n["text"]
    assert len(n["text"]) < 80 and "请登录系统办理：https://xm.dongying.example/tasks/" in n["body"]
