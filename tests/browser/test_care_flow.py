"""An agent takes a complaint from received to closed in the care panel; the customer sees
the commitment on their own case page."""

from __future__ import annotations

import re

import pytest
from tests.browser.signing_in import sign_in

from cherish.care.demo import seed_defaults
from cherish.care.models import CareState, Commitment, Gesture
from cherish.cases import actions as case_actions
from cherish.cases.models import CaseEvent
from cherish.cases.outgoing import portal_url

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}


def test_agent_takes_a_complaint_from_received_to_closed(
    browser, live_server, transactional_db, agent, customer, settings
):
    # given: a fresh complaint and the care defaults (flushed by earlier transactional tests)
    seed_defaults()
    settings.SITE_URL = live_server.url
    case, _ = case_actions.open_case(
        customer, text="The vase arrived in pieces. It was a present for my mother's birthday."
    )
    context, page = sign_in(browser, live_server, "alice", f"/desk/cases/{case.reference}/")
    panel = page.locator("#care-panel")
    expect(panel).to_contain_text("Care: Received")
    # the case page shows the workflow read-only; its forms load when asked for
    panel.get_by_role("link", name="Work on the care workflow").click()
    expect(panel.get_by_label("Move to")).to_be_visible()

    def move_to(label: str) -> None:
        panel.get_by_label("Move to").select_option(label=label)
        panel.get_by_role("button", name="Move", exact=True).click()
        expect(panel.locator(".care-stage")).to_have_text(label)

    def open_form(summary: str) -> None:
        details = panel.locator("details", has=page.locator("summary", has_text=summary))
        if details.get_attribute("open") is None:
            panel.locator("summary", has_text=summary).click()

    # when: the agent listens, responds and records what the customer considers fair
    move_to("Acknowledged")
    move_to("Listening")
    move_to("Responding")
    panel.get_by_label("In their words").fill("A new vase before Saturday.")
    panel.get_by_role("button", name="Save fair outcome").click()
    expect(panel.locator(".care-fair")).to_have_text("A new vase before Saturday.")
    # a commitment: what, by when, how
    open_form("Make a commitment")
    panel.get_by_label("What you promise").fill("Call you when the courier has collected it")
    panel.get_by_label("By when").fill("2099-01-08T11:00")
    panel.get_by_label("How", exact=True).select_option("call")
    panel.get_by_role("button", name="Record commitment").click()
    expect(panel).to_contain_text("Commitment recorded")
    # recover, then the +1 gesture
    move_to("Recovering")
    open_form("Record the resolution")
    panel.get_by_label("What was done to put it right").fill("New vase sent by courier today.")
    panel.get_by_role("button", name="Save resolution").click()
    expect(panel).to_contain_text("Resolution recorded.")
    move_to("+1")
    open_form("Offer a gesture")
    panel.get_by_label("Kind", exact=True).select_option("personal_note")
    panel.get_by_label("What exactly").fill("Flowers and a handwritten card for her mother")
    panel.get_by_label(re.compile("This is the \\+1")).check()
    panel.get_by_role("button", name="Grant").click()
    expect(panel).to_contain_text("Personal note granted.")
    # closing before the follow-up is refused with a clear message
    move_to("Following up")
    panel.get_by_label("Move to").select_option(label="Closed")
    panel.get_by_role("button", name="Move", exact=True).click()
    expect(panel.locator(".care-error")).to_contain_text("record the follow-up")
    open_form("Record the follow-up")
    panel.get_by_label("Did it work?").select_option("satisfied")
    panel.get_by_label(re.compile("Their words")).fill("She loved the flowers.")
    panel.get_by_role("button", name="Save follow-up").click()
    expect(panel).to_contain_text("Follow-up recorded.")
    move_to("Closed")
    # then
    case.refresh_from_db()
    assert (case.stage, case.is_open) == ("closed", False)
    state = CareState.objects.get(case=case)
    assert state.plus_one == "Flowers and a handwritten card for her mother"
    assert Gesture.objects.get(case=case).is_plus_one
    assert Commitment.objects.get(case=case).status == "open"
    actors = set(
        CaseEvent.objects.filter(case=case, type="case.stage_changed").values_list(
            "actor__user__username", flat=True
        )
    )
    assert actors == {"alice"}
    # and the customer's own page shows the promise
    customer_page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    customer_page.goto(portal_url(case))
    expect(customer_page.locator("#case-commitments")).to_contain_text(
        "Call you when the courier has collected it — Alice will call you by Thursday 8 January"
    )
    context.close()
