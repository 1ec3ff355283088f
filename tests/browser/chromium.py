"""What the browser tests share: Debian's Chromium, a Flask app served over real HTTP on
127.0.0.1, axe-core's verdict on a page, and where screenshots are kept."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, sync_playwright
from werkzeug.serving import make_server

from backbone.web import NODE_MODULES
from tests.servers import free_port

ARTEFACTS = Path(__file__).resolve().parent.parent.parent / "test-artefacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """`app` on a free port of 127.0.0.1, in a thread: its address."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


def accessibility_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is."""
    page.evaluate((NODE_MODULES / "axe-core" / "axe.min.js").read_text())
    result = page.evaluate("async () => JSON.stringify(await axe.run())")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in json.loads(result)["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@contextmanager
def chromium_page() -> Iterator[Page]:
    """A page in a new headless Chromium. axe-core is injected by the tests, so the
    context bypasses the pages' Content-Security-Policy, which allows no script at all."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_context(bypass_csp=True).new_page()
        finally:
            browser.close()
