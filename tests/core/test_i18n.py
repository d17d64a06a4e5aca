"""Six languages on every customer-facing page: complete, compiled catalogues; the language
from the visitor's choice, their browser or their message, remembered on the customer."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import translation

from cherish.care import actions as care_actions
from cherish.cases import actions as case_actions
from cherish.cases.outgoing import portal_url
from cherish.core import catalogues
from cherish.customers.actions import LanguageSource, remember_language
from cherish.customers.models import Customer, CustomerEvent

COMPLAINT = {
    "text": "Das Sofa kam mit einem kaputten Kissen an, und niemand hat auf meine Mail reagiert.",
    "name": "Dana Beispiel",
    "email": "dana@example.com",
    "phone": "",
    "order_reference": "",
    "kind": "complaint",
    "website": "",
}


@pytest.fixture(autouse=True)
def _english_after() -> None:
    cache.clear()
    yield
    translation.activate("en")


def test_every_customer_facing_text_is_translated_in_all_six_languages():
    # The extractor must see the pages, or this test would pass on nothing.
    customer_texts = {
        f.msgid for f in catalogues.extract_messages(catalogues.customer_facing_files())
    }
    assert {
        "Tell us what happened",
        "Your conversation with us",
        "Send my answers",
    } <= customer_texts
    assert catalogues.languages() == ["de", "fr", "es", "nl", "pt"]
    assert catalogues.missing_translations() == []


def test_compiled_catalogues_match_their_sources():
    assert catalogues.stale_compiled_files() == []


def test_a_text_added_without_translation_is_reported(tmp_path, monkeypatch):
    page = tmp_path / "new.html"
    page.write_text('{% load i18n %}<p>{% translate "A sentence nobody translated yet" %}</p>')
    monkeypatch.setattr(catalogues, "customer_facing_files", lambda: [page])
    monkeypatch.setattr(catalogues, "PACKAGE_DIR", tmp_path)
    problems = catalogues.missing_translations()
    assert len(problems) == 5
    assert problems[0] == "de: new.html:1: 'A sentence nobody translated yet' is not translated"


@pytest.mark.parametrize(
    ("accept", "lang", "heading"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", "de", "Erzählen Sie uns, was passiert ist"),
        ("fr-FR,fr;q=0.9", "fr", "Dites-nous ce qui s’est passé"),
        ("es", "es", "Cuéntenos qué ha pasado"),
        ("nl-BE", "nl", "Vertel ons wat er is gebeurd"),
        ("pt-BR,pt;q=0.8", "pt", "Conte-nos o que aconteceu"),
        ("en-GB", "en", "Tell us what happened"),
        ("ja", "en", "Tell us what happened"),
    ],
)
def test_complaint_form_speaks_the_browsers_language(client, db, accept, lang, heading):
    page = client.get("/complain/", HTTP_ACCEPT_LANGUAGE=accept)
    html = page.content.decode()
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in html
    assert f"<h1>{heading}</h1>" in html
    assert page["Content-Language"] == lang


def test_switcher_choice_beats_the_browser_and_is_remembered_on_the_customer(client, agent):
    # given: a German browser that picked French with the switcher
    switched = client.post("/i18n/setlang/", {"language": "fr", "next": "/complain/"})
    assert switched.status_code == 302
    assert switched["Location"] == "/complain/"
    # when
    form = client.get("/complain/", HTTP_ACCEPT_LANGUAGE="de")
    sent = client.post("/complain/", COMPLAINT, HTTP_ACCEPT_LANGUAGE="de")
    # then
    assert "<h1>Dites-nous ce qui s’est passé</h1>" in form.content.decode()
    assert sent.status_code == 302
    customer = Customer.objects.get(contact_points__value="dana@example.com")
    assert (customer.language, customer.language_source) == ("fr", "chosen")
    thanks = client.get(sent["Location"]).content.decode()
    assert "Merci, Dana Beispiel. Nous avons bien reçu votre message." in thanks


def test_complaint_from_a_german_browser_remembers_german(client, agent):
    sent = client.post("/complain/", COMPLAINT, HTTP_ACCEPT_LANGUAGE="de-AT,de;q=0.9")
    customer = Customer.objects.get(contact_points__value="dana@example.com")
    assert (customer.language, customer.language_source) == ("de", "browser")
    thanks = client.get(sent["Location"], HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Vielen Dank, Dana Beispiel. Ihre Nachricht ist bei uns angekommen." in thanks
    assert "Alice Agent</strong> kümmert sich ab jetzt persönlich um Ihr Anliegen" in thanks


def test_form_errors_come_in_the_visitors_language(client, db):
    page = client.post(
        "/complain/", {**COMPLAINT, "text": "", "email": "nope"}, HTTP_ACCEPT_LANGUAGE="es"
    )
    html = page.content.decode()
    assert page.status_code == 400
    assert "Cuéntenos qué ha pasado." in html
    assert "Escriba un correo electrónico como nombre@example.com." in html
    assert "Hasta 20\xa0000 caracteres." in html


@pytest.mark.parametrize(
    ("held", "offered", "kept"),
    [
        (("", ""), ("de", LanguageSource.BROWSER), ("de", "browser")),
        (("de", "browser"), ("fr", LanguageSource.MESSAGE), ("fr", "message")),
        (("fr", "message"), ("de", LanguageSource.BROWSER), ("fr", "message")),
        (("fr", "chosen"), ("de", LanguageSource.MESSAGE), ("fr", "chosen")),
        (("fr", "chosen"), ("nl", LanguageSource.CHOSEN), ("nl", "chosen")),
        (("es", ""), ("de", LanguageSource.MESSAGE), ("es", "")),  # set by staff
        (("", ""), ("ja", LanguageSource.CHOSEN), ("", "")),  # not a language we speak
    ],
    ids=[
        "first",
        "message-over-browser",
        "browser-under-message",
        "choice-stays",
        "choice-again",
        "staff-set",
        "unsupported",
    ],
)
def test_remember_language_keeps_the_strongest_source(customer, held, offered, kept):
    Customer.objects.filter(pk=customer.pk).update(language=held[0], language_source=held[1])
    customer.refresh_from_db()
    remember_language(customer, offered[0], source=offered[1])
    customer.refresh_from_db()
    assert (customer.language, customer.language_source) == kept
    changed = CustomerEvent.objects.filter(customer=customer, type="customer.language_changed")
    assert changed.count() == (1 if kept[0] != held[0] else 0)


def test_customer_page_speaks_the_customers_language_with_customer_stage_names(
    client, complaint, agent
):
    # given: a French customer whose case reached the internal stage "Plus one"
    remember_language(complaint.customer, "fr", source=LanguageSource.MESSAGE)
    case_actions.change_stage(complaint, stage="plus_one", by=agent)
    # when: their browser asks for English
    page = client.get(portal_url(complaint), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    # then
    assert '<html lang="fr">' in html
    assert '<dd id="case-stage">Nous avons arrangé les choses</dd>' in html
    assert "Vos échanges avec nous" in html
    assert "Plus one" not in html
    assert "plus_one" not in html


def test_choosing_a_language_on_the_customer_page_is_remembered(client, complaint):
    opened = client.get(portal_url(complaint), follow=True)
    assert '<dd id="case-stage">We have your message</dd>' in opened.content.decode()
    client.post("/i18n/setlang/", {"language": "nl", "next": opened.request["PATH_INFO"]})
    page = client.get(opened.request["PATH_INFO"]).content.decode()
    complaint.customer.refresh_from_db()
    assert (complaint.customer.language, complaint.customer.language_source) == ("nl", "chosen")
    assert "Uw gesprek met ons" in page


def test_commitments_on_the_customer_page_use_the_customers_date_words(client, complaint, agent):
    import datetime as dt

    remember_language(complaint.customer, "de", source=LanguageSource.CHOSEN)
    care_actions.record_commitment(
        complaint,
        what="Rückruf mit dem Termin",
        how="call",
        by=agent,
        due_at=dt.datetime(2099, 1, 8, 11, 0, tzinfo=dt.UTC),
    )
    page = client.get(portal_url(complaint), follow=True).content.decode()
    assert "Was wir Ihnen zugesagt haben" in page
    assert "Alice ruft Sie bis Donnerstag, 8. Januar, 11:00 an" in page


@pytest.mark.parametrize(
    ("text", "remembered"),
    [
        ("Mein Paket ist kaputt angekommen und niemand hat mir geantwortet.", ("de", "message")),
        (
            "Mon colis est arrivé cassé et personne ne m'a répondu depuis une semaine.",
            ("fr", "message"),
        ),
        ("ok", ("", "")),  # too little to be sure of anything
    ],
    ids=["german", "french", "unsure"],
)
def test_triage_remembers_the_language_a_customer_writes_in(customer, agent, text, remembered):
    from cherish.triage.tasks import triage_message

    _case, message = case_actions.open_case(customer, text=text, channel="email")
    triage_message(message.pk)
    customer.refresh_from_db()
    assert (customer.language, customer.language_source) == remembered
