"""Issue #9 "to add" in a real browser: a manager filters the audit log and exports it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.conftest import PASSWORD

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser


def test_a_manager_filters_the_audit_log_and_exports_it(
    browser, live_server, transactional_db, complaint, manager
):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    # given: the manager has looked at Carla's page (a customer.viewed line)
    page.goto(f"{live_server.url}/login/?next=/desk/customers/{complaint.customer_id}/")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/desk/customers/"))
    # when: she opens the audit log from the menu and filters it
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").fill("customer.")
    page.get_by_label("Outcome").select_option("done")
    page.get_by_role("button", name="Show").click()
    # then
    expect(page.locator("table")).to_contain_text("customer.viewed")
    expect(page.locator("table")).to_contain_text("Mia Manager (mia)")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export as CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("at,who,action,outcome")
    assert "customer.viewed" in text
    context.close()
