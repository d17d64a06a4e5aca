"""Leaving intent, explicit and implicit, measured on the shipped held-out set."""

from __future__ import annotations

import json

import pytest

from cherish.triage.engine import Triager
from cherish.triage.engine.evalreport import eval_leaving, read_leaving_heldout
from cherish.triage.engine.paths import EVAL_FLOOR, TRAINING_DIR
from cherish.triage.engine.training import load_shipped


@pytest.fixture(scope="module")
def triager() -> Triager:
    return Triager.load()


def test_held_out_recall_and_specificity_stay_above_the_floor(triager):
    floor = json.loads(EVAL_FLOOR.read_text())["floor"]
    lines: list[str] = []
    figures = eval_leaving(triager, lines.append)
    assert figures["leaving_recall_heldout"] >= floor["leaving_recall_heldout"]
    assert figures["leaving_specificity_heldout"] >= floor["leaving_specificity_heldout"]
    assert "n=152 (76 leaving / 76 other complaints)" in lines[-1]


def test_held_out_set_is_never_training_data():
    held_out = {text for _, _, text in read_leaving_heldout()}
    shipped = {e.text for e in load_shipped(TRAINING_DIR)}
    assert not held_out & shipped


@pytest.mark.parametrize(
    "text",
    [
        "I'll take my business elsewhere.",
        "This is the last time I shop with you.",
        "I'm looking at other providers.",
        "Please cancel my account.",
        "You've lost a customer.",
        "I will not be renewing my policy.",
        "You won't see me in here again.",
        "Time to find a new bank.",
        "Je résilie mon abonnement.",
        "Ich bestelle nie wieder bei Ihnen.",
        # beyond English: the last order, the competitor, the lost customer
        "Das war das letzte Mal, dass ich bei Ihnen bestelle.",
        "Sie haben gerade einen treuen Kunden verloren.",
        "Ich schaue mich schon nach anderen Anbietern um.",
        "Dann kaufe ich eben woanders ein.",
        "C'est la dernière fois que je commande ici.",
        "Je vais aller chez la concurrence.",
        "Es la última vez que compro en su tienda.",
        "Me voy con otra compañía.",
        "Dit is de laatste keer dat ik bij jullie bestel.",
        "Ik stap over naar een andere aanbieder.",
        "Vou mudar de operadora.",
        "Nunca mais vou comprar aqui.",
    ],
)
def test_implicit_leaving_is_caught(triager, text):
    assert "leaving" in triager.triage(text).flags


@pytest.mark.parametrize(
    "text",
    [
        "I'm not leaving, I just want this fixed.",
        "Please cancel the second payment, I was charged twice.",
        "The last time I ordered it arrived broken too.",
        "The staff member told me to go elsewhere for help with the form.",
        "How do I close a joint account after my husband died?",
        "Die letzte Bestellung kam beschädigt an.",
        "Ich möchte nicht kündigen, ich will nur eine Lösung.",
        "La dernière fois, le colis était abîmé aussi.",
        "La última vez que pedí, llegó roto.",
        "De vorige keer was het pakket ook beschadigd.",
        "A última encomenda chegou partida.",
    ],
)
def test_leaving_words_without_leaving_intent(triager, text):
    assert "leaving" not in triager.triage(text).flags
