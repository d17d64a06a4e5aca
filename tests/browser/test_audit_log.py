"""Issue #9 "to add" in a real browser: a manager filters the audit log and exports it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.browser.signing_in import sign_in

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser


def test_a_manager_filters_the_audit_log_and_exports_it(
    browser, live_server, transactional_db, complaint, manager
):
    # given: the manager has looked at Carla's page (a customer.viewed line)
    context, page = sign_in(
        browser,
        live_server,
        "mia",
        f"/desk/customers/{complaint.customer_id}/",
        accept_downloads=True,
    )
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
