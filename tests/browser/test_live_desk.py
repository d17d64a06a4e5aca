"""Knowing when something happens, and not answering over a colleague, in real Chromium.

A customer's reply through their own case page reaches the owner's open inbox (a mark on
the row, a count on the navigation) without a reload; two agents on one case see each
other, and the one whose view went stale is stopped, shown what arrived, and sends anyway.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache
from tests.browser.signing_in import sign_in

from cherish.cases import actions as case_actions
from cherish.cases.outgoing import queue_message_email

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1366, "height": 900}}
# Polls every second here, so the test waits seconds, not the desk's default ten.
WAIT_MS = 15_000


@pytest.fixture(autouse=True)
def fast_polls(settings: Any) -> None:
    cache.clear()
    settings.CHERISH_DESK_POLL_SECONDS = 1


def desk_signed_in(browser: Any, live_server: Any, username: str, **options: Any) -> Any:
    return sign_in(browser, live_server, username, "/desk/", lands_on=r"/desk/$", **options)[1]


def test_a_customer_reply_reaches_the_owners_open_inbox_without_a_reload(
    browser, live_server, transactional_db, settings, agent, complaint, docs_dir
):
    # given: Alice has read the complaint and has her inbox open
    settings.SITE_URL = live_server.url
    alice = desk_signed_in(browser, live_server, "alice")
    alice.get_by_role("link", name=complaint.reference).click()
    alice.wait_for_url(re.compile(complaint.reference))
    alice.goto(f"{live_server.url}/desk/")
    mark = alice.locator(f"#news-{complaint.reference} .unread-dot")
    expect(mark).to_have_count(0)
    expect(alice.locator("#nav-notifications .nav-count")).to_have_count(0)
    inbox_url = alice.url
    # when: the customer answers on their own case page, from the link in our email
    reply = case_actions.reply_to_customer(complaint, text="Could you send a photo?", by=agent)
    link = re.search(r"http://\S+/c/\S+/", queue_message_email(reply).text_body).group(0)
    customer = browser.new_context(**DESKTOP).new_page()
    customer.goto(link)
    customer.get_by_role("textbox", name="Your message").fill("Here it is: the lid is cracked.")
    customer.get_by_role("button", name="Send").click()
    expect(customer.get_by_text("Your message has been added to your case.")).to_be_visible()
    # then: without a reload, the row is marked and the navigation counts one
    expect(mark).to_have_count(1, timeout=WAIT_MS)
    expect(alice.locator("#nav-notifications .nav-count")).to_contain_text("1", timeout=WAIT_MS)
    assert alice.url == inbox_url
    # when: she follows the count
    alice.locator("#nav-notifications").click()
    # then: the notification says who wrote what, and marking all read clears the count
    item = alice.locator(".notification.unread")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(f"Carla Customer wrote on {complaint.reference}")
    expect(item).to_contain_text("the lid is cracked")
    alice.screenshot(path=str(docs_dir / "notifications.png"))
    alice.get_by_role("button", name="Mark all read").click()
    expect(alice.locator(".notification.unread")).to_have_count(0)
    expect(alice.locator("#nav-notifications .nav-count")).to_have_count(0, timeout=WAIT_MS)
    alice.context.close()
    customer.context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_two_agents_on_one_case_see_each_other_and_a_stale_reply_is_stopped(
    browser, live_server, transactional_db, agent, other_agent, complaint, javascript, docs_dir
):
    # given: Alice has the case open, then Bob opens it too
    case_url = f"{live_server.url}/desk/cases/{complaint.reference}/"
    alice = desk_signed_in(browser, live_server, "alice")
    alice.goto(case_url)
    bob = desk_signed_in(browser, live_server, "bob", java_script_enabled=javascript)
    bob.goto(case_url)
    # then: Bob sees Alice there, and (her page polling) Alice sees Bob
    expect(bob.locator("[data-presence]")).to_contain_text("Alice Agent")
    expect(alice.locator("[data-presence]")).to_contain_text("Bob Other", timeout=WAIT_MS)
    # when: Bob writes an answer while Alice sends hers first
    bob.get_by_label(re.compile("Reply to Carla")).fill("We will send a new parcel today.")
    alice.get_by_label(re.compile("Reply to Carla")).fill("A full refund is on its way.")
    alice.get_by_role("button", name="Send reply").click()
    expect(alice.locator(".conversation")).to_contain_text("A full refund is on its way.")
    bob.get_by_role("button", name="Send reply").click()
    # then: Bob's reply is stopped, Alice's is shown to him, his words are kept
    warning = bob.locator("#stale-warning")
    expect(warning).to_contain_text("A full refund is on its way.")
    expect(bob.get_by_text("Not sent yet: something new arrived")).to_be_visible()
    expect(bob.get_by_label(re.compile("Reply to Carla"))).to_have_value(
        "We will send a new parcel today."
    )
    assert not complaint.messages.filter(body_text="We will send a new parcel today.").exists()
    if javascript:
        warning.scroll_into_view_if_needed()
        bob.screenshot(path=str(docs_dir / "case-collision.png"))
    # when: he sends it anyway
    warning.get_by_role("button", name="Send anyway").click()
    # then
    expect(bob.locator(".conversation")).to_contain_text("We will send a new parcel today.")
    expect(bob.locator("#stale-warning")).to_have_count(0)
    assert list(
        complaint.messages.filter(direction="out")
        .order_by("id")
        .values_list("body_text", "author__user__username")
    ) == [
        ("A full refund is on its way.", "alice"),
        ("We will send a new parcel today.", "bob"),
    ]
    alice.context.close()
    bob.context.close()
