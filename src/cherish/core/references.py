"""Public case references like ``CH-7K2QX9``.

Crockford-style alphabet without 0/O, 1/I/L and U so a reference survives being read over
the phone; 6 random symbols give 30^6 ≈ 729 million values, so guessing a valid one is
impractical at our rate limits while staying short.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "CH-"
LENGTH = 6
REFERENCE_RE = re.compile(rf"\b{PREFIX}[{ALPHABET}]{{{LENGTH}}}\b", re.IGNORECASE)


_SPACE = len(ALPHABET) ** LENGTH


def new_reference() -> str:
    # One draw for the whole reference, not one per symbol: each draw is a system call that
    # lets go of the interpreter lock, and a web process's request threads then wait to take
    # it back (six of them were a tenth of an API request's time, issue #14).
    number = secrets.randbelow(_SPACE)
    symbols = []
    for _ in range(LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        symbols.append(ALPHABET[digit])
    return PREFIX + "".join(symbols)


def normalise_reference(raw: str) -> str | None:
    """Return the canonical reference typed as ``raw`` (any case, spaces, no prefix) or None."""
    text = re.sub(r"[\s-]", "", raw.upper())
    body = text.removeprefix("CH")
    if len(body) == LENGTH and all(ch in ALPHABET for ch in body):
        return PREFIX + body
    return None


def find_reference(text: str) -> str | None:
    match = REFERENCE_RE.search(text or "")
    return match.group(0).upper() if match else None
