"""Personal, not robotic: snippet placeholders, the unedited-snippet flag and the tone check.

Pure functions over plain values, so the desk, the API and tests share one implementation.
The phrase list is data (care.TonePhrase); these functions take it as an argument.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

PLACEHOLDERS = (
    "customer_first_name",
    "customer_name",
    "case_reference",
    "agent_name",
    "agent_first_name",
    # The first snippets' names, kept so saved replies written with them still fill in.
    "owner_first_name",
    "reference",
)
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
# A reply this similar to a snippet is, for the customer, the snippet.
UNEDITED_SIMILARITY = 0.93


@dataclass(frozen=True)
class ToneHit:
    phrase: str
    suggestion: str
    found: str
    start: int
    end: int


def _normalise_quotes(text: str) -> str:
    return (
        text.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
    )


def _squash(text: str) -> str:
    return " ".join(_normalise_quotes(text).lower().split())


def render_snippet(body: str, values: dict[str, str]) -> str:
    """Fill the known placeholders; unknown braces are left as they are."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def unedited_snippet(text: str, rendered_bodies: Iterable[tuple[str, str]]) -> str | None:
    """The title of the snippet that ``text`` merely repeats, or None.

    ``rendered_bodies`` are (title, body) pairs, bodies with placeholders filled for this case.
    """
    candidate = _squash(text)
    if not candidate:
        return None
    for title, body in rendered_bodies:
        reference = _squash(body)
        if not reference:
            continue
        if candidate == reference:
            return title
        shorter, longer = sorted((len(candidate), len(reference)))
        if shorter / longer < UNEDITED_SIMILARITY:
            continue
        if SequenceMatcher(None, candidate, reference).ratio() >= UNEDITED_SIMILARITY:
            return title
    return None


def tone_check(text: str, phrases: Iterable[tuple[str, str]]) -> list[ToneHit]:
    """Defensive or blaming phrases found in ``text`` with a kinder alternative, in text order.

    Matching ignores case, repeated spaces and curly quotes; ``phrases`` are (phrase,
    suggestion) pairs.
    """
    haystack = _normalise_quotes(text)
    hits: list[ToneHit] = []
    for phrase, suggestion in phrases:
        words = _normalise_quotes(phrase).split()
        if not words:
            continue
        pattern = re.compile(
            r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE
        )
        for match in pattern.finditer(haystack):
            hits.append(
                ToneHit(
                    phrase=phrase,
                    suggestion=suggestion,
                    found=text[match.start() : match.end()],
                    start=match.start(),
                    end=match.end(),
                )
            )
    hits.sort(key=lambda hit: (hit.start, hit.end))
    return hits
