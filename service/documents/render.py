"""Jinja rendering of the dossier summary and the 审批单, and their PDF (WeasyPrint).

The dossier's HTML files carry the stylesheet inline: they are opened from the ZIP, offline, years
later. The web 审批单 links it instead (the pages' CSP allows no inline style)."""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

HERE = Path(__file__).resolve().parent
CSS_PATH = HERE / "document.css"


@cache
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")


def summary_html(**context: Any) -> str:
    return _env().get_template("summary.html").render(css=css(), **context)


def approval_html(*, stylesheet_href: str | None = None, pdf_href: str | None = None, **context: Any) -> str:
    return _env().get_template("approval.html").render(
        css=css(), stylesheet_href=stylesheet_href, pdf_href=pdf_href, print_button=bool(pdf_href), **context)


def pdf(html: str) -> bytes:
    """A4 PDF of a document page. Fonts come from fontconfig: the CJK one (WenQuanYi Micro Hei on
    Debian, fonts-wqy-microhei) must be installed or Chinese prints as boxes."""
    from weasyprint import HTML  # imported when used: Pango loads at import, seconds on a cold start

    out = HTML(string=html, base_url=str(HERE)).write_pdf()
    assert out is not None
    return bytes(out)
