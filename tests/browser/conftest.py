"""Real headless Chromium (Debian's) driven by Playwright against Django's live server."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
# ORM calls made from the test body while it is running.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
DOCS = Path(__file__).resolve().parents[2] / "docs"


# The address of every request other than a GET that a test's browser sent in this session:
# test_every_form_is_submitted.py checks that each form of the templates was submitted.
SENT: set[str] = set()


def _recording(browser: Any) -> Any:
    """``browser`` with every context and page it makes recording what it sends in SENT."""

    def record(request: Any) -> None:
        if request.method != "GET":
            SENT.add(urlsplit(request.url).path)

    def contexts(**options: Any) -> Any:
        context = make_context(**options)
        context.on("request", record)
        return context

    def pages(**options: Any) -> Any:
        page = make_page(**options)
        page.on("request", record)
        return page

    make_context, make_page = browser.new_context, browser.new_page
    browser.new_context, browser.new_page = contexts, pages
    return browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    playwright = sync_api.sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield _recording(browser)
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture(autouse=True)
def _every_page_closed_with_its_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """A page left open outlives its test: the thank-you page and the live desk go on
    polling the session's live server, whose requests then fail on pytest-django's closed
    database, and the server thread prints their tracebacks while later tests run. (On
    Python 3.11.7 that printing parses source with ``ast`` and races another thread's
    ``ast.parse``: a CI run failed with "AST constructor recursion depth mismatch".)"""
    yield
    if "browser" not in request.fixturenames:
        return
    for context in list(request.getfixturevalue("browser").contexts):
        context.close()


@pytest.fixture
def docs_dir(tmp_path: Path) -> Path:
    """Where the browser tests write their screenshots: docs/ (the README's pictures) only
    when CHERISH_SCREENSHOTS=1 asks for them, so an ordinary run leaves the checkout clean."""
    if os.environ.get("CHERISH_SCREENSHOTS") != "1":
        return tmp_path
    DOCS.mkdir(exist_ok=True)
    return DOCS


AXE_JS = Path(__file__).resolve().parents[2] / "src/cherish/core/static/vendor/axe-core/axe.min.js"
# The suite fails on these; moderate and minor findings are left to review.
AXE_FAILING_IMPACTS = ("serious", "critical")


def axe_violations(page: Any, *, javascript: bool = True) -> list[dict[str, Any]]:
    """Run axe-core (vendored from the npm registry) on the page as it is now and return its
    serious and critical violations.

    A page opened with JavaScript disabled cannot run axe itself: its HTML is served, as it
    is, to a twin page at the same origin (so its stylesheets load) that can.
    """
    if not javascript:
        html = page.content()
        origin = re.match(r"https?://[^/]+", page.url)
        assert origin is not None, page.url
        twin_context = page.context.browser.new_context(viewport=page.viewport_size)
        try:
            twin = twin_context.new_page()
            twin.route(
                "**/__axe_twin__",
                lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"),
            )
            twin.goto(origin.group(0) + "/__axe_twin__")
            return axe_violations(twin)
        finally:
            twin_context.close()
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the page's script-src CSP does not apply.
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in AXE_FAILING_IMPACTS]


def describe_violations(url: str, violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        lines.append(f"{url}: [{v['impact']}] {v['id']}: {v['help']} ({targets})")
        for node in v["nodes"][:2]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {summary[:300]}")
    return "\n".join(lines)


@pytest.fixture
def axe() -> Any:
    """``axe(page)`` fails the test on any serious or critical accessibility violation."""

    def check(page: Any, *, javascript: bool = True) -> None:
        violations = axe_violations(page, javascript=javascript)
        assert not violations, describe_violations(page.url, violations)

    return check
