"""Every form of the templates is submitted by a browser test, not only viewed.

Each ``<form action="{% url ... %}">`` that is not a GET (a search or filter form sends
nothing) and each ``hx-post="{% url ... %}"`` (Django and Jinja2 templates) names the route it
sends to; the browser fixture records every request other than
a GET that a test's Chromium sent (``conftest.SENT``). Run last in a session that ran the whole
browser suite (a test without the database runs after those with it), this test fails for a
form whose route no browser test sent to, so a new form cannot go untried. Forms that send to
their own page (no ``action``) and addresses built in Python (``action="{{ urls.x }}"``) are not
seen here; the tests of those pages submit them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import Resolver404, resolve
from tests.browser.conftest import SENT

pytestmark = pytest.mark.browser

SOURCE = Path(__file__).resolve().parents[2] / "src" / "cherish"
HERE = Path(__file__).resolve().parent
FORM_TAG = re.compile(r"<form\b[^>]*>")
# The route an action or hx-post names: {% url 'app:name' ... %} or {{ url('app:name', ...) }}.
ROUTE = r"""="(?:\{%\s*url\s+'([^']+)'|\{\{\s*url\(\s*'([^']+)')"""
ACTION = re.compile(r"\baction" + ROUTE)
HX_POST = re.compile(r"\bhx-post" + ROUTE)
GET_FORM = re.compile(r"""\bmethod=["']get["']""", re.IGNORECASE)
# A form no browser test submits, with why (none today).
NOT_SUBMITTED: dict[str, str] = {}


def form_routes() -> dict[str, list[str]]:
    """Each route a template's form or hx-post sends to, with the templates that do."""
    routes: dict[str, list[str]] = {}
    for template in sorted(SOURCE.glob("**/*.html")):
        text = template.read_text(encoding="utf-8")
        found = [
            match
            for tag in FORM_TAG.findall(text)
            if not GET_FORM.search(tag)  # a search or filter form: a GET, no submission
            for match in ACTION.finditer(tag)
        ] + list(HX_POST.finditer(text))
        for match in found:
            route = match.group(1) or match.group(2)
            routes.setdefault(route, []).append(str(template.relative_to(SOURCE)))
    return routes


def _partial_run(request: pytest.FixtureRequest) -> str:
    """Why this session cannot tell (only part of the browser suite ran), or ""."""
    selected = {
        Path(str(item.path)).name
        for item in request.session.items
        if Path(str(item.path)).parent == HERE
    }
    files = {path.name for path in HERE.glob("test_*.py")}
    if files - selected:
        return f"only part of the browser suite ran (not {sorted(files - selected)})"
    option = request.config.option
    if getattr(option, "keyword", "") or getattr(option, "deselect", None):
        return "tests were deselected (-k / --deselect)"
    if getattr(option, "lf", False) or getattr(option, "failedfirst", False):
        return "a re-run of failed tests"
    return ""


def test_the_check_reads_the_templates_forms() -> None:
    routes = form_routes()
    # forms of the desk, the care panel and the public pages are all seen
    assert {"care:note", "desk:inbox-bulk", "portal:reply", "outreach:merge"} <= set(routes)
    assert not set(NOT_SUBMITTED) - set(routes), "NOT_SUBMITTED names routes no form sends to"


def test_every_form_is_submitted_by_a_browser_test(request: pytest.FixtureRequest) -> None:
    if why := _partial_run(request):
        pytest.skip(f"{why}: run the whole browser suite to check its forms")
    if not SENT:
        pytest.skip("no browser test sent anything (Chromium missing?)")
    sent: set[Any] = set()
    for path in SENT:
        try:
            sent.add(resolve(path).view_name)
        except Resolver404:
            continue
    untried = {
        route: templates
        for route, templates in form_routes().items()
        if route not in sent and route not in NOT_SUBMITTED
    }
    assert not untried, "forms no browser test submits (route: templates):\n" + "\n".join(
        f"  {route}: {', '.join(templates)}" for route, templates in sorted(untried.items())
    )
