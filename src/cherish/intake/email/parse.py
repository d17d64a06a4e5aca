"""Raw email bytes → what intake needs: sender, subject, text, threading ids, attachments.

Built on the stdlib parser with ``policy.default``; every decode falls back to
``errors="replace"`` so a wrong or unknown charset loses characters, never the message.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from cherish.cases.actions import NewAttachment
from cherish.core.references import find_reference
from cherish.core.text import clean_text, html_to_text, one_line, sanitise_html
from cherish.intake.email.quotes import strip_quotes_and_signature

_MSGID = re.compile(r"<[^<>\s]+>")


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


def _decode_words(raw: str) -> str:
    """RFC 2047 words decoded, with unknown charsets and broken bytes replaced."""
    try:
        parts = decode_header(raw)
    except (ValueError, TypeError, LookupError):
        return raw
    out = []
    for value, charset in parts:
        if isinstance(value, bytes):
            try:
                out.append(value.decode(charset or "ascii", errors="replace"))
            except LookupError:
                out.append(value.decode("utf-8", errors="replace"))
        else:
            out.append(value)
    return "".join(out)


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
    name decoded and flattened.
    """
    name, address = parseaddr(one_line(raw, 2000))
    return one_line(_decode_words(name), 200), address


def _decode(part: Message) -> str:
    """The text of a part in its declared charset; unknown or wrong charsets replace bytes."""
    payload = part.get_payload(decode=True)
    if payload is None:
        inner = part.get_payload()
        return inner if isinstance(inner, str) else ""
    assert isinstance(payload, bytes)
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


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
    except Exception as error:
        raise UnreadableEmail(f"The MIME structure could not be parsed: {error}") from error
    from_value = _raw_header(message, "From")
    name, address = _sender(from_value)
    if not address:
        # A Reply-To or Sender still tells us who to answer.
        name, address = _sender(_raw_header(message, "Reply-To") or _raw_header(message, "Sender"))
    address = address.strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise UnreadableEmail(
            f"No valid sender address could be read from From: {from_value!r}."
        ) from None
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
        disposition = (part.get_content_disposition() or "").lower()
        filename = None
        try:
            filename = part.get_filename()
        except (ValueError, TypeError, LookupError):
            filename = "attachment"
        if disposition == "attachment" or filename or not content_type.startswith("text/"):
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
    )


def recipients(message: Message) -> list[str]:
    values = [_header(message, name) for name in ("To", "Cc", "Delivered-To")]
    return [address.lower() for _, address in getaddresses(values) if address]
