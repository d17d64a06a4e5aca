"""A customer files a complaint on a phone; an agent replies to it from the desk."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from tests.browser.signing_in import sign_in
from tests.conftest import PASSWORD
from tests.intake.test_applier import _wait_for, applier_process

from cherish.cases import actions
from cherish.cases.models import Case, Message
from cherish.customers.actions import find_or_create_customer
from cherish.intake import journal
from cherish.staff.actions import create_staff
from cherish.triage.tasks import triage_message

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

__all__ = ["applier_process"]  # the fixture, used by name

PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1366, "height": 900}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()


def test_customer_files_complaint_on_a_phone_and_sees_reference(
    browser, live_server, transactional_db, agent, docs_dir
):
    # given
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/complain/")
    # when: filled in with the keyboard-reachable labelled fields
    page.get_by_label("What happened?").fill(
        "My new washing machine leaked on the first wash and flooded the kitchen. "
        "I rang twice and was cut off both times. I would like it replaced and the floor "
        "repair covered."
    )
    page.get_by_label("Your name").fill("Priya Shah")
    page.get_by_label("Email address").fill("priya.shah@example.com")
    page.get_by_label("Phone number").fill("07700 900123")
    page.get_by_label("Order number or reference (optional)").fill("WM-55821")
    page.get_by_label("Photos or documents (optional)").set_input_files(
        [{"name": "kitchen-floor.png", "mimeType": "image/png", "buffer": PNG}]
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(docs_dir / "public-complaint.png"), full_page=True)
    page.get_by_role("button", name="Send").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/complain/thanks/"))
    # then
    case = Case.objects.get()
    reference = page.locator("#case-reference").inner_text()
    assert reference == case.reference
    assert "Alice Agent" in page.content()
    assert case.messages.get().attachments.count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(docs_dir / "thank-you.png"), full_page=True)
    context.close()


def test_complaint_form_works_without_javascript(
    browser, live_server, transactional_db, agent, axe
):
    # given
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/complain/")
    axe(page, javascript=False)
    # when: first without any way to reach the customer, then corrected
    page.get_by_label("What happened?").fill("The bus driver was very kind to my son.")
    page.get_by_label("Your name").fill("Tom Lee")
    page.get_by_label("give a compliment").check()
    page.get_by_role("button", name="Send").click()
    assert "There is a problem" in page.content()
    assert Case.objects.count() == 0
    axe(page, javascript=False)
    page.get_by_role("link", name=re.compile("Give an email address")).click()
    page.keyboard.type("tom@example.com")
    page.get_by_role("button", name="Send").click()
    # then
    page.wait_for_url(re.compile(r"/complain/thanks/"))
    case = Case.objects.get()
    assert case.kind == "compliment"
    assert page.locator("#case-reference").inner_text() == case.reference
    axe(page, javascript=False)
    context.close()


def _focused(page):
    return page.evaluate(
        """() => {
          const e = document.activeElement;
          const box = e.getBoundingClientRect();
          return {tag: e.tagName.toLowerCase(), type: e.type || "", name: e.name || "",
                  value: e.value || "", text: (e.innerText || "").trim(),
                  visible: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0};
        }"""
    )


def test_complaint_form_by_keyboard_only(browser, live_server, transactional_db, agent, axe):
    # given
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/complain/")
    axe(page)
    typed = {
        "text": "The parcel locker would not open and the helpline hung up on me.",
        "name": "Ines Keyboard",
        "email": "ines@example.com",
    }
    visited = []
    # when: the visitor moves with Tab only, chooses with Space, types and sends with Enter
    for _ in range(40):
        page.keyboard.press("Tab")
        here = _focused(page)
        visited.append(here)
        # then: focus never lands on something the visitor cannot see
        assert here["visible"], f"focus on a hidden element: {here}"
        if here["name"] == "kind" and here["value"] == "complaint":
            page.keyboard.press("Space")
        elif here["name"] in typed:
            page.keyboard.type(typed.pop(here["name"]))
        elif here["tag"] == "button" and here["text"] == "Send":
            page.keyboard.press("Enter")
            break
    page.wait_for_url(re.compile(r"/complain/thanks/"))
    # then: everything was reached in reading order and the complaint is in
    names = [v["name"] for v in visited if v["name"]]
    assert names.index("kind") < names.index("text") < names.index("name") < names.index("email")
    assert not typed
    case = Case.objects.get()
    assert (case.kind, case.customer.name) == ("complaint", "Ines Keyboard")
    assert page.locator("#case-reference").inner_text() == case.reference
    axe(page)
    context.close()


SEED = [
    (
        "Margaret Okafor",
        "margaret.okafor@example.com",
        "complaint",
        "high",
        ["angry"],
        "Third time my delivery slot was missed. I took a day off work for nothing and nobody "
        "called to say the van was not coming.",
    ),
    (
        "James Whitfield",
        "j.whitfield@example.com",
        "complaint",
        "critical",
        ["leaving", "angry"],
        "I was charged twice for my annual plan. If this is not refunded this week I am "
        "cancelling everything.",
    ),
    (
        "Aisha Rahman",
        "aisha.r@example.com",
        "inquiry",
        "normal",
        [],
        "Can I change the delivery address on order 44120 before it ships?",
    ),
    (
        "Tomasz Nowak",
        "tomasz.nowak@example.com",
        "complaint",
        "normal",
        ["vulnerable"],
        "My mother is 91 and the engineer left without reconnecting her heating.",
    ),
    (
        "Hannah Becker",
        "hannah.becker@example.com",
        "compliment",
        "low",
        [],
        "Leo in the Bristol store went out of his way to find the right size for my daughter.",
    ),
    (
        "Oliver Grant",
        "oliver.grant@example.com",
        "suggestion",
        "low",
        [],
        "It would help if the app showed which items are in stock at my local store.",
    ),
    (
        "Sofia Marino",
        "sofia.marino@example.com",
        "complaint",
        "normal",
        [],
        "The replacement blender arrived with the same cracked jug as the first one.",
    ),
    (
        "Daniel Kim",
        "daniel.kim@example.com",
        "inquiry",
        "normal",
        [],
        "Do you price-match other retailers for the same model?",
    ),
    (
        "Grace Adeyemi",
        "grace.adeyemi@example.com",
        "complaint",
        "high",
        ["angry"],
        "Your courier left my parcel in the rain and the books inside are ruined.",
    ),
    (
        "Lucas Moreau",
        "lucas.moreau@example.com",
        "complaint",
        "normal",
        [],
        "I have been waiting 3 weeks for the refund you promised on the phone.",
    ),
]


def seed_cases(agent):
    cases = []
    for name, email, kind, severity, badges, text in SEED:
        person, _ = find_or_create_customer(name=name, email=email)
        case, _ = actions.open_case(
            person, text=text, kind=kind, subject=text.split(".")[0][:80], channel="web"
        )
        if severity != "normal":
            actions.change_severity(case, severity=severity, by=None)
        if badges:
            # What triage sets on the case for the inbox (its task is not run in tests).
            Case.objects.filter(pk=case.pk).update(badges=badges, at_risk="leaving" in badges)
        cases.append(case)
    # Earlier history for one customer, so the timeline spans cases.
    earlier, _ = actions.open_case(
        cases[0].customer,
        text="My order came without the assembly instructions.",
        subject="Missing instructions",
    )
    actions.reply_to_customer(earlier, text="Sorry Margaret, a copy is on its way.", by=agent)
    actions.change_stage(earlier, stage="closed", by=agent, reason="Instructions sent.")
    actions.add_internal_note(
        cases[0],
        text="Checked the courier portal: the van broke down, no call was made.",
        by=agent,
    )
    actions.change_stage(cases[0], stage="listening", by=agent)
    # The case the screenshots show is read by the real triage engine.
    first = cases[0].messages.filter(direction="in").order_by("created_at").first()
    triage_message(first.pk)
    return cases


def test_agent_logs_in_opens_case_and_replies(
    browser, live_server, transactional_db, agent, docs_dir
):
    # given
    create_staff(username="marco", password=PASSWORD, display_name="Marco Rossi", team=agent.team)
    cases = seed_cases(agent)
    case = cases[0]
    # when: signing in
    context, page = sign_in(
        browser, live_server, "alice", "/desk/%3Fview%3Dopen", lands_on=r"/desk/"
    )
    # then: the inbox lists the cases
    page.wait_for_selector(f"text={case.reference}")
    assert page.locator("a.inbox-row-ref").count() == 11 - 1  # the closed one is not open
    page.screenshot(path=str(docs_dir / "inbox.png"), full_page=True)
    # when: filtering by kind swaps the list in place (HTMX)
    page.get_by_label("Kind", exact=True).select_option("inquiry")
    expect(page.locator("a.inbox-row-ref")).to_have_count(2)
    assert "kind=inquiry" in page.url
    page.get_by_label("Kind", exact=True).select_option("")
    expect(page.locator("a.inbox-row-ref")).to_have_count(10)
    # when: opening the case and replying
    page.get_by_role("link", name=case.reference).click()
    page.wait_for_url(re.compile(case.reference))
    page.get_by_label(re.compile("Reply to Margaret")).fill(
        "Dear Margaret, I am so sorry — the van broke down and we should have called you. "
        "I have booked a guaranteed morning slot for tomorrow and refunded the delivery fee."
    )
    page.get_by_role("button", name="Send reply").click()
    # then: the reply shows in the conversation without a page load
    expect(page.locator("#case-work .out .bubble")).to_have_count(1)
    assert "booked a guaranteed morning slot" in page.locator("#case-work").inner_text()
    assert "Reply added." in page.locator("#case-work").inner_text()
    reply = Message.objects.get(case=case, direction="out")
    assert reply.author == agent
    page.screenshot(path=str(docs_dir / "case-page.png"), full_page=True)
    context.close()


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the intake journal is SQLite's (one write lock)"
)
def test_a_complaint_sent_as_under_cherish_serve_goes_through_the_journal_to_its_owner(
    browser, live_server, transactional_db, agent, applier_process
):
    # given: the web process beside an applier process, as `cherish serve` runs them
    applier_process()
    assert journal.in_use()
    page = browser.new_page()
    page.goto(f"{live_server.url}/complain/")
    # when: the form is sent (no files: the journal's path)
    page.get_by_label("What happened?").fill(
        "Der Kühlschrank kam mit einer Delle an und niemand ruft zurück."
    )
    page.get_by_label("Your name").fill("Jana Müller")
    page.get_by_label("Email address").fill("jana.mueller@example.de")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(r"/complain/thanks/"))
    # then: the thank-you page names the case and its owner, and nothing waits in the journal
    case = Case.objects.get()
    assert page.locator("#case-reference").inner_text() == case.reference
    assert "Alice Agent" in page.content()
    _wait_for(lambda: journal.size() == 0)  # deleted just after the move commits
    assert case.raw_contacts.get().reference == case.reference
    page.close()
