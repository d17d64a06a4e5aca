"""A German customer in real Chromium: the form, the thank-you page, the acknowledgement
email and the case page it links to are all German; the switcher changes the language and
the choice is remembered for the customer's emails."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core.cache import cache

from cherish.cases.models import Case
from cherish.core.pipeline import queue_steps, run_steps_task
from cherish.outbox.models import OutgoingEmail

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 780}


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()


def run_follow_on(case: Case) -> None:
    """What the worker does after intake: triage, then the acknowledgement."""
    message = case.messages.get()
    job = queue_steps(settings.CHERISH_INTAKE_FOLLOW_ON, [message.pk, True])
    assert run_steps_task.call(str(job.pk)) == "done"


def test_german_complaint_gets_german_acknowledgement_and_german_case_page(
    browser, live_server, transactional_db, agent, docs_dir, settings
):
    settings.SITE_URL = live_server.url
    # given: a browser set to German
    context = browser.new_context(locale="de-DE", viewport=PHONE, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/complain/")
    expect(page.locator("h1")).to_have_text("Erzählen Sie uns, was passiert ist")
    assert page.locator("html").get_attribute("lang") == "de"
    # when: the form is filled in through its German labels
    page.get_by_label("Was ist passiert?").fill(
        "Meine neue Waschmaschine ist beim ersten Waschgang ausgelaufen und hat die Küche "
        "überschwemmt. Ich habe zweimal angerufen und wurde beide Male unterbrochen."
    )
    page.get_by_label("Ihr Name").fill("Jana Schmidt")
    page.get_by_label("E-Mail-Adresse").fill("jana.schmidt@example.com")
    page.get_by_role("button", name="Senden", exact=True).click()
    page.wait_for_url(re.compile(r"/complain/thanks/"))
    # then: thanked in German
    expect(page.locator("h1")).to_have_text(
        "Vielen Dank, Jana Schmidt. Ihre Nachricht ist bei uns angekommen."
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # when: the worker acknowledges it
    case = Case.objects.get()
    run_follow_on(case)
    email = OutgoingEmail.objects.get(case_pk=case.pk, case_message_pk__isnull=False)
    # then: a German acknowledgement, with the link to the case page
    assert email.text_body.startswith("Guten Tag Jana Schmidt,\n\nich bin Alice Agent")
    assert "persönlich" in email.text_body and "Dear" not in email.text_body
    link = re.search(r"http://\S+/c/\S+/", email.text_body)
    assert link is not None
    # when: the customer opens the link from the email
    page.goto(link.group(0))
    # then: their case page is German, in customer words
    expect(page.locator("#case-reference")).to_have_text(case.reference)
    expect(page.locator("#case-stage")).to_have_text("Ihre Nachricht ist bei uns angekommen")
    expect(page.get_by_role("heading", name="Ihr Austausch mit uns")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Meine neue Waschmaschine")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(docs_dir / "customer-page-german.png"), full_page=True)
    # when: they switch to French with the switcher (works without JavaScript too)
    page.get_by_label("Sprache").select_option("fr")
    page.get_by_role("button", name="Sprache wechseln").click()
    # then: the page is French and the choice is remembered for their emails
    expect(page.get_by_role("heading", name="Vos échanges avec nous")).to_be_visible()
    case.customer.refresh_from_db()
    assert (case.customer.language, case.customer.language_source) == ("fr", "chosen")
    context.close()


def test_french_browser_gets_french_pages_without_javascript(
    browser, live_server, transactional_db, agent
):
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/complain/")
    page.get_by_label("Que s’est-il passé ?").fill("Le livreur a été très aimable.")
    page.get_by_label("Votre nom").fill("Luc Martin")
    page.get_by_role("button", name="Envoyer", exact=True).click()
    # the missing contact is explained in French, tied to its field
    expect(page.get_by_role("heading", name="Il y a un problème")).to_be_visible()
    expect(page.locator("#id_email_error")).to_have_text(
        "Indiquez une adresse e-mail ou un numéro de téléphone pour que nous puissions vous "
        "répondre."
    )
    assert Case.objects.count() == 0
    page.get_by_label("Adresse e-mail").fill("luc@example.com")
    page.get_by_role("button", name="Envoyer", exact=True).click()
    page.wait_for_url(re.compile(r"/complain/thanks/"))
    expect(page.locator("h1")).to_have_text(
        "Merci, Luc Martin. Nous avons bien reçu votre message."
    )
    context.close()


def test_a_manager_writes_the_creed_in_german_and_a_german_customer_reads_it(
    browser, live_server, transactional_db, manager
):
    from tests.browser.signing_in import sign_in

    from cherish.core.clock import now
    from cherish.staff.creed_texts import BUILTIN_CREED
    from cherish.staff.models import Creed

    # given: the creed Cherish came with (seeded by a migration: a transactional test before
    # this one may have flushed it), and a manager on the creed page
    Creed(text="\n".join(BUILTIN_CREED), updated_at=now()).save()
    context, page = sign_in(browser, live_server, "mia", "/desk/people/creed/")
    expect(page.get_by_label("Our customer-service creed")).to_contain_text("We listen first")
    # when: they write the organisation's own creed, and its German version, and save
    page.get_by_label("Our customer-service creed").fill("We call you back the same day.")
    page.get_by_label("Deutsch").fill("Wir rufen Sie noch am selben Tag zurück.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".creed")).to_contain_text("We call you back the same day.")
    assert Creed.objects.get().translations == {"de": "Wir rufen Sie noch am selben Tag zurück."}
    context.close()
    # then: a German customer reads the German version on the complaint page, under a
    # German heading; a French one (no French version written) the organisation's words
    german = browser.new_context(locale="de-DE").new_page()
    german.goto(f"{live_server.url}/complain/")
    expect(german.locator(".creed")).to_contain_text("Unser Versprechen an unsere Kundinnen")
    expect(german.locator(".creed")).to_contain_text("Wir rufen Sie noch am selben Tag zurück.")
    french = browser.new_context(locale="fr-FR").new_page()
    french.goto(f"{live_server.url}/complain/")
    expect(french.locator(".creed")).to_contain_text("Notre promesse à nos clients")
    expect(french.locator(".creed")).to_contain_text("We call you back the same day.")
