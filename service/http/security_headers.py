"""Security headers on every response. The pages load only their own scripts and styles from
/static (no inline script, style or event handler: the JSON data blocks <script type=
"application/json"> are not executed and CSP lets them be), so the policy can be strict."""
from __future__ import annotations

import os

from flask import Flask, Response, request

# img: bpmn-js and Chart.js draw through data:/blob: URLs; fonts: the bpmn icon font is local.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
               "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
               "form-action 'self'; frame-ancestors 'none'")
# dmn-js's decision table sizes its cells through style attributes (not scripts): that one page
# allows inline style attributes, still no inline <style> element and no inline script.
STYLE_ATTRIBUTE_PAGES = frozenset({"/designer/dmn"})
# JSON and downloads are never documents to render: they may load nothing.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def init_app(app: Flask) -> None:
    hsts = os.environ.get("GOVFLOW_COOKIE_SECURE") == "1"

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        # A view that knows better (attachments: sandbox; the API docs page: its inline style) sets its own.
        headers.setdefault("Content-Security-Policy", policy_for(request.path))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.path.startswith("/api"):
            # Answers carry unit data: not kept by the browser or a shared cache after sign-out.
            headers.setdefault("Cache-Control", "no-store")
        if hsts:
            # GOVFLOW_COOKIE_SECURE=1 declares an HTTPS deployment: browsers should not try plain HTTP.
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def policy_for(path: str) -> str:
    if path.startswith("/api"):
        return API_POLICY
    if path.rstrip("/") in STYLE_ATTRIBUTE_PAGES:
        return PAGE_POLICY + "; style-src-attr 'unsafe-inline'"
    return PAGE_POLICY
