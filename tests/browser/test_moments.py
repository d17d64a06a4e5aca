"""The moments page's note form, posted from real Chromium: an agent sends a German customer a
birthday note. The form opens in the customer's language (the note goes to them), while the
page around it speaks the agent's."""

from __future__ import annotations

import re

import pytest
from tests.browser.signing_in import sign_in

from cherish.core.clock import now
from cherish.customers.actions import add_important_date
from cherish.outbox.models import OutgoingEmail
from cherish.outreach.actions import customer_zone
from cherish.outreach.models import MomentSent

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser


def test_an_agent_sends_a_birthday_note_that_opens_in_the_customers_language(
    browser, live_server, transactional_db, customer, complaint, agent
):
    # given: Carla (her complaint is with Alice's team) writes to us in German, and today is
    # her birthday
    customer.language = "de"
    customer.save(update_fields=["language"])
    today = now().astimezone(customer_zone(customer)).date()
    # 1980 was a leap year: any day of the year, 29 February too, has its date then
    add_important_date(customer, kind="birthday", date=today.replace(year=1980), by=agent)
    context, page = sign_in(
        browser,
        live_server,
        agent.user.username,
        "/desk/moments/%3Fwho%3Dall",
        lands_on=r"/desk/moments/",
    )
    # then: the page speaks English to the agent, the note German to Carla
    expect(page.get_by_text("Send a short birthday note in your own words")).to_be_visible()
    expect(page.get_by_label("Subject:")).to_have_value("Alles Gute zum Geburtstag")
    note = page.get_by_label("Note:")
    expect(note).to_have_value(re.compile(r"^\s*Guten Tag Carla Customer,"))
    # when: the agent writes their own words under the greeting and sends it
    note.fill(note.input_value().strip() + "\n\nalles Gute und einen schönen Tag!\nAlice")
    page.get_by_role("button", name="Send in my name").click()
    # then
    expect(page.get_by_text("Your note to Carla Customer is on its way.")).to_be_visible()
    expect(page.get_by_text("A note was sent for this moment.")).to_be_visible()
    assert MomentSent.objects.filter(customer=customer).count() == 1
    email = OutgoingEmail.objects.get(to_address="carla@example.com")
    assert email.subject == "Alles Gute zum Geburtstag"
    assert email.text_body.startswith("Guten Tag Carla Customer,")
    assert "einen schönen Tag" in email.text_body
    context.close()
