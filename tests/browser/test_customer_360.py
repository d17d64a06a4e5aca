"""The customer 360 page's forms, posted from real Chromium (issue #14: they are written in
the template now, not rendered as Django forms): an agent adds a birthday and changes the
relationship status, choosing by the labels a person reads."""

from __future__ import annotations

import pytest
from tests.browser.signing_in import sign_in

from cherish.customers.models import Customer, ImportantDate

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser


def test_an_agent_adds_a_date_and_changes_the_status(
    browser, live_server, transactional_db, complaint, agent
):
    context, page = sign_in(
        browser, live_server, agent.user.username, f"/desk/customers/{complaint.customer_id}/"
    )
    # when: a birthday, every year
    page.get_by_label("Kind of date").select_option(label="Birthday")
    page.get_by_label("Date:", exact=True).fill("1980-05-10")
    page.get_by_role("button", name="Add date").click()
    # then
    expect(page.get_by_text("Date saved.")).to_be_visible()
    expect(page.locator("#h-dates + ul")).to_contain_text("Birthday 10 May")
    date = ImportantDate.objects.get(customer_id=complaint.customer_id)
    assert (date.kind, date.recurring) == ("birthday", True)
    # when: the status, with why they left
    page.get_by_label("Status:", exact=True).select_option(label="Left")
    page.get_by_label("Why they left").select_option(label="Moved away")
    page.get_by_role("button", name="Save status").click()
    # then
    expect(page.get_by_text("Relationship status saved.")).to_be_visible()
    assert Customer.objects.get(pk=complaint.customer_id).status == "left"
    context.close()
