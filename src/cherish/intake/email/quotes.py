"""Cut quoted history and signatures from an email body, keeping what the customer wrote.

Only the stored message text is trimmed; the raw store keeps the original. When trimming
would leave nothing, the caller keeps the full text.
"""

from __future__ import annotations

import re

# A line that starts the quoted history: everything from it on is the older conversation.
_HISTORY_STARTS = [
    r"on\b.{0,300}\bwrote:",  # en (Gmail, Apple Mail, Thunderbird)
    r"am\b.{0,300}\bschrieb\b.{0,200}:",  # de
    r"le\b.{0,300}\ba écrit\s?:",  # fr
    r"el\b.{0,300}\bescribió:",  # es
    r"il\b.{0,300}\bha scritto:",  # it
    r"op\b.{0,300}\bschreef\b.{0,200}:",  # nl
    r"em\b.{0,300}\bescreveu:",  # pt
    r"w dniu\b.{0,300}\bnapisał.{0,20}:",  # pl
    r"på\b.{0,300}\bskrev\b.{0,200}:",  # sv, da, no
    r".{0,300}\b(пишет|написал|написала)\s?:",  # ru
    r"-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|"
    r"mensaje original|messaggio originale|oorspronkelijk bericht|исходное сообщение)\s*-{2,}",
    r"-{2,}\s*forwarded message\s*-{2,}",
    r"_{20,}",  # Outlook's rule above its From/Sent block
    r"begin forwarded message:",
]
_HISTORY = re.compile(r"^\s*(" + "|".join(_HISTORY_STARTS) + r")\s*$", re.IGNORECASE)
# Outlook: "From: …" followed within a few lines by "Sent:"/"Date:" (and localised forms).
_OUTLOOK_FROM = re.compile(r"^\s*\*?(from|von|de|da|van|от|od)\s?:\*?\s", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(
    r"^\s*\*?(sent|date|gesendet|datum|envoyé|enviado|fecha|inviato|data|verzonden|"
    r"отправлено|wysłano)\s?:",
    re.IGNORECASE,
)
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(sent from my \w+|sent from (outlook|mail|yahoo mail)\b.*|get outlook for \w+.*|"
    r"von meinem \w+ gesendet|envoyé de mon \w+|enviado desde mi \w+|inviato da(l mio)? \w+|"
    r"verzonden met (mijn )?\w+|отправлено с \w+)\s*\.?$",
    re.IGNORECASE,
)


def _cut_index(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if line.rstrip("\n") in ("-- ", "--"):
            return index
        if _MOBILE_SIGNATURE.match(line):
            return index
        if _HISTORY.match(line):
            return index
        # "On Tue, 3 Sep 2024 at 10:00, Someone <a@b>\nwrote:" wrapped over two lines
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if following.endswith(":") and _HISTORY.match(line + " " + following):
            return index
        if _OUTLOOK_FROM.match(line) and any(
            _OUTLOOK_SENT.match(following) for following in lines[index + 1 : index + 5]
        ):
            return index
    return len(lines)


def strip_quotes_and_signature(text: str) -> str:
    """The new part of an email body: no quoted history, no "> " lines, no signature."""
    lines = text.replace("\r\n", "\n").split("\n")
    lines = lines[: _cut_index(lines)]
    kept = [line for line in lines if not line.lstrip().startswith(">")]
    return "\n".join(kept).strip()
