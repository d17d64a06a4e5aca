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


# A first line that only greets ("Hello,", "Dear Sir or Madam,", "Guten Tag Frau Li,") and a
# closing that only signs off ("Kind regards, Ana", "Mit freundlichen Grüßen"), in the desk's
# six customer languages. Quoting them back ("you wrote: 'Hello, … Kind regards, Ana'") reads
# like a machine; the quote is the customer's point.
_GREETING = re.compile(
    r"^(hello|hi|hey|dear|good (morning|afternoon|evening)|to whom it may concern|"
    r"hallo|guten (tag|morgen|abend)|sehr geehrte[rs]?|liebe[rs]?|moin|servus|"
    r"bonjour|bonsoir|salut|madame|monsieur|cher|chère|"
    r"hola|buen(os|as) (días|tardes|noches)|estimad[oa]s?|"
    r"beste|geachte|goedemorgen|goedemiddag|"
    r"olá|ola|bom dia|boa (tarde|noite)|prezad[oa]s?|car[oa]s?)\b[^.!?\n]{0,60}[,!:]?$",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^(kind regards|best regards|warm regards|regards|best wishes|best|thanks|thank you|"
    r"many thanks|cheers|sincerely|yours (sincerely|faithfully|truly)|"
    r"mit freundlichen grüßen|mit freundlichen gruessen|freundliche grüße|viele grüße|"
    r"beste grüße|liebe grüße|mfg|gruß|grüße|"
    r"cordialement|bien cordialement|bien à vous|merci|salutations|"
    r"saludos|un saludo|atentamente|gracias|cordiales saludos|"
    r"met vriendelijke groet(en)?|vriendelijke groet(en)?|groeten|dank u wel|"
    r"atenciosamente|cumprimentos|obrigad[oa]|abraços?)\b[^.!?\n]{0,40}[,.!]?$",
    re.IGNORECASE,
)


def customer_point(text: str) -> str:
    """The message without its greeting line, its sign-off and what follows it (a name, a
    signature block), and without quoted lines of an earlier mail; the text unchanged when
    nothing would be left."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    start = 0
    while start < len(lines) and not lines[start]:
        start += 1
    if start < len(lines) and _GREETING.match(lines[start]):
        start += 1
    end = len(lines)
    for i in range(start, len(lines)):
        line = lines[i]
        if line == "--":
            end = i
            break
        # A closing is followed by a name or a signature block, not by more of the message:
        # "Thanks." in the middle of a long mail is not where it ends.
        if _SIGN_OFF.match(line) and sum(1 for rest in lines[i + 1 :] if rest) <= 6:
            end = i
            break
    kept = "\n".join(line for line in lines[start:end] if not line.startswith(">")).strip()
    return kept or text


def quote_excerpt(text: str, limit: int = 240) -> str:
    """The customer's words for a quote: whole sentences up to ``limit`` characters.

    Text that fits is returned whole. Otherwise the quote ends at the last sentence end that
    fits, followed by " …"; when even the first sentence is longer than ``limit``, it ends
    at the last clause break (a comma, a dash) in the second half, else at a word, with "…".
    A greeting line and a sign-off are left out (``customer_point``).
    """
    flat = _SPACES.sub(" ", customer_point(text).replace("\n", " ")).strip()
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
