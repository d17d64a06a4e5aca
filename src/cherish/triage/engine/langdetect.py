"""A light language detector: Unicode scripts, then function-word profiles for Latin script.

Latin-script languages are told apart by counting their most frequent function words
(hand-picked, each word listed under every language that uses it, with a small bonus for
language-specific letters such as ß, ñ, ç, ã). Returns an ISO 639-1 code and the evidence.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import islice

_SCRIPTS: list[tuple[str, str]] = [
    ("ru", "\u0400-\u04ff"),
    ("el", "\u0370-\u03ff"),
    ("he", "\u0590-\u05ff"),
    ("ar", "\u0600-\u06ff"),
    ("hi", "\u0900-\u097f"),
    ("th", "\u0e00-\u0e7f"),
    ("ko", "\uac00-\ud7af\u1100-\u11ff"),
    ("ja", "\u3040-\u30ff"),
    ("zh", "\u4e00-\u9fff"),
]
_SCRIPT_RX = [(code, re.compile(f"[{rng}]")) for code, rng in _SCRIPTS]

_STOP: dict[str, str] = {
    "en": "the and is are was were to of in for on with you your my i it this that not have has "
    "be been will would can could please thanks thank me we they but at from as what why how "
    "when no yes just still an a do does did don't i'm its it's there their our if or so",
    "fr": "le la les des du de un une et est sont je vous nous mon ma mes votre vos pas ne "
    "que qui pour avec sur dans ce cette il elle ont avez ai été très merci bonjour depuis "
    "toujours mais au aux c'est j'ai n'est plus rien",
    "de": "der die das und ist sind ich sie wir mein meine ihr ihre nicht kein keine mit für auf "
    "von zu den dem ein eine einen habe haben hat wurde noch schon seit bitte danke aber "
    "auch nur wie warum wann immer sehr bei aus",
    "es": "el la los las de del y es son yo usted ustedes mi mis su sus no que con para por en "
    "un una he han ha sido muy gracias hola desde todavía pero lo al se me nos esto esta "
    "está porque cuando ya",
    "it": "il lo la gli le di del della e è sono io mio mia miei non che con per su un una ho "
    "hanno ha stato molto grazie ciao ancora ma al questo questa perché quando già",
    "pt": "o a os as de do da dos das e é são eu meu minha não que com para por em um uma "
    "tenho têm foi muito obrigado obrigada olá ainda mas ao isso esta está porque quando já",
    "nl": "de het een en is zijn ik mijn niet geen met voor op van te dat die wij we jullie "
    "heb hebben heeft was nog al bedankt dank maar ook alleen hoe waarom wanneer erg",
}
_PROFILES: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in _STOP.items()}
# Every code ``detect`` can answer.
LANGUAGES: tuple[str, ...] = (*_STOP, *(code for code, _ in _SCRIPTS))
_LETTERS: dict[str, str] = {"de": "äöüß", "es": "ñ¿¡", "fr": "çèêëœàâî", "pt": "ãõç", "it": "òù"}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def detect(text: str) -> tuple[str, list[str]]:
    """Return (ISO 639-1 code, evidence). Empty or symbol-only text -> ("en", ["default"])."""
    sample = text[:1500]
    if not sample.isascii():  # every script range is non-ASCII
        counts = {code: len(rx.findall(sample)) for code, rx in _SCRIPT_RX}
        best = max(counts, key=lambda c: counts[c])
        if counts[best] >= 2:
            if best == "zh" and counts["ja"]:
                best = "ja"
            return best, [f"script:{best}"]
    low = sample.lower().replace("’", "'")
    words = _WORD.findall(low)
    if not words:
        return "en", ["default: no words"]
    freq = Counter(words)
    scores: dict[str, float] = {}
    for code, prof in _PROFILES.items():
        scores[code] = float(sum(freq[w] for w in prof.intersection(freq)))
    if not low.isascii():  # the marker letters are all non-ASCII
        for code, letters in _LETTERS.items():
            scores[code] += 0.5 * sum(low.count(ch) for ch in letters)
    ranked = sorted(scores, key=lambda c: scores[c], reverse=True)
    top = ranked[0]
    if scores[top] == 0:
        return "en", ["default: no function words"]
    prof = _PROFILES[top]
    evidence = list(islice((w for w in words if w in prof), 5)) or [f"letters:{top}"]
    return top, evidence
