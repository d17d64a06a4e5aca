"""The inbox in real Chromium: keyboard-only triage, "Take it", a 50-case bulk reassign,
saved views and a saved reply (macro) found, inserted, edited and applied, each submitted
through the page's own forms."""

from __future__ import annotations

import re

import pytest
from tests.browser.signing_in import sign_in

from cherish.care.demo import seed_defaults
from cherish.care.models import Commitment, Snippet
from cherish.cases import actions as case_actions
from cherish.cases.models import Case, CaseEvent
from cherish.customers.actions import find_or_create_customer
from cherish.desk.models import SavedView
from cherish.staff.models import Staff

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}


def open_cases(n, *, prefix="Customer"):
    made = []
    for i in range(n):
        person, _ = find_or_create_customer(
            name=f"{prefix} {i}", email=f"{prefix.lower()}{i}@example.com"
        )
        case, _ = case_actions.open_case(person, text=f"Problem number {i} with my order.")
        made.append(case)
    return made


def unassigned_cases(n):
    available = list(Staff.objects.filter(is_available=True).values_list("pk", flat=True))
    Staff.objects.update(is_available=False)
    made = open_cases(n, prefix="Free")
    Staff.objects.filter(pk__in=available).update(is_available=True)
    return made


def signed_in(browser, live_server, path):
    return sign_in(browser, live_server, "alice", path, lands_on="/desk/")[1]


def test_keyboard_only_triage_of_five_cases(
    browser, live_server, transactional_db, agent, other_agent
):
    # given: five new cases nobody owns yet
    cases = unassigned_cases(5)
    page = signed_in(browser, live_server, "/desk/?view=unassigned")
    expect(page.locator("tr[data-inbox-row]")).to_have_count(5)
    # when: the help opens with ? and closes with Escape
    page.keyboard.press("?")
    expect(page.locator("#inbox-keys-help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#inbox-keys-help")).to_be_hidden()
    # and: j moves down the list, x selects, k moves back up
    for _ in range(5):
        page.keyboard.press("j")
        page.keyboard.press("x")
    expect(page.locator("tr[data-inbox-row]").nth(4)).to_have_class(re.compile("is-current"))
    page.keyboard.press("k")
    expect(page.locator("tr[data-inbox-row]").nth(3)).to_have_class(re.compile("is-current"))
    expect(page.locator('input[name="cases"]:checked')).to_have_count(5)
    # and: a goes to "assign to"; the arrows pick Bob, Tab reaches the note, Enter submits
    page.keyboard.press("a")
    expect(page.locator("#bulk-to")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.locator("#bulk-to").input_value() == str(other_agent.pk)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator("#bulk-text")).to_be_focused()
    page.keyboard.type("Bob knows this delivery route well.")
    page.keyboard.press("Enter")
    # then: all five are Bob's, one handoff event each
    expect(page.locator(".flash")).to_contain_text("5 of 5 cases changed.")
    assert set(Case.objects.values_list("owner_id", flat=True)) == {other_agent.pk}
    assert CaseEvent.objects.filter(type="case.owner_changed").count() == 5
    # when: / goes to the search box, Escape leaves it, j then r opens the reply box
    page.goto(f"{live_server.url}/desk/?view=open")
    page.keyboard.press("/")
    expect(page.locator("#inbox-q")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("r")
    page.wait_for_url(re.compile(r"/desk/cases/CH-\w+/#reply-text"))
    # then
    expect(page.locator("#reply-text")).to_be_focused()
    assert page.url.split("/desk/cases/")[1][:9] in {c.reference for c in cases}


def test_bulk_reassign_of_fifty_cases_writes_fifty_events(
    browser, live_server, transactional_db, agent, other_agent
):
    # given: fifty of Alice's open cases (Bob is away while they arrive)
    Staff.objects.filter(pk=other_agent.pk).update(is_available=False)
    open_cases(50)
    Staff.objects.filter(pk=other_agent.pk).update(is_available=True)
    page = signed_in(browser, live_server, "/desk/")
    rows = page.locator('input[name="cases"]')
    expect(rows).to_have_count(50)
    expect(page.locator("#inbox-total")).to_have_text("1–50 of 50")
    # when
    for i in range(50):
        rows.nth(i).check()
    page.get_by_label("Do", exact=True).select_option("assign")
    page.get_by_label("Assign to").select_option(str(other_agent.pk))
    page.get_by_label(re.compile("^Note")).fill("Alice is on leave; Bob has the whole story.")
    page.get_by_role("button", name="Apply to selected").click()
    # then
    expect(page.locator(".flash")).to_contain_text("50 of 50 cases changed.")
    assert Case.objects.filter(owner=other_agent).count() == 50
    assert CaseEvent.objects.filter(type="case.owner_changed").count() == 50
    expect(page.locator("tr[data-inbox-row]")).to_have_count(0)


def test_take_it_from_the_list(browser, live_server, transactional_db, agent):
    # given
    (case,) = unassigned_cases(1)
    page = signed_in(browser, live_server, "/desk/?view=unassigned")
    # when
    page.get_by_role("button", name="Take it").click()
    # then
    expect(page.locator(".flash")).to_contain_text(f"{case.reference} is yours now.")
    case.refresh_from_db()
    assert case.owner_id == agent.pk
    page.get_by_role("link", name=re.compile("^Mine")).click()
    expect(page.locator("a.inbox-row-ref")).to_have_text([case.reference])


def test_save_open_and_delete_a_view(browser, live_server, transactional_db, agent):
    # given: one case is about to be lost
    leaving, _other = open_cases(2)
    Case.objects.filter(pk=leaving.pk).update(badges=["leaving"], at_risk=True)
    page = signed_in(browser, live_server, "/desk/?view=open")
    page.get_by_label("Flag").select_option("leaving")
    expect(page.locator("a.inbox-row-ref")).to_have_count(1)
    # when
    page.get_by_label("Save this view as").fill("About to leave")
    page.get_by_role("button", name="Save view").click()
    # then
    expect(page.locator(".flash")).to_contain_text("View “About to leave” saved.")
    saved = SavedView.objects.get()
    assert saved.params == {"view": "open", "flag": "leaving"}
    page.goto(f"{live_server.url}/desk/")
    page.get_by_role("link", name="About to leave").click()
    expect(page.locator("a.inbox-row-ref")).to_have_text([leaving.reference])
    # when: deleted
    page.get_by_role("button", name="Delete the view “About to leave”").click()
    expect(page.locator(".flash")).to_contain_text("View deleted.")
    assert not SavedView.objects.exists()


def test_find_insert_edit_and_apply_a_saved_reply(
    browser, live_server, transactional_db, agent, customer
):
    # given: two saved replies; the case is Alice's
    seed_defaults()
    Snippet.objects.create(title="Refund on its way", body="Your refund is on its way.")
    Snippet.objects.create(
        title="Call back tomorrow",
        body="Dear {customer_first_name}, I am {agent_name}; I will call you about "
        "{case_reference} tomorrow.",
        stage="listening",
        commitment_what="Call the customer back",
        commitment_how="call",
        commitment_days=1,
        tag="call back",
    )
    case, _ = case_actions.open_case(customer, text="The parcel arrived broken.")
    page = signed_in(browser, live_server, f"/desk/cases/{case.reference}/")
    # when: typing filters the list, Insert fills the reply box, the agent makes it personal
    page.get_by_text("Saved replies").click()
    page.get_by_label("Find a saved reply").fill("call")
    expect(page.locator("[data-macro]:visible")).to_have_count(1)
    page.get_by_role("button", name="Insert").click()
    box = page.locator("#reply-text")
    expect(box).to_have_value(
        f"Dear Carla, I am Alice Agent; I will call you about {case.reference} tomorrow."
    )
    expect(box).to_be_focused()
    box.press("End")
    box.type(" I am sorry the parcel was broken.")
    page.get_by_role("button", name="Send reply and apply the saved reply's actions").click()
    # then: the edited reply went out and the stage, promise and tag came with it
    expect(page.locator(".flash")).to_contain_text("the saved reply's actions are applied")
    case.refresh_from_db()
    assert case.messages.get(direction="out").body_text.endswith("the parcel was broken.")
    assert case.stage == "listening"
    assert "call back" in case.badges
    assert Commitment.objects.filter(case=case, what="Call the customer back").exists()
