"""The acknowledgement reflects what the customer asked for and, with care, a threat to
leave — read from their own words in each language we acknowledge in, through the real form,
the follow-on pipeline (triage, then respond) and the outbox."""

from __future__ import annotations

import pytest
import time_machine
from tests.care.test_acknowledgement_languages import FRIDAY, acknowledgement, complain

from cherish.care.asked_for import asked_for


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The kettle leaks. I want a refund.", ["refund"]),
        ("Please give me my money back or replace it.", ["refund", "replacement"]),
        ("Ich möchte eine Rückerstattung und eine Erklärung.", ["refund", "explanation"]),
        ("Je demande le remboursement et un dédommagement.", ["refund", "compensation"]),
        ("Quiero que me lo reparen o una sustitución.", ["replacement"]),
        ("Exijo la reparación del aparato.", ["repair"]),
        ("Ik wil graag dat u de wasmachine vervangt of repareren laat.", ["repair"]),
        ("Ik wil een vervanging.", ["replacement"]),
        ("Quero o reembolso e uma explicação.", ["refund", "explanation"]),
        ("The delivery was late and the driver was rude.", []),
        ("Das Paket kam zu spät.", []),
        # a stem counts only at the start of a word
        ("The unrepaired fence was never an issue.", []),
    ],
)
def test_outcomes_are_read_in_each_language(text: str, expected: list[str]) -> None:
    assert asked_for(text) == expected


@time_machine.travel(FRIDAY, tick=False)
def test_the_acknowledgement_reflects_a_refund_and_a_threat_to_leave_with_care(client, agent):
    case = complain(
        client,
        "My order arrived broken for the second time. I want a refund. If this is not sorted "
        "I will cancel my account and take my business elsewhere.",
    )
    assert "leaving" in case.signals.get("flags", {})
    text = acknowledgement(case).text_body
    leaving = text.index("You told us you are thinking of leaving us.")
    refund = text.index("My answer will cover the refund you mentioned.")
    promise = text.index("I will get back to you personally by")
    assert leaving < refund < promise


@time_machine.travel(FRIDAY, tick=False)
def test_a_plain_complaint_is_not_told_what_it_did_not_say(client, agent):
    case = complain(client, "The parcel was left in the rain and the box is soaked.")
    text = acknowledgement(case).text_body
    assert "mentioned" not in text and "leaving" not in text


@time_machine.travel(FRIDAY, tick=False)
def test_a_german_customer_hears_it_in_german(client, agent):
    case = complain(
        client,
        "Die Waschmaschine ist schon wieder kaputt. Ich verlange eine Reparatur oder eine "
        "Erstattung des Kaufpreises.",
    )
    text = acknowledgement(case).text_body
    assert "Meine Antwort wird auch auf die Erstattung eingehen" in text
    assert "Meine Antwort wird auch auf die Reparatur eingehen" in text
    assert "My answer" not in text
