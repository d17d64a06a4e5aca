"""What the customer asked for, read from their own words: care's "listen" step.

The acknowledgement reflects it back ("My answer will cover the refund you mentioned"), so
the customer knows they were heard before anyone has answered. The sentences say what they
*mentioned*, never what we will grant: a lexicon can misread "I got a refund last year", and
an acknowledgement must not promise what nobody has decided.

A small lexicon per language we acknowledge in (en, de, fr, es, nl, pt); stems are matched at
the start of a word so "remboursement", "rembourser" and "remboursé" all count.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext

# Most concrete first; the acknowledgement reflects at most MAX_REFLECTED of them.
OUTCOMES = ("refund", "replacement", "repair", "compensation", "explanation")
MAX_REFLECTED = 2

_STEMS: dict[str, tuple[str, ...]] = {
    "refund": (
        # en, de, fr, es, nl, pt
        "refund",
        "money back",
        "reimburs",
        "my money",
        "erstatt",
        "ruckerstatt",
        "geld zuruck",
        "mein geld",
        "rembours",
        "mon argent",
        "reembols",
        "devolucion del dinero",
        "devuelvan el dinero",
        "mi dinero",
        "terugbetal",
        "geld terug",
        "restitutie",
        "mijn geld",
        "devolucao do dinheiro",
        "dinheiro de volta",
        "meu dinheiro",
    ),
    "replacement": (
        "replacement",
        "replace it",
        "replace the",
        "exchange it",
        "a new one",
        "ersatz",
        "umtausch",
        "austausch",
        "ersetzen",
        "remplacement",
        "remplacer",
        "echanger",
        "echange",
        "reemplaz",
        "sustitu",
        "cambiarlo",
        "cambiar el",
        "vervanging",
        "vervangen",
        "omruil",
        "omwissel",
        "substituicao",
        "substituir",
        "trocar",
        "troca do",
    ),
    "repair": (
        "repair",
        "fix it",
        "fixed",
        "reparatur",
        "reparier",
        "reparation",
        "reparer",
        "reparacion",
        "reparar",
        "arregl",
        "reparatie",
        "repareren",
        "reparacao",
        "reparo",
        "consert",
    ),
    "compensation": (
        "compensat",
        "entschadig",
        "schadenersatz",
        "kompensation",
        "dedommag",
        "indemnis",
        "compensacion",
        "indemniz",
        "compensatie",
        "schadevergoeding",
        "compensacao",
        "indeniza",
        "indemniza",
    ),
    "explanation": (
        "explain",
        "explanation",
        "know why",
        "tell me why",
        "erklar",
        "wissen warum",
        "expliqu",
        "explication",
        "savoir pourquoi",
        "explica",
        "saber por que",
        "saber porque",
        "uitleg",
        "weten waarom",
        "explicacao",
    ),
}


def _fold(text: str) -> str:
    """Lower case without accents, so "Rückerstattung" and "rückerstattung" meet "ruckerstatt"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _pattern(stems: tuple[str, ...]) -> re.Pattern[str]:
    words = sorted(set(stems), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + ")")


_PATTERNS = {outcome: _pattern(_STEMS[outcome]) for outcome in OUTCOMES}


def asked_for(text: str) -> list[str]:
    """The outcomes the customer's words mention, most concrete first."""
    folded = _fold(text)
    return [outcome for outcome in OUTCOMES if _PATTERNS[outcome].search(folded)]


def reflection(outcomes: list[str], leaving: bool) -> str:
    """The sentences that reflect what the customer asked for, in the active language.

    A customer who said they might leave is answered first, with care: they are told we heard
    it and asked for the chance to put things right — never argued with or offered anything.
    """
    sentences = []
    if leaving:
        sentences.append(
            gettext(
                "You told us you are thinking of leaving us. I understand, and I would be "
                "sorry to lose you: please give me the chance to put this right first."
            )
        )
    texts = {
        "refund": gettext("My answer will cover the refund you mentioned."),
        "replacement": gettext("My answer will cover the replacement you mentioned."),
        "repair": gettext("My answer will cover the repair you mentioned."),
        "compensation": gettext("My answer will cover the compensation you mentioned."),
        "explanation": gettext("I will also explain how this happened."),
    }
    sentences.extend(texts[o] for o in outcomes[:MAX_REFLECTED])
    return " ".join(sentences)
