"""Every form of the case page's care panel, submitted in real Chromium: the agent clicks the
real button on the desk's case page (the HTMX panel) and the database and the refreshed panel
show the outcome. The stage, fair outcome, commitment, resolution, gesture and follow-up forms
are submitted in test_care_flow.py; this file covers the rest."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from tests.browser.signing_in import sign_in

from cherish.care.demo import seed_defaults
from cherish.care.models import (
    CareState,
    CaseLink,
    CaseMerge,
    Collaborator,
    Commitment,
    ExternalEscalation,
    Gesture,
)
from cherish.cases import actions as case_actions
from cherish.cases.models import CaseEvent, Message
from cherish.customers.actions import find_or_create_customer
from cherish.staff.models import Staff

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser


def _open_care_panel(page):
    """The case page shows the care workflow read-only; its forms load when asked for."""
    panel = page.locator("#care-panel")
    panel.get_by_role("link", name="Work on the care workflow").click()
    expect(panel.get_by_label("Move to")).to_be_visible()
    return panel


def _open_details(page, panel, summary: str) -> None:
    """Open the panel's <details> whose summary reads ``summary`` (each swap closes them)."""
    details = panel.locator("details", has=page.locator("summary", has_text=summary)).last
    if details.get_attribute("open") is None:
        details.locator("summary", has_text=summary).first.click()


def _alice_owns_new_cases(other_agent: Staff) -> None:
    # Round-robin would give some cases to Bob; these stories need Alice to own them.
    Staff.objects.filter(pk=other_agent.pk).update(is_available=False)


def test_agent_assesses_notes_keeps_and_breaks_promises_and_pauses_the_clock(
    browser, live_server, transactional_db, agent, other_agent, customer, settings
):
    """Alice assesses a fresh complaint, asks Bob for help in an internal note, keeps one
    promise and honestly breaks another, pauses the clock while the customer finds a
    receipt, resumes it when they answer, and records the +1."""
    # given: a fresh complaint owned by Alice and the care defaults
    seed_defaults()
    settings.SITE_URL = live_server.url
    _alice_owns_new_cases(other_agent)
    case, _ = case_actions.open_case(
        customer, text="The kettle stopped working after two days and smells of burning."
    )
    assert case.owner_id == agent.pk
    context, page = sign_in(browser, live_server, "alice", f"/desk/cases/{case.reference}/")
    panel = _open_care_panel(page)
    expect(panel).to_contain_text("Not assessed yet.")

    # when: she assesses it as high severity needing immediate action
    _open_details(page, panel, "Assess")
    panel.get_by_label("Severity").select_option("high")
    panel.get_by_label("Complexity").select_option("moderate")
    panel.get_by_label("Impact").select_option("high")
    panel.get_by_label("Needs immediate action").check()
    panel.get_by_label("Note", exact=True).fill("Possible fire risk: ask for the batch number.")
    panel.get_by_role("button", name="Save assessment").click()
    # then
    expect(panel.locator(".care-notice")).to_have_text("Assessment recorded.")
    expect(panel).to_contain_text("Severity High · complexity Moderate · impact High")
    expect(panel).to_contain_text("needs immediate action")
    expect(panel).to_contain_text("Possible fire risk: ask for the batch number.")
    case.refresh_from_db()
    assert case.severity == "high"
    assert "urgent" in case.badges
    state = CareState.objects.get(case=case)
    assert (state.complexity, state.impact, state.needs_immediate_action) == (
        "moderate",
        "high",
        True,
    )
    assert state.assessment_note == "Possible fire risk: ask for the batch number."

    # when: she leaves an internal note mentioning Bob
    _open_details(page, panel, "Hand over, collaborate, link, escalate")
    panel.get_by_label(re.compile("Internal note")).fill(
        "@bob have you seen this kettle model fail before?"
    )
    panel.get_by_role("button", name="Add note").click()
    # then: the note is kept for staff only and Bob is told
    expect(panel.locator(".care-notice")).to_have_text("Note added.")
    note = Message.objects.get(case=case, direction="note")
    assert note.body_text == "@bob have you seen this kettle model fail before?"
    assert note.author_id == agent.pk
    mentioned = CaseEvent.objects.get(case=case, type="staff.mentioned")
    assert mentioned.actor.user.username == "alice"

    # when: she makes two promises, keeps the first and cannot keep the second
    for what, when in (
        ("Email you the returns label", "2099-01-08T11:00"),
        ("Call you once the lab has tested it", "2099-01-09T15:30"),
    ):
        _open_details(page, panel, "Make a commitment")
        panel.get_by_label("What you promise").fill(what)
        panel.get_by_label("By when").fill(when)
        panel.get_by_label("How", exact=True).select_option("email")
        panel.get_by_role("button", name="Record commitment").click()
        expect(panel.locator(".care-notice")).to_have_text(f"Commitment recorded: {what}.")
    label = panel.locator(".care-commitment", has_text="Email you the returns label")
    lab = panel.locator(".care-commitment", has_text="Call you once the lab")
    label.get_by_role("button", name="Kept").click()
    expect(panel.locator(".care-notice")).to_have_text("Commitment kept.")
    expect(label).to_contain_text("kept")
    lab.locator("summary", has_text="Cannot keep it").click()
    lab.get_by_label("Why (and tell the customer)").fill("The lab is closed until March.")
    lab.get_by_role("button", name="Mark broken").click()
    # then
    expect(panel.locator(".care-notice")).to_have_text(
        "Commitment marked as broken. Tell the customer what happens instead."
    )
    expect(lab).to_contain_text("broken")
    expect(panel.get_by_role("button", name="Kept")).to_have_count(0)
    kept = Commitment.objects.get(case=case, what="Email you the returns label")
    broken = Commitment.objects.get(case=case, what="Call you once the lab has tested it")
    assert (kept.status, kept.kept_at is not None) == ("kept", True)
    assert (broken.status, broken.outcome_note) == ("broken", "The lab is closed until March.")

    # when: she waits on the customer for the receipt
    panel.get_by_role("button", name="Waiting on the customer (pause the clock)").click()
    # then: the clock is paused
    expect(panel.locator(".care-notice")).to_have_text(
        "Waiting on the customer: the clock is paused."
    )
    expect(panel).to_contain_text("Waiting on customer — clock paused")
    case.refresh_from_db()
    assert case.stage == "waiting"
    assert CareState.objects.get(case=case).waiting_since is not None

    # when: the customer answers and she resumes the clock
    panel.get_by_role("button", name="The customer answered — resume the clock").click()
    # then: the case is back where it was
    expect(panel.locator(".care-notice")).to_have_text("The clock runs again.")
    expect(panel).not_to_contain_text("Waiting on customer — clock paused")
    expect(
        panel.get_by_role("button", name="Waiting on the customer (pause the clock)")
    ).to_be_visible()
    case.refresh_from_db()
    assert case.stage == "received"
    assert CareState.objects.get(case=case).waiting_since is None

    # when: she records the +1
    _open_details(page, panel, "Record the +1")
    panel.get_by_label("The bonus beyond putting it right").fill(
        "A box of descaling tablets with the new kettle"
    )
    panel.get_by_role("button", name="Save +1").click()
    # then
    expect(panel.locator(".care-notice")).to_have_text("+1 recorded.")
    expect(panel).to_contain_text("A box of descaling tablets with the new kettle")
    assert (
        CareState.objects.get(case=case).plus_one
        == "A box of descaling tablets with the new kettle"
    )
    context.close()


def test_agent_brings_in_help_links_escalates_hands_over_and_merges_a_duplicate(
    browser, live_server, transactional_db, agent, other_agent, lead, customer, settings
):
    """Alice asks Lena to help, links the complaint to another customer's case about the same
    courier, records the customer's complaint to the ombudsman, hands the case to Bob with a
    summary (telling the customer), then closes the customer's second case as a duplicate."""
    # given: Carla's complaint, her duplicate, and Dan's complaint about the same courier
    seed_defaults()
    settings.SITE_URL = live_server.url
    _alice_owns_new_cases(other_agent)
    case, _ = case_actions.open_case(
        customer, text="The courier left my parcel in the rain and the books are ruined."
    )
    duplicate, _ = case_actions.open_case(
        customer, text="Writing again: my books came soaked. Nobody has answered."
    )
    dan, _ = find_or_create_customer(name="Dan Drummond", email="dan@example.com")
    related, _ = case_actions.open_case(dan, text="Same courier left my parcel in a puddle.")
    assert {c.owner_id for c in (case, duplicate, related)} == {agent.pk}
    context, page = sign_in(browser, live_server, "alice", f"/desk/cases/{case.reference}/")
    panel = _open_care_panel(page)
    more = "Hand over, collaborate, link, escalate"

    # when: she adds Lena as a collaborator
    _open_details(page, panel, more)
    panel.get_by_label("Add", exact=True).select_option(label="Lena Lead")
    panel.get_by_role("button", name="Add collaborator").click()
    # then
    expect(panel.locator(".care-notice")).to_have_text("Lena Lead is now helping on this case.")
    _open_details(page, panel, more)
    expect(panel.locator("li", has_text="Lena Lead")).to_be_visible()
    assert list(Collaborator.objects.filter(case=case).values_list("staff_id", flat=True)) == [
        lead.pk
    ]

    # when: she links Dan's case
    panel.get_by_label("Link to").fill(related.reference)
    panel.get_by_role("button", name="Link", exact=True).click()
    # then
    expect(panel.locator(".care-notice")).to_have_text(f"Linked to {related.reference}.")
    _open_details(page, panel, more)
    expect(panel.get_by_role("link", name=related.reference)).to_be_visible()
    link = CaseLink.objects.get()
    assert (link.case_id, link.other_id, link.type) == (case.pk, related.pk, "related")

    # when: she records that Carla went to the ombudsman two days ago
    escalated_on = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)
    panel.get_by_label("Body", exact=True).select_option("ombudsman")
    panel.get_by_label("Name", exact=True).fill("Parcel Ombudsman")
    panel.get_by_label("Date", exact=True).fill(escalated_on.isoformat())
    panel.get_by_label("Their reference").fill("PO-4411")
    panel.get_by_role("button", name="Record escalation").click()
    # then
    expect(panel.locator(".care-notice")).to_have_text("External escalation recorded.")
    _open_details(page, panel, more)
    expect(panel).to_contain_text("Ombudsman (Parcel Ombudsman)")
    expect(panel).to_contain_text("ref. PO-4411")
    escalation = ExternalEscalation.objects.get(case=case)
    assert (escalation.body, escalation.body_name, escalation.reference) == (
        "ombudsman",
        "Parcel Ombudsman",
        "PO-4411",
    )
    assert escalation.escalated_on == escalated_on
    case.refresh_from_db()
    assert "escalated" in case.badges

    # when: she hands the case to Bob with a summary and tells Carla
    panel.get_by_label("New owner", exact=True).select_option(label="Bob Other")
    panel.get_by_label("Summary for the new owner").fill(
        "Books soaked by the courier; refund agreed in principle, ombudsman ref PO-4411."
    )
    panel.get_by_label("Tell the customer who helps them now").check()
    panel.get_by_label("Why (for the customer)").fill("he looks after courier claims")
    panel.get_by_role("button", name="Hand over").click()
    # then: Bob owns it, reads the summary first, and Carla hears who helps her now
    expect(panel.locator(".care-notice")).to_have_text("Handed over to Bob Other.")
    case.refresh_from_db()
    assert case.owner_id == other_agent.pk
    assert case.handoff_note.startswith("Books soaked by the courier")
    assert case.handoff_unread
    told = Message.objects.get(case=case, direction="out")
    assert (
        f"Bob Other is now looking after your case {case.reference} — he looks after courier"
        " claims." in told.body_text
    )
    handoff = CaseEvent.objects.get(case=case, type="handoff.warm")
    assert handoff.actor.user.username == "alice"

    # when: on the duplicate's page she merges it into the first case, confirming the dialog
    page.goto(f"{live_server.url}/desk/cases/{duplicate.reference}/")
    panel = _open_care_panel(page)
    _open_details(page, panel, more)
    panel.get_by_label("This is a duplicate of").fill(case.reference)
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    panel.get_by_role("button", name="Merge").click()
    # then: the duplicate is closed and points at the case that carries on
    expect(panel.locator(".care-notice")).to_have_text(
        f"Merged into {case.reference}; this case is closed and both timelines are kept."
    )
    expect(panel.locator(".care-stage")).to_have_text("Closed")
    assert dialogs == ["Close this case as a duplicate? Both timelines are kept."]
    _open_details(page, panel, more)
    expect(panel).to_contain_text(f"Merged into {case.reference}.")
    merge = CaseMerge.objects.get()
    assert (merge.duplicate_id, merge.into_id, merge.merged_by_id) == (
        duplicate.pk,
        case.pk,
        agent.pk,
    )
    duplicate.refresh_from_db()
    assert (duplicate.stage, duplicate.is_open) == ("closed", False)
    case.refresh_from_db()
    assert case.is_open
    context.close()


def test_lead_declines_a_gesture_above_the_agents_limit_with_a_reason(
    browser, live_server, transactional_db, agent, lead, complaint, settings
):
    """Alice asks her lead to approve a refund above her limit; Lena declines it on the case
    page's care panel, giving the reason Alice will pass on to the customer."""
    # given: a 120 GBP refund Alice asked Lena to approve (her limit is 50 GBP)
    seed_defaults()
    settings.SITE_URL = live_server.url
    context, page = sign_in(browser, live_server, "alice", f"/desk/cases/{complaint.reference}/")
    panel = _open_care_panel(page)
    _open_details(page, panel, "Offer a gesture")
    panel.get_by_label("Kind", exact=True).select_option("refund")
    panel.get_by_label("Value").fill("120")
    panel.get_by_label("What exactly").fill("Full refund of the broken parcel")
    panel.get_by_label(re.compile("Why \\(for your lead")).fill("Second broken delivery")
    panel.get_by_role("button", name="Ask my lead to approve").click()
    expect(panel.locator(".care-notice")).to_have_text("Sent to Lena Lead for approval.")
    gesture = Gesture.objects.get(case=complaint)
    assert (gesture.status, gesture.approver_id, gesture.value) == (
        "pending_approval",
        lead.pk,
        Decimal("120.00"),
    )
    context.close()

    # when: Lena opens the case's care panel and declines it with a reason
    context, page = sign_in(browser, live_server, "lena", f"/desk/cases/{complaint.reference}/")
    panel = _open_care_panel(page)
    asked = panel.locator(".care-gesture", has_text="Full refund of the broken parcel")
    asked.get_by_label("Reason").fill("Within policy a replacement is offered first")
    asked.get_by_role("button", name="Decline").click()
    # then: the panel says so and the gesture is declined by her, with her reason
    expect(panel.locator(".care-notice")).to_have_text("Gesture declined.")
    expect(asked).to_contain_text("declined by Lena Lead")
    expect(asked).to_contain_text("Within policy a replacement is offered first")
    expect(panel.get_by_role("button", name="Decline")).to_have_count(0)
    gesture.refresh_from_db()
    assert (gesture.status, gesture.decided_by_id, gesture.reason) == (
        "declined",
        lead.pk,
        "Within policy a replacement is offered first",
    )
    assert CaseEvent.objects.filter(case=complaint, type="gesture.declined").count() == 1
    context.close()
