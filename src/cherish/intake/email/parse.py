"""Raw email bytes → what intake needs: sender, subject, text, threading ids, attachments.

Built on the stdlib parser with ``policy.default``. Text is never refused for its encoding:
raw 8-bit header bytes (UTF-8 under RFC 6532, or an old mail program's local charset) and
mislabelled bodies are decoded as UTF-8, then the charsets the message declares, then
Windows-1252, which accepts any byte; a wrong guess loses characters, never the message.
"""

from __future__ import annotations

import email
import email.errors as errors
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr

from django.conf import settings

from cherish.cases.actions import NewAttachment
from cherish.core.emailaddress import normalise_address
from cherish.core.references import find_reference
from cherish.core.text import clean_text, html_to_text, one_line, sanitise_html
from cherish.intake.email.quotes import strip_quotes_and_signature

_MSGID = re.compile(r"<[^<>\s]+>")
_DECLARED_BOUNDARY = re.compile(rb'(boundary\s*=\s*)"?([^"\s;]+)"?', re.IGNORECASE)
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bqBQ]\?[^?\s]*\?=")
_BARE_ADDRESS = re.compile(r"<?[^\s<>@\",;:()]+@[^\s<>@\",;:()]+\.[^\s<>@\",;:()]+>?")
# The stdlib parser reads bytes as ASCII and keeps every other byte as a lone surrogate
# (surrogateescape); such a string cannot be stored or encoded until it is decoded properly.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
# What almost every "Latin-1" mail program really sends; it also maps 0x80-0x9f (curly
# quotes, euro sign), so it is the last resort that never fails.
_LAST_RESORT = "cp1252"


class UnreadableEmail(Exception):
    """The bytes are not an email we can take a sender and a text from."""


@dataclass
class ParsedEmail:
    sender_name: str
    sender_email: str
    subject: str
    text: str
    full_text: str
    html: str
    message_id: str
    in_reply_to: list[str]
    case_reference: str
    attachments: list[NewAttachment] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    headers: EmailMessage | None = None
    content_digest: str = ""


def decode_8bit(value: str, charsets: Sequence[str] = ()) -> str:
    """``value`` with the raw bytes the parser kept as surrogate escapes decoded as text.

    Tried in order: UTF-8 (RFC 6532), each of ``charsets`` (what the message declares),
    then Windows-1252. Values without such bytes are returned as they are.
    """
    if not _ESCAPED_BYTE.search(value):
        return value
    data = value.encode("utf-8", errors="surrogateescape")
    for charset in ("utf-8", *charsets):
        try:
            return data.decode(charset)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(_LAST_RESORT, errors="replace")


def _declared_charsets(part: Message) -> list[str]:
    """The charsets a part and its text sub-parts declare, most specific first, ASCII left out
    (it cannot explain an 8-bit byte)."""
    found: list[str] = []
    for each in part.walk():
        try:
            charset = each.get_content_charset()
        except (ValueError, TypeError, LookupError):
            continue
        if charset and charset not in ("us-ascii", "ascii") and charset not in found:
            found.append(charset)
    return found


def _decode_headers(message: Message) -> None:
    """Rewrite every header of every part as real text, under its plain name.

    Raw 8-bit bytes are decoded (``decode_8bit``) and names lose the spaces the obsolete
    syntax allowed before the colon (RFC 5322 §4.5, ``From  : …``). The raw, undecoded
    RFC 2047 form is kept, so address parsing still happens before any encoded word is
    decoded (see ``_sender``). The policy offers no public way to replace a header value in
    place while keeping order and duplicates, hence ``_headers``.
    """
    top = _declared_charsets(message)
    for part in message.walk():
        headers = part._headers  # see the docstring: no public setter keeps order
        needs_decoding = any(
            _ESCAPED_BYTE.search(f"{k}{v}") for k, v in headers if isinstance(v, str)
        )
        if not needs_decoding and all(k == k.strip() for k, _ in headers):
            continue
        charsets = list(dict.fromkeys(_declared_charsets(part) + top)) if needs_decoding else []
        part._headers = [
            (
                decode_8bit(k, charsets).strip(),
                decode_8bit(v, charsets) if isinstance(v, str) else v,
            )
            for k, v in headers
        ]


def _decode_words(raw: str) -> str:
    """RFC 2047 words decoded in place; the text around them is left exactly as it is.

    ``email.header.decode_header`` would re-encode that text as raw-unicode-escape, turning
    a UTF-8 "é" next to an encoded word into a replacement character. Unknown charsets and
    broken bytes are replaced, never raised; whitespace between two encoded words is dropped
    (RFC 2047 §6.2).
    """
    out: list[str] = []
    position = 0
    for match in _ENCODED_WORD.finditer(raw):
        between = raw[position : match.start()]
        if position == 0 or between.strip():
            out.append(between)
        out.append(_decode_word(match.group(0)))
        position = match.end()
    out.append(raw[position:])
    return "".join(out)


def _decode_word(word: str) -> str:
    try:
        ((value, charset),) = decode_header(word)
    except (ValueError, TypeError, LookupError):
        return word
    if isinstance(value, str):
        return value
    # RFC 2231 lets a language follow the charset ("iso-8859-2*sl").
    charset = (charset or "ascii").split("*", 1)[0]
    for each in (charset, "utf-8"):
        try:
            return value.decode(each)
        except (UnicodeDecodeError, LookupError):
            continue
    return value.decode(_LAST_RESORT, errors="replace")


def _header(message: Message, name: str) -> str:
    """A header as one clean line, tolerant of broken RFC 2047 words and stray bytes.

    The policy's parser refuses some hostile values (e.g. an encoded CR/LF in an address);
    then the raw value is decoded by hand. Either way the result is flattened to one line.
    """
    try:
        value = message.get(name)
        if value is not None:
            return one_line(str(value), 1000)
    except (ValueError, TypeError, IndexError, LookupError, AttributeError):
        pass
    for key, raw in message.raw_items():
        if key.lower() == name.lower():
            return one_line(_decode_words(str(raw)), 1000)
    return ""


def _raw_header(message: Message, name: str) -> str:
    for key, raw in message.raw_items():
        if key.lower() == name.lower():
            return str(raw)
    return ""


def _sender(raw: str) -> tuple[str, str]:
    """(display name, address) from a raw address header.

    The address is taken from the undecoded value, so an encoded display name cannot smuggle
    in another address (``=?utf-8?b?…?=`` hiding "Eve\r\nBcc: x@y"); only then is the
    name decoded and flattened. A value that is not valid syntax but holds exactly one
    address (``Big Bug bb@bug.com``, written by hand-rolled mailers) yields that address.
    """
    flat = one_line(raw, 2000)
    name, address = parseaddr(flat)
    if normalise_address(address) is None:
        # Encoded words are left out of the search: they are display text, never an address.
        plain = _ENCODED_WORD.sub(" ", flat)
        candidates = {found.strip("<>") for found in _BARE_ADDRESS.findall(plain)}
        if len(candidates) == 1:
            (address,) = candidates
            name = _BARE_ADDRESS.sub("", flat).strip(' "<>')
    return one_line(_decode_words(name), 200), address


def _decode(part: Message) -> str:
    """The text of a part: its declared charset, else UTF-8, else Windows-1252.

    A charset that is unknown or contradicted by the bytes (mail programs label Latin-1 text
    "us-ascii" or "utf-8") falls through to the next guess instead of losing the text.
    """
    payload = part.get_payload(decode=True)
    if payload is None:
        inner = part.get_payload()
        return decode_8bit(inner) if isinstance(inner, str) else ""
    assert isinstance(payload, bytes)
    try:
        declared = part.get_content_charset()
    except (ValueError, TypeError, LookupError):
        declared = None
    for charset in dict.fromkeys(c for c in (declared, "utf-8") if c):
        try:
            return payload.decode(charset)
        except (UnicodeDecodeError, LookupError):
            continue
    return payload.decode(_LAST_RESORT, errors="replace")


def _repair_boundary(raw: bytes) -> bytes | None:
    """The message with its top-level boundary rewritten to the one its body really uses, or
    None when no such repair is clear.

    Two real mailer bugs: Outlook Express left unquoted a boundary RFC 2045 allows only in
    quotes (``boundary=----=_NextPart_…``), and some list servers declared a boundary whose
    delimiter lines lack two of its leading dashes.
    """
    head, separator, body = raw.partition(b"\r\n\r\n")
    if not separator:
        head, separator, body = raw.partition(b"\n\n")
    match = _DECLARED_BOUNDARY.search(head)
    if match is None:
        return None
    declared = match.group(2)
    for line in body.splitlines():
        used = line.rstrip()[2:]
        if line.startswith(b"--") and len(used) >= len(declared) - 2 and declared.endswith(used):
            quoted = match.group(1) + b'"' + used + b'"'
            return head[: match.start()] + quoted + head[match.end() :] + separator + body
    return None


def message_ids(value: str) -> list[str]:
    return _MSGID.findall(value or "")


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse raw bytes. Raises UnreadableEmail when there is no sender or no text at all.

    Attachments over CHERISH_MAX_ATTACHMENT_BYTES (or beyond CHERISH_MAX_ATTACHMENTS) are
    dropped and named in ``dropped``; the raw store still holds them.
    """
    if not raw or not raw.strip():
        raise UnreadableEmail("The message is empty.")
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        if any(isinstance(d, errors.StartBoundaryNotFoundDefect) for d in message.defects):
            repaired = _repair_boundary(raw)
            if repaired is not None:
                message = email.message_from_bytes(repaired, policy=policy.default)
        _decode_headers(message)
    except Exception as error:
        raise UnreadableEmail(f"The MIME structure could not be parsed: {error}") from error
    from_value = _raw_header(message, "From")
    name, address = _sender(from_value)
    if not address:
        # A Reply-To or Sender still tells us who to answer.
        name, address = _sender(_raw_header(message, "Reply-To") or _raw_header(message, "Sender"))
    normalised = normalise_address(address)
    if normalised is None:
        raise UnreadableEmail(f"No valid sender address could be read from From: {from_value!r}.")
    address = normalised
    subject = _header(message, "Subject")

    plain: list[str] = []
    html_parts: list[str] = []
    attachments: list[NewAttachment] = []
    dropped: list[str] = []
    max_bytes = settings.CHERISH_MAX_ATTACHMENT_BYTES
    max_count = settings.CHERISH_MAX_ATTACHMENTS
    try:
        parts = list(message.walk())
    except Exception as error:
        raise UnreadableEmail(f"The MIME parts could not be read: {error}") from error
    for part in parts:
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        if content_type.startswith("multipart/"):
            # Its boundary was never found: what it holds is readable only as text.
            content_type = "text/plain"
        disposition = (part.get_content_disposition() or "").lower()
        filename = None
        try:
            filename = part.get_filename()
        except (ValueError, TypeError, LookupError):
            filename = "attachment"
        is_body = content_type in ("text/plain", "text/html") and (
            disposition == "inline" or (not disposition and not filename)
        )
        if not is_body:
            if content_type in ("message/delivery-status",):
                continue
            data = part.get_payload(decode=True)
            if not isinstance(data, bytes):
                continue
            label = one_line(filename or "attachment", 200) or "attachment"
            if len(data) > max_bytes:
                dropped.append(f"{label} ({len(data) // (1024 * 1024)} MB, over the limit)")
            elif len(attachments) >= max_count:
                dropped.append(f"{label} (more than {max_count} attachments)")
            else:
                attachments.append(NewAttachment(label, content_type, data))
            continue
        if content_type == "text/plain":
            plain.append(_decode(part))
        elif content_type == "text/html":
            html_parts.append(_decode(part))

    html = "\n".join(html_parts)
    full_text = clean_text("\n\n".join(plain)) if plain else ""
    if not full_text and html:
        full_text = html_to_text(html)
    text = strip_quotes_and_signature(full_text) or full_text
    if dropped:
        note = "[Not attached, kept in the original email: " + "; ".join(dropped) + "]"
        text = f"{text}\n\n{note}" if text else note
    if not text and attachments:
        text = "(The message had no text, only attachments.)"
    if not text and not subject:
        raise UnreadableEmail("The message has neither text nor a subject.")
    text = text or subject
    limit = settings.CHERISH_MAX_TEXT_CHARS
    in_reply_to = message_ids(_header(message, "In-Reply-To"))
    in_reply_to += [
        m for m in reversed(message_ids(_header(message, "References"))) if m not in in_reply_to
    ]
    return ParsedEmail(
        sender_name=one_line(name, 200),
        sender_email=address,
        subject=one_line(subject, 200),
        text=text[:limit],
        full_text=full_text,
        html=sanitise_html(html)[: limit * 4] if html else "",
        message_id=one_line(_header(message, "Message-ID"), 255),
        in_reply_to=in_reply_to[:20],
        case_reference=find_reference(subject) or "",
        attachments=attachments,
        dropped=dropped,
        headers=message,
        content_digest=_content_digest(subject, full_text or html, attachments, dropped),
    )


def _content_digest(
    subject: str, text: str, attachments: list[NewAttachment], dropped: list[str]
) -> str:
    """What the sender wrote, hashed so that re-deliveries compare equal.

    Whitespace is collapsed and transport headers are left out: a relay that re-wraps lines
    or adds Received headers still delivers the same message.
    """
    digest = hashlib.sha256()
    for piece in (subject, text, *dropped):
        digest.update(" ".join(piece.split()).encode("utf-8", errors="replace") + b"\0")
    for item in attachments:
        digest.update(hashlib.sha256(item.content).digest())
    return digest.hexdigest()


def recipients(message: Message) -> list[str]:
    values = [_header(message, name) for name in ("To", "Cc", "Delivered-To")]
    return [address.lower() for _, address in getaddresses(values) if address]
