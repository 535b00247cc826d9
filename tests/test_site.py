"""The rendered site in a real browser: headless Chromium over a loopback HTTP server.

For every chapter page: it renders, every image loads, MathJax typeset the math (served
from the site itself, so it works offline), and no cell shows an error. A full-page
screenshot per page is kept in ``_build/screenshots/`` as a CI artefact.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
# Debian's chromium here and in CI; GitHub's runners ship Google Chrome instead.
CHROMIUM = os.environ.get("CHROMIUM_PATH") or next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
)

# In CI (CI=true) a missing browser fails the test; elsewhere it only skips.
if os.environ.get("CI") != "true":
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (bash .ci/setup does)")
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (bash .ci/setup installs it)", allow_module_level=True)

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PAGES = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(built_book: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM, "chromium is not installed"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.mark.parametrize("page_name", PAGES)
def test_chapter_page_renders_with_figures_and_math(site: str, browser: Browser, page_name: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    # Offline: block everything that is not the loopback site (CDN widget manager, fonts).
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(site) else route.abort())
    response = page.goto(f"{site}/chapters/{page_name}.html", wait_until="load")
    assert response is not None and response.ok, f"{page_name}: HTTP {response and response.status}"
    page.wait_for_function("() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise")
    title = page.locator("h1").first.inner_text()
    assert title.strip(), f"{page_name}: no title"
    broken = page.evaluate(
        "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    # The Colab badge is Colab's own image, loaded by the reader's browser; this test runs
    # without network, so only the book's own images must load.
    broken = [src for src in broken if src != COLAB_BADGE]
    assert not broken, f"{page_name}: broken images {broken}"
    figures = page.evaluate("() => document.querySelectorAll('.cell_output img').length")
    assert figures > 0, f"{page_name}: no figure in any cell output"
    text = page.locator("main").inner_text()
    assert "$$" not in text, f"{page_name}: raw $$ left, math not typeset"
    typeset = page.evaluate("() => document.querySelectorAll('mjx-container').length")
    assert typeset > 0, f"{page_name}: no typeset math"
    errors = page.evaluate("() => document.querySelectorAll('.output.traceback, .output.error').length")
    assert errors == 0, f"{page_name}: {errors} cell(s) show an error"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{page_name}.png"), full_page=True)
    page.close()
