"""Signing in through the real login form, as every browser test of the desk starts."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import PASSWORD

DESKTOP = {"width": 1366, "height": 900}


def sign_in(
    browser: Any,
    live_server: Any,
    username: str,
    next_path: str,
    *,
    lands_on: str | None = None,
    viewport: dict[str, int] | None = None,
    **context_options: Any,
) -> tuple[Any, Any]:
    """A new browser context (``viewport``, desktop by default, and any other option of
    Playwright's ``new_context``) signed in as ``username`` and landed on ``next_path``
    (``lands_on``: the pattern of the address landed on, when it is not ``next_path`` as
    written). Returns (context, page)."""
    context = browser.new_context(viewport=viewport or DESKTOP, **context_options)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(lands_on if lands_on is not None else re.escape(next_path)))
    return context, page
