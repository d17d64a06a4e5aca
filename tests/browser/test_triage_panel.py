"""An agent reads a case's risk signals, corrects the reading and clears and adds flags in
real Chromium, with JavaScript (htmx swaps the panel) and without (plain posts)."""

from __future__ import annotations

import re

import pytest
from tests.browser.signing_in import sign_in

from cherish.cases import actions as case_actions
from cherish.cases.models import Case
from cherish.triage.models import Correction
from cherish.triage.tasks import triage_message

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}


def _case_read_twice(customer) -> Case:
    case, first = case_actions.open_case(
        customer,
        text="I have been loyal for eight years and this is the third broken kettle. "
        "I'm furious, I'll take my business elsewhere.",
    )
    triage_message(first.pk)
    second = case_actions.add_inbound_message(case, text="Thanks for your reply.", channel="web")
    triage_message(second.pk)
    return case


def _sign_in(browser, live_server, case: Case, *, javascript: bool):
    return sign_in(
        browser,
        live_server,
        "alice",
        f"/desk/cases/{case.reference}/",
        java_script_enabled=javascript,
    )


def _open(panel, summary: str) -> None:
    details = panel.locator("details", has=panel.page.locator("summary", has_text=summary)).first
    if details.get_attribute("open") is None:
        panel.locator("summary", has_text=summary).first.click()


def test_agent_corrects_and_clears_and_adds_flags_with_htmx(
    browser, live_server, transactional_db, agent, customer
):
    # given: an angry, leaving message followed by a polite thanks
    case = _case_read_twice(customer)
    context, page = _sign_in(browser, live_server, case, javascript=True)
    panel = page.locator("#triage-panel")
    header = page.locator("#case-header")
    # then: the flags of the whole case are shown, with the words that raised them
    expect(panel.locator('[data-flag="leaving"]')).to_contain_text("take my business elsewhere")
    expect(panel.locator('[data-flag="angry"]')).to_be_visible()
    expect(header.locator(".badge-leaving")).to_be_visible()
    expect(page.locator(".key-facts, #key-facts").first).to_contain_text(
        "Says: customer for 8 years"
    )

    # when: the agent saves the correction form without changing anything, it says so
    _open(panel, "Correct it")
    panel.get_by_role("button", name="Save correction").click()
    expect(panel.get_by_role("alert")).to_have_text("Change at least one value to correct it.")
    # and a real correction of the topic and the urgency is saved and confirmed
    _open(panel, "Correct it")
    panel.get_by_label("Topic").select_option("billing")
    panel.get_by_label("Urgency").select_option("critical")
    panel.get_by_role("button", name="Save correction").click()
    expect(panel.get_by_role("status")).to_contain_text("Topic is now billing")
    assert set(Correction.objects.values_list("field", "new_value")) == {
        ("topic", "billing"),
        ("urgency", "critical"),
    }

    # when: clearing a flag without a reason is refused, with the reason asked for
    leaving = panel.locator('[data-flag="leaving"]')
    leaving.locator("summary", has_text="Clear").click()
    leaving.get_by_role("button", name="Clear flag").click()
    expect(panel.get_by_role("alert")).to_contain_text("Say why")
    leaving = panel.locator('[data-flag="leaving"]')
    leaving.get_by_label("Why clear").fill("Phoned him: he is staying after the refund.")
    leaving.get_by_role("button", name="Clear flag").click()
    expect(panel.get_by_role("status")).to_have_text("“Leaving” cleared.")
    expect(panel.locator('[data-flag="leaving"]')).to_have_count(0)

    # and a flag the model missed is added
    _open(panel, "Add a flag")
    panel.get_by_label("Flag", exact=True).select_option("legal")
    panel.get_by_label("Why", exact=True).fill("Said on the phone that his solicitor has it.")
    panel.get_by_role("button", name="Add flag").click()
    expect(panel.locator('[data-flag="legal"]')).to_contain_text("added by Alice Agent")
    case.refresh_from_db()
    assert "leaving" not in case.badges and {"legal", "angry"} <= set(case.badges)
    context.close()


def test_agent_corrects_and_clears_without_javascript(
    browser, live_server, transactional_db, agent, customer
):
    case = _case_read_twice(customer)
    context, page = _sign_in(browser, live_server, case, javascript=False)
    panel = page.locator("#triage-panel")
    _open(panel, "Correct it")
    # the form is not in the case page: without JavaScript it opens on the panel's own page
    panel.get_by_role("link", name="Open the correction form").click()
    panel = page.locator("#triage-panel")
    panel.get_by_label("Language").select_option("de")
    panel.get_by_role("button", name="Save correction").click()
    page.wait_for_url(re.compile(f"{case.reference}/#triage-panel$"))
    expect(page.locator("#triage-panel dl")).to_contain_text("de")

    angry = page.locator('#triage-panel [data-flag="angry"]')
    angry.locator("summary", has_text="Clear").click()
    angry.get_by_role("button", name="Clear flag").click()
    # a refused plain post lands on the panel's own page with the message next to the form
    expect(page.get_by_role("alert")).to_contain_text("Say why")
    angry = page.locator('#triage-panel [data-flag="angry"]')
    angry.get_by_label("Why clear").fill("Calm now; it was the courier he was angry with.")
    angry.get_by_role("button", name="Clear flag").click()
    page.wait_for_url(re.compile(f"{case.reference}/#triage-panel$"))
    expect(page.locator('#triage-panel [data-flag="angry"]')).to_have_count(0)
    case.refresh_from_db()
    assert "angry" not in case.badges and case.triage["language"] == "de"
    context.close()
