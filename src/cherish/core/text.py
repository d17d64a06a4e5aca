"""Text hygiene: sanitised HTML, plain text from HTML, safe one-line values."""

from __future__ import annotations

import re

import html2text
import nh3

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t]+")


def sanitise_html(html: str) -> str:
    """Keep harmless formatting only: scripts, styles, handlers and odd URL schemes go."""
    return nh3.clean(
        html, url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow"
    )


def html_to_text(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.body_width = 0
    return clean_text(converter.handle(html))


def clean_text(text: str) -> str:
    """Normalise line ends, drop control characters and trailing blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip()


def one_line(value: str, limit: int = 200) -> str:
    """A value safe for a header or a single-line field: no line breaks, no control chars."""
    value = _CONTROL.sub("", value.replace("\r", " ").replace("\n", " "))
    return _SPACES.sub(" ", value).strip()[:limit]


def excerpt(text: str, limit: int = 240) -> str:
    flat = _SPACES.sub(" ", text.replace("\n", " ")).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut + "…"


# A full stop after these is not the end of a sentence ("Mr. Smith", "e.g. the box").
ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "no", "vs", "etc", "e.g", "i.e", "approx", "ref"}
_SENTENCE_END = re.compile(r"[.!?…]+[\"”’')\]]*(?=\s|$)")
_CLAUSE_END = re.compile(r"[,;:](?=\s)|\s[–—-](?=\s)")


def quote_excerpt(text: str, limit: int = 240) -> str:
    """The customer's words for a quote: whole sentences up to ``limit`` characters.

    Text that fits is returned whole. Otherwise the quote ends at the last sentence end that
    fits, followed by " …"; when even the first sentence is longer than ``limit``, it ends
    at the last clause break (a comma, a dash) in the second half, else at a word, with "…".
    """
    flat = _SPACES.sub(" ", text.replace("\n", " ")).strip()
    if len(flat) <= limit:
        return flat
    best = 0
    for match in _SENTENCE_END.finditer(flat):
        if match.end() > limit:
            break
        word = flat[: match.start()].rsplit(" ", 1)[-1].lower()
        if match.group().startswith(".") and word in ABBREVIATIONS:
            continue
        best = match.end()
    if best:
        return flat[:best] + " …"
    head = flat[: limit + 1]
    clauses = [m.start() for m in _CLAUSE_END.finditer(head) if m.start() >= limit // 2]
    if clauses:
        return flat[: clauses[-1]].rstrip() + "…"
    cut = head.rsplit(" ", 1)[0] if " " in head else flat[:limit]
    return cut.rstrip(" ,;:–—-") + "…"
