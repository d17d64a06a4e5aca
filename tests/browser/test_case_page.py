"""The case page, conversation first: on a 360 px phone with no sideways scrolling and the
reply box in reach, the care workflow's forms loaded only when asked for (with and without
JavaScript), and a lead's approval near the top."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from tests.browser.signing_in import sign_in

from cherish.care import actions as care_actions
from cherish.care.demo import seed_defaults
from cherish.care.models import AuthorityLimit, Gesture, GestureType
from cherish.cases import actions as case_actions
from cherish.cases.models import Message
from cherish.core.clock import now
from cherish.customers.actions import add_important_date

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1366, "height": 900}


def _sign_in(browser, live_server, username, path, *, viewport=DESKTOP, javascript=True):
    return sign_in(
        browser, live_server, username, path, viewport=viewport, java_script_enabled=javascript
    )


def _a_long_conversation(customer, agent):
    case, _ = case_actions.open_case(
        customer,
        text="The sofa arrived with a torn cushion and the delivery team left it in the hall. "
        "I have been a customer for years and this is the second time.",
        subject="Torn sofa cushion, second delivery problem",
    )
    for i in range(4):
        case_actions.reply_to_customer(
            case, text=f"Update {i}: we have asked the warehouse about the cushion.", by=agent
        )
        case_actions.add_inbound_message(case, text=f"Thanks, still waiting ({i}).", channel="web")
    care_actions.record_commitment(
        case,
        what="Call you with the delivery slot for the new cushion",
        due_at=now() + dt.timedelta(days=2),
        how="call",
        by=agent,
    )
    add_important_date(customer, kind="birthday", date=now().date(), by=agent)
    return case


def test_case_page_on_a_phone_has_no_sideways_scroll_and_the_reply_box_in_reach(
    browser, live_server, transactional_db, agent, customer
):
    # given
    seed_defaults()
    case = _a_long_conversation(customer, agent)
    path = f"/desk/cases/{case.reference}/"
    # when
    context, page = _sign_in(browser, live_server, "alice", path, viewport=PHONE)
    # then: nothing is wider than the phone
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # the conversation comes before the side panels, newest message last, box under it
    order = page.evaluate(
        """() => ['#conversation', '#reply-text', '#key-facts-title', '#care-panel']
            .map(s => document.querySelector(s).getBoundingClientRect().top + scrollY)"""
    )
    assert order == sorted(order)
    bubbles = page.locator("#case-work .conversation > li .bubble")
    expect(bubbles.last).to_have_text("Thanks, still waiting (3).")
    # the reply box stays on screen while the agent reads the conversation
    bubbles.nth(2).scroll_into_view_if_needed()
    box = page.locator("#reply-text").bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    # the customer's moment and what we promised are beside the conversation
    expect(page.locator(".moments-today")).to_contain_text("Birthday")
    expect(page.locator("#care-panel")).to_contain_text("Call you with the delivery slot")
    # when: replying from the phone
    page.locator("#reply-text").fill("The new cushion comes on Friday morning, sorry again.")
    page.get_by_role("button", name="Send reply").click()
    # then
    expect(bubbles.last).to_have_text("The new cushion comes on Friday morning, sorry again.")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert Message.objects.filter(case=case, direction="out").count() == 5
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_care_forms_load_only_when_asked_for(
    browser, live_server, transactional_db, agent, customer, javascript
):
    # given
    seed_defaults()
    case, _ = case_actions.open_case(customer, text="My order never arrived.")
    path = f"/desk/cases/{case.reference}/"
    context, page = _sign_in(browser, live_server, "alice", path, javascript=javascript)
    panel = page.locator("#care-panel")
    expect(panel).to_contain_text("Care: Received")
    expect(page.get_by_role("button", name="Record commitment")).to_have_count(0)
    # when
    panel.get_by_role("link", name="Work on the care workflow").click()
    # then: the forms are there, in place (HTMX) or on the care page (no JavaScript)
    if javascript:
        expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    else:
        page.wait_for_url(re.compile(f"/desk/care/cases/{case.reference}/$"))
    panel = page.locator("#care-panel")
    panel.locator("summary", has_text="Make a commitment").click()
    panel.get_by_label("What you promise").fill("Send the replacement by courier")
    panel.get_by_label("By when").fill("2099-01-08T11:00")
    panel.get_by_role("button", name="Record commitment").click()
    expect(page.locator("body")).to_contain_text("Commitment recorded")
    assert case.commitments.get().what == "Send the replacement by courier"
    context.close()


def test_lead_sees_the_approval_at_the_top_and_decides_it(
    browser, live_server, transactional_db, agent, lead, complaint
):
    # given: a refund over the agent's limit, routed to the lead
    seed_defaults()
    AuthorityLimit.objects.create(
        role="agent", per_gesture=Decimal("20"), per_month=Decimal("50"), currency="GBP"
    )
    care_actions.grant_gesture(
        complaint,
        gesture_type=GestureType.objects.get(key="refund"),
        value=Decimal("35"),
        currency="GBP",
        description="Refund of the delivery fee",
        reason="Second failed delivery",
        by=agent,
    )
    path = f"/desk/cases/{complaint.reference}/"
    # when
    context, page = _sign_in(browser, live_server, "lena", path)
    approvals = page.locator("#care-approvals")
    # then: the approval is the first thing on the page, above the conversation
    expect(approvals).to_contain_text("Refund of the delivery fee")
    top = approvals.bounding_box()
    assert top is not None and top["y"] < page.locator("#conversation").bounding_box()["y"]
    # when
    approvals.get_by_role("button", name="Approve").click()
    # then
    expect(page.locator(".flash")).to_contain_text("approved")
    expect(page.locator("#care-approvals")).to_have_count(0)
    assert Gesture.objects.get().status == "approved"
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_hand_over_loads_its_list_when_opened_and_submits(
    browser, live_server, transactional_db, agent, other_agent, complaint, javascript
):
    # given: the case page, whose hand-over list is not read until asked for
    path = f"/desk/cases/{complaint.reference}/"
    context, page = _sign_in(browser, live_server, "alice", path, javascript=javascript)
    expect(page.locator("#reassign-to")).to_have_count(0)
    # when: the disclosure opens (HTMX loads the form; without JavaScript its link does)
    page.locator("#handover summary").click()
    if not javascript:
        page.get_by_role("link", name="Choose who takes it over").click()
    page.get_by_label("New owner").select_option(str(other_agent.pk))
    page.get_by_label("Handoff note").fill("She prefers a call after five; the refund is agreed.")
    page.locator("#handover").get_by_role("button", name="Hand over").click()
    # then
    expect(page.locator(".case-owner strong")).to_have_text("Bob Other")
    complaint.refresh_from_db()
    assert complaint.owner == other_agent
    context.close()
