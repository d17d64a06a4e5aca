"""The outreach and desk forms no other browser test submits, each posted from real Chromium
by clicking its own button: merge and undo merge, "different people", a date removed, a
customer's data exported and erased, reach out from the radar, win-back, the notification
email choice, the inbox's filter form and signing out. Each test checks the rows changed and
what the page says afterwards."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile

import pytest
from django.contrib.sessions.models import Session
from tests.browser.signing_in import sign_in

from cherish.cases import actions as case_actions
from cherish.cases.models import Case, Message
from cherish.core.clock import now
from cherish.customers.actions import (
    add_important_date,
    change_customer_status,
    find_or_create_customer,
)
from cherish.customers.models import (
    ContactPoint,
    Customer,
    CustomerEvent,
    DuplicateStatus,
    ImportantDate,
    PossibleDuplicate,
)
from cherish.desk.models import DeskState
from cherish.outbox.models import OutgoingEmail
from cherish.outreach import identity
from cherish.outreach.models import ChurnScore

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser


def flash(page):
    return page.locator(".flash")


def click_and_wait_for_the_next_page(page, button):
    """Click a button whose form posts back to the page it is on, and wait until the page
    it redirects to is in (the address does not change, and this page shows no message)."""
    page.evaluate("() => { window.beforeTheClick = true; }")
    button.click()
    page.wait_for_function("() => document.readyState === 'complete' && !window.beforeTheClick")


def test_a_manager_merges_two_records_of_one_customer_and_undoes_it(
    browser, live_server, transactional_db, manager, customer, complaint
):
    # given: Carla wrote from a second address under a misspelt name, and the nightly scan
    # offered the two records as a pair
    twin, _ = find_or_create_customer(name="Carla Custmer", email="carla+shop@example.com")
    twin_case, _ = case_actions.open_case(twin, text="Where is my refund?", channel="email")
    identity.scan_duplicates()
    assert PossibleDuplicate.objects.filter(status=DuplicateStatus.OPEN).count() == 1
    context, page = sign_in(browser, live_server, "mia", "/desk/customers/duplicates/")
    row = page.locator("#duplicates tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("same email address")
    # when: the manager keeps Carla Customer
    row.get_by_role("button", name="Keep Carla Customer").click()
    # then: Carla's page, with the twin's case on it, and the merge can be undone
    page.wait_for_url(re.compile(rf"/desk/customers/{customer.pk}/$"))
    expect(flash(page)).to_contain_text(
        "Merged Carla Custmer into Carla Customer. You can undo this below."
    )
    expect(page.locator("#h-cases + ul")).to_contain_text(twin_case.reference)
    assert Customer.objects.get(pk=twin.pk).merged_into_id == customer.pk
    assert Case.objects.get(pk=twin_case.pk).customer_id == customer.pk
    assert CustomerEvent.objects.filter(customer=customer, type="customer.merged").count() == 1
    # and: the pair is no longer offered
    page.goto(f"{live_server.url}/desk/customers/duplicates/")
    expect(page.locator("#duplicates tbody")).to_contain_text("No likely duplicates.")
    # when: the manager opens Carla again and undoes the merge
    page.goto(f"{live_server.url}/desk/customers/{customer.pk}/")
    merged = page.get_by_role("listitem").filter(has_text=f"customer {twin.pk}")
    merged.get_by_role("button", name="Undo merge").click()
    # then: two customers again, each with their own case
    expect(flash(page)).to_contain_text("Merge undone: Carla Custmer is a separate customer again.")
    expect(merged).to_contain_text("(undone)")
    expect(merged.get_by_role("button", name="Undo merge")).to_have_count(0)
    expect(page.locator("#h-cases + ul")).not_to_contain_text(twin_case.reference)
    assert Customer.objects.get(pk=twin.pk).merged_into_id is None
    assert Case.objects.get(pk=twin_case.pk).customer_id == twin.pk
    assert Case.objects.get(pk=complaint.pk).customer_id == customer.pk
    assert ContactPoint.objects.filter(customer=twin, value="carla+shop@example.com").exists()
    context.close()


def test_an_agent_says_two_records_are_different_people(
    browser, live_server, transactional_db, agent
):
    # given: two people of one household, with near-alike names, share a phone; each has a
    # case with Alice's team
    sam, _ = find_or_create_customer(
        name="Sam Shared", email="sam@example.com", phone="+44 20 7946 0100"
    )
    pat, _ = find_or_create_customer(
        name="Sam Sharad", email="pat@example.com", phone="+44 20 7946 0100"
    )
    assert pat.pk != sam.pk
    for who in (sam, pat):
        case_actions.open_case(who, text="My order is late.", channel="web")
    identity.scan_duplicates()
    (pair,) = PossibleDuplicate.objects.filter(status=DuplicateStatus.OPEN)
    context, page = sign_in(browser, live_server, "alice", "/desk/customers/duplicates/")
    row = page.locator("#duplicates tbody tr")
    expect(row).to_have_count(1)
    # then: an agent may not merge, only keep the records apart
    expect(page.get_by_text("A team lead or a manager can merge")).to_be_visible()
    expect(row.get_by_role("button", name=re.compile("^Keep"))).to_have_count(0)
    # when
    row.get_by_role("button", name="Different people").click()
    # then
    expect(flash(page)).to_contain_text(
        "Sam Shared and Sam Sharad are kept apart and not offered again."
    )
    expect(page.locator("#duplicates tbody")).to_contain_text("No likely duplicates.")
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.DISMISSED
    assert pair.decided_by_id == agent.pk
    assert Customer.objects.filter(pk__in=[sam.pk, pat.pk], merged_into__isnull=True).count() == 2
    # and: the next scan does not offer them again
    identity.scan_duplicates()
    page.reload()
    expect(page.locator("#duplicates tbody")).to_contain_text("No likely duplicates.")
    context.close()


def test_a_manager_removes_a_date_exports_the_data_and_erases_the_customer(
    browser, live_server, transactional_db, manager, agent, customer, complaint
):
    # given: Carla has a birthday and a wrong anniversary on record
    add_important_date(customer, kind="birthday", date=dt.date(1980, 5, 10), by=agent)
    add_important_date(customer, kind="anniversary", date=dt.date(2011, 9, 3), by=agent)
    messages_before = Message.objects.filter(case=complaint).count()
    context, page = sign_in(browser, live_server, "mia", f"/desk/customers/{customer.pk}/")
    dates = page.locator("#h-dates + ul")
    # when: the wrong anniversary is removed
    dates.get_by_role("listitem").filter(has_text="Anniversary").get_by_role(
        "button", name="Remove"
    ).click()
    # then
    expect(dates.get_by_role("listitem").filter(has_text="Anniversary")).to_have_count(0)
    expect(dates).to_contain_text("Birthday 10 May")
    assert list(ImportantDate.objects.filter(customer=customer).values_list("kind", flat=True)) == [
        "birthday"
    ]
    # when: Carla asks for her data
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export data (zip)").click()
    download = download_info.value
    # then: a zip with everything we hold, and the export is on record
    assert download.suggested_filename == f"customer-{customer.pk}.zip"
    with open(download.path(), "rb") as saved:
        archive = zipfile.ZipFile(io.BytesIO(saved.read()))
    data = json.loads(archive.read("customer.json"))
    assert data["customer"]["name"] == "Carla Customer"
    assert [d["kind"] for d in data["important_dates"]] == ["birthday"]
    assert {p["value"] for p in data["contact_points"]} >= {"carla@example.com"}
    assert data["cases"][0]["reference"] == complaint.reference
    assert data["cases"][0]["messages"][0]["body_text"].startswith("My parcel arrived broken")
    assert CustomerEvent.objects.filter(customer=customer, type="customer.exported").count() == 1
    # when: then she asks to be forgotten; a wrong confirmation is refused first
    page.get_by_label("Type ERASE to confirm").fill("erase")
    page.get_by_role("button", name="Erase personal data").click()
    expect(flash(page)).to_contain_text("Type ERASE in capitals to confirm.")
    assert Customer.objects.get(pk=customer.pk).erased_at is None
    page.get_by_label("Type ERASE to confirm").fill("ERASE")
    page.get_by_role("button", name="Erase personal data").click()
    # then: the page shows the tombstone, without the erase form
    expect(flash(page)).to_contain_text("Personal data erased. Case statistics are kept.")
    expect(page.get_by_role("heading", level=1)).to_have_text("[erased] erased")
    expect(page.get_by_role("button", name="Erase personal data")).to_have_count(0)
    expect(page.get_by_text("carla@example.com")).to_have_count(0)
    # and: what is gone (name, contact points, dates, words) and what remains (the case and
    # its messages, for the statistics)
    customer.refresh_from_db()
    assert customer.name == "[erased]" and customer.erased_at is not None
    assert customer.opted_out
    assert not ContactPoint.objects.filter(customer=customer).exists()
    assert not ImportantDate.objects.filter(customer=customer).exists()
    kept = Case.objects.get(pk=complaint.pk)
    assert kept.customer_id == customer.pk and kept.kind == complaint.kind
    assert Message.objects.filter(case=complaint).count() == messages_before
    assert not Message.objects.filter(case=complaint, body_text__contains="parcel").exists()
    assert CustomerEvent.objects.filter(customer=customer, type="customer.erased").count() == 1
    context.close()


def test_an_agent_reaches_out_from_the_radar_and_starts_a_win_back(
    browser, live_server, transactional_db, agent, customer, complaint
):
    # given: the radar flagged Carla, and Dan left over price (both with Alice's team)
    ChurnScore.objects.create(
        customer=customer,
        score=0.8,
        priority=80.0,
        reasons=["No purchase for 150 days; they usually buy every 30 days"],
        computed_at=now(),
    )
    dan, _ = find_or_create_customer(name="Dan Departed", email="dan@example.com")
    case_actions.open_case(dan, text="Your prices went up again.", channel="web")
    change_customer_status(dan, status="left", reason="product_price", by=agent)
    context, page = sign_in(browser, live_server, "alice", "/desk/radar/")
    row = page.get_by_role("row").filter(has_text="Carla Customer")
    expect(row).to_contain_text("80%")
    # when
    row.get_by_role("button", name="Reach out").click()
    # then: one outreach case carrying the radar's reasons, linked from the row
    expect(flash(page)).to_contain_text(
        re.compile(r"Outreach case CH-\w+ opened for Alice Agent\.")
    )
    outreach = Case.objects.get(customer=customer, subject="Reach out: at risk of leaving quietly")
    assert outreach.is_open and outreach.channel == "phone" and outreach.owner_id == agent.pk
    assert ChurnScore.objects.get(customer=customer).outreach_case_id == outreach.pk
    assert "No purchase for 150 days" in outreach.messages.get().body_text
    expect(row.get_by_role("link", name=outreach.reference)).to_be_visible()
    expect(row.get_by_role("button", name="Reach out")).to_have_count(0)
    # when: on the leave reasons page, a win-back for Dan
    page.goto(f"{live_server.url}/desk/customers/leave-reasons/")
    page.get_by_role("listitem").filter(has_text="Dan Departed").get_by_role(
        "button", name="Start win-back"
    ).click()
    # then
    expect(flash(page)).to_contain_text(re.compile(r"Win-back case CH-\w+ opened\."))
    assert page.url == f"{live_server.url}/desk/customers/leave-reasons/"
    win_back = Case.objects.get(customer=dan, subject="Win back: customer who left")
    expect(flash(page)).to_contain_text(f"Win-back case {win_back.reference} opened.")
    assert win_back.is_open and win_back.channel == "phone"
    assert "They left: product or price." in win_back.messages.get().body_text
    assert CustomerEvent.objects.filter(
        customer=dan, type="outreach.started", data__kind="win_back"
    ).exists()
    context.close()


def test_an_agent_chooses_email_copies_filters_the_inbox_and_signs_out(
    browser, live_server, transactional_db, settings, agent, customer, complaint
):
    # given: Alice has two cases, Carla's and Dora's
    settings.SITE_URL = live_server.url
    dora, _ = find_or_create_customer(name="Dora Delivery", email="dora@example.com")
    dora_case, _ = case_actions.open_case(dora, text="The courier left it in the rain.")
    context, page = sign_in(browser, live_server, "alice", "/desk/notifications/")
    choice = page.get_by_label("Also send me each notification by email")
    expect(choice).not_to_be_checked()
    # when: she asks for email copies
    choice.check()
    click_and_wait_for_the_next_page(page, page.get_by_role("button", name="Save", exact=True))
    # then: saved, and the next notification reaches her mailbox
    expect(choice).to_be_checked()
    assert DeskState.objects.get(staff=agent).email_notifications is True
    case_actions.add_inbound_message(complaint, text="Any news on my parcel?", channel="web")
    page.reload()
    expect(
        page.locator(".notification.unread").filter(has_text="Any news on my parcel?")
    ).to_have_count(1)
    copy = OutgoingEmail.objects.get(to_address="alice@example.com")
    assert copy.subject == (
        f"[Cherish] Carla Customer wrote on {complaint.reference}: “Any news on my parcel?”"
    )
    assert f"/desk/cases/{complaint.reference}/" in copy.text_body
    # when: she turns them off again
    choice.uncheck()
    click_and_wait_for_the_next_page(page, page.get_by_role("button", name="Save", exact=True))
    expect(choice).not_to_be_checked()
    assert DeskState.objects.get(staff=agent).email_notifications is False
    # when: in the inbox, she searches for Dora and applies the filter
    page.goto(f"{live_server.url}/desk/")
    expect(page.locator("a.inbox-row-ref")).to_have_count(2)
    page.get_by_label("Search").fill("Dora")
    page.get_by_role("button", name="Apply", exact=True).click()
    # then: only Dora's case, and the address keeps the filter
    page.wait_for_url(re.compile(r"/desk/\?.*q=Dora"))
    expect(page.locator("a.inbox-row-ref")).to_have_text([dora_case.reference])
    # when: she signs out
    page.get_by_role("button", name="Sign out").click()
    # then: the sign-in page, her session is gone, and the desk asks her to sign in again
    page.wait_for_url(re.compile(r"/login/"))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert not Session.objects.exists()
    page.goto(f"{live_server.url}/desk/")
    page.wait_for_url(re.compile(r"/login/\?next=/desk/"))
    expect(page.get_by_label("Username")).to_be_visible()
    context.close()
    # when: without JavaScript, the filter form is sent as the page's own address
    context, page = sign_in(
        browser, live_server, "alice", "/desk/", lands_on=r"/desk/$", java_script_enabled=False
    )
    page.get_by_label("Search").fill("Dora")
    page.get_by_role("button", name="Apply", exact=True).click()
    # then
    page.wait_for_url(re.compile(r"/desk/\?.*q=Dora"))
    expect(page.locator("a.inbox-row-ref")).to_have_text([dora_case.reference])
    context.close()
