"""The acknowledgement and every email after it in the customer's language, through the real
HTTP stack, the intake's follow-on pipeline (triage, then respond) and the outbox."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache

from cherish.cases import actions as case_actions
from cherish.cases.models import Case
from cherish.cases.outgoing import queue_message_email
from cherish.core.pipeline import queue_steps, run_steps_task
from cherish.intake.models import RawContact
from cherish.outbox.models import MessageTemplate, OutgoingEmail

FRIDAY = dt.datetime(2024, 9, 6, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()


def complain(client, text: str, **headers) -> Case:
    form = {
        "text": text,
        "name": "Dana Beispiel",
        "email": "dana@example.com",
        "phone": "",
        "order_reference": "",
        "kind": "complaint",
        "website": "",
    }
    sent = client.post("/complain/", form, **headers)
    assert sent.status_code == 302
    raw = RawContact.objects.get()
    job = queue_steps(settings.CHERISH_INTAKE_FOLLOW_ON, [raw.message_id, True])
    assert run_steps_task.call(str(job.pk)) == "done"
    return Case.objects.get(pk=raw.case_id)


def acknowledgement(case: Case) -> OutgoingEmail:
    return OutgoingEmail.objects.get(case_pk=case.pk, case_message_pk__isnull=False)


@time_machine.travel(FRIDAY, tick=False)
def test_german_complaint_gets_a_german_acknowledgement(client, agent):
    # given: German words from a browser that asks for English
    case = complain(
        client,
        "Die Waschmaschine, die Sie geliefert haben, ist undicht und das Wasser läuft "
        "in die Küche. Ich habe schon zweimal angerufen.",
        HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9",
    )
    # then
    case.customer.refresh_from_db()
    assert (case.customer.language, case.customer.language_source) == ("de", "message")
    email = acknowledgement(case)
    assert email.subject == (
        f"Ihre Nachricht ist bei mir, und ich kümmere mich persönlich darum [{case.reference}]"
    )
    text = email.text_body
    assert text.startswith(
        "Guten Tag Dana Beispiel,\n\nich bin Alice Agent und kümmere mich persönlich um das, "
        "was Sie uns geschrieben haben:\n\n    „Die Waschmaschine"
    )
    assert "Ich melde mich spätestens bis Montag, 9. September persönlich bei Ihnen." in text
    assert f"Ihre Vorgangsnummer ist {case.reference}." in text
    assert email.from_name == "Alice Agent von Cherish Demo Company"
    assert "I will" not in text and "Dear" not in text


@time_machine.travel(FRIDAY, tick=False)
def test_a_french_browser_gets_french_even_for_few_words(client, agent):
    case = complain(client, "Colis abîmé !!", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    case.customer.refresh_from_db()
    assert case.customer.language == "fr"
    text = acknowledgement(case).text_body
    assert text.startswith("Bonjour Dana Beispiel,\n\n")
    assert "« Colis abîmé !! »" in text
    assert "le lundi 9 septembre" in text


@time_machine.travel(FRIDAY, tick=False)
def test_french_words_get_a_french_acknowledgement(client, agent):
    case = complain(
        client,
        "Bonjour, ma commande est arrivée avec un carton déchiré et il manque la notice. "
        "Je voudrais un remplacement.",
    )
    text = acknowledgement(case).text_body
    assert text.startswith("Bonjour Dana Beispiel,\n\nJe suis Alice Agent et je vais m’occuper")
    assert "« Bonjour, ma commande est arrivée" in text
    assert "Je reviendrai personnellement vers vous au plus tard le lundi 9 septembre." in text


@time_machine.travel(FRIDAY, tick=False)
def test_a_managers_template_in_the_customers_language_is_used(client, agent):
    MessageTemplate.objects.create(
        key="ack.complaint",
        language="de",
        subject="Wir sind für Sie da",
        body="Hallo {customer_name}, {owner_name} meldet sich. {next_step} {case_link}",
    )
    case = complain(client, "Mein Paket ist nicht angekommen und niemand hat mir geantwortet.")
    email = acknowledgement(case)
    assert email.subject == f"Wir sind für Sie da [{case.reference}]"
    assert email.text_body.startswith(
        "Hallo Dana Beispiel, Alice Agent meldet sich. Ich melde mich spätestens bis Montag, "
        "9. September persönlich bei Ihnen."
    )
    # the English template (seeded) is untouched and still used for English customers
    assert MessageTemplate.objects.get(key="ack.complaint", language="en").subject == (
        "I have your message and I am looking after it personally"
    )


def test_a_staff_reply_is_emailed_with_the_footer_in_the_customers_language(complaint, agent):
    complaint.customer.language = "es"
    complaint.customer.save(update_fields=["language"])
    reply = case_actions.reply_to_customer(complaint, text="Le enviamos otro.", by=agent)
    email = queue_message_email(reply)
    assert email is not None
    assert "\n\n—\nConsulte su caso, responda o añada archivos: http" in email.text_body
    assert f"\nSu referencia: {complaint.reference}" in email.text_body
    assert email.from_name == "Alice Agent de Cherish Demo Company"


def test_a_warm_handoff_tells_the_customer_in_their_language(complaint, agent, other_agent):
    from cherish.care import actions as care_actions

    complaint.customer.language = "nl"
    complaint.customer.save(update_fields=["language"])
    care_actions.warm_handoff(
        complaint,
        to=other_agent,
        summary="Klant wacht op vervanging.",
        by=agent,
        tell_customer=True,
    )
    told = complaint.messages.filter(direction="out").get()
    assert told.body_text == (
        "Hallo Carla,\n\n"
        f"Bob Other behandelt nu uw zaak {complaint.reference}.\n"
        "Bob heeft alles wat u ons tot nu toe hebt verteld, dus u hoeft niets opnieuw uit te "
        "leggen."
    )
