"""Surveys in the customer's language: the invitation email and the survey page, with the
built-in wording translated and a manager's own wording shown as written."""

from __future__ import annotations

from django.utils import translation
from tests.feedback.conftest import invite, path_of

from cherish.feedback import actions
from cherish.feedback.models import Survey
from cherish.outbox.models import OutgoingEmail


def test_a_french_customer_gets_the_survey_in_french(client, customer):
    customer.language = "fr"
    customer.save(update_fields=["language"])
    invitation = invite("relationship", customer)
    email = OutgoingEmail.objects.get(pk=invitation.email_pk)
    assert email.subject == "Notre relation : deux minutes ?"
    assert email.text_body.startswith(
        "Bonjour Carla Customer,\n\n"
        "Que pensez-vous de nous ? Vos réponses sincères nous aident à mériter votre confiance."
    )
    assert "Quelle est la probabilité que vous nous recommandiez" in email.text_body
    assert "Un clic enregistre votre réponse :" in email.text_body
    # the page, with a browser that asks for English
    page = client.get(path_of(actions.survey_url(invitation)), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    translation.activate("en")
    assert '<html lang="fr">' in html
    assert '<h1 id="survey-h">Notre relation</h1>' in html
    assert "Cette entreprise est parfaite pour les gens comme moi." in html
    assert "Tout à fait d’accord" in html
    assert "Envoyer mes réponses" in html


def test_a_managers_own_wording_is_shown_as_written(client, customer):
    Survey.objects.filter(key="relationship").update(name="Wie gaat het?")
    customer.language = "de"
    customer.save(update_fields=["language"])
    invitation = invite("relationship", customer)
    html = client.get(path_of(actions.survey_url(invitation))).content.decode()
    translation.activate("en")
    assert '<h1 id="survey-h">Wie gaat het?</h1>' in html
    assert "Dieses Unternehmen ist perfekt für Menschen wie mich." in html
