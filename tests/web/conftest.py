"""Browser tests: the app served on 127.0.0.1 by a real HTTP server (werkzeug, threaded) over a
fresh SQLite database, driven by Playwright in Debian's chromium (no browser download).

Every page a test visits can be saved with `shot(page, name)` under test-output/screenshots/,
the pictures the README shows. The API behind the pages runs on both databases in tests/http;
here the subject is the pages, so one database is enough."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from werkzeug.serving import make_server

from service.config import REPO_ROOT
from service.http.app import create_app
from service.operations import identity
from tests.conftest import make_ctx

CHROMIUM = os.environ.get("GOVFLOW_CHROMIUM", "/usr/bin/chromium")
SHOTS = REPO_ROOT / "test-output" / "screenshots"
# Flags from the machine notes: without the background-networking ones chromium keeps trying to
# reach Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def web_ctx(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    import shutil

    monkeypatch.setenv("GOVFLOW_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    path = tmp_path / "web.db"
    shutil.copy(sqlite_template, path)
    ctx = make_ctx(f"sqlite:///{path}")
    identity.seed_demo_users(ctx)
    yield ctx
    ctx.close()


@pytest.fixture
def server(web_ctx) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    if not (REPO_ROOT / "service" / "web" / "static" / "vendor" / "versions.json").exists():
        pytest.fail("前端资源未安装：先运行 npm ci --prefix service/web/frontend（README 的命令会做）")
    live = LiveServer(create_app(web_ctx, secret_key="web-tests"))
    yield live
    live.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"找不到 {CHROMIUM}：安装 Debian 的 chromium（.ci/run 会安装）")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Session:
    """One signed-in browser context per demo user: sessions.as_("edu") → a Page."""

    def __init__(self, browser: Browser, server: LiveServer) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[BrowserContext] = []

    def new_page(self) -> Page:
        context = self.browser.new_context(base_url=self.server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                           viewport={"width": 1400, "height": 900})
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # Offline: every request a page makes must go to govflow itself (no CDN, no fonts online).
        page.on("request", lambda req: None if req.url.startswith((self.server.url, "data:", "blob:", "about:"))
                else errors.append(f"外部请求：{req.url}"))
        # Content-Security-Policy (service/http/security_headers.py): a violation fails the page like a
        # script error. Chromium reports each on the console; the event names directive and source.
        context.add_init_script("document.addEventListener('securitypolicyviolation', (e) => console.error("
                                "'Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI"
                                " + ' at ' + e.sourceFile + ':' + e.lineNumber))")
        page.on("console", lambda msg: errors.append(f"CSP：{msg.text}")
                if "Content Security Policy" in msg.text else None)
        page.js_errors = errors  # type: ignore[attr-defined]
        return page

    def as_(self, username: str) -> Page:
        page = self.new_page()
        r = page.request.post("/api/auth/login", data={"username": username, "password": identity.DEMO_PASSWORD})
        assert r.ok, r.text()
        return page

    def close(self) -> None:
        for c in self.contexts:
            c.close()


@pytest.fixture
def sessions(browser: Browser, server: LiveServer) -> Iterator[Session]:
    s = Session(browser, server)
    yield s
    s.close()


def shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_js_errors(page: Page) -> None:
    """No uncaught script error and no request outside the app on this page so far."""
    errors = page.js_errors  # type: ignore[attr-defined]
    assert not errors, errors
