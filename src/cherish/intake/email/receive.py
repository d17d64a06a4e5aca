"""One inbound email, from raw bytes to a case message: the path shared by SMTP and IMAP.

1. the raw bytes are committed first (intake.actions.store_raw);
2. parsed; unreadable mail is marked failed and shown on the desk's "could not read" list;
3. automatic mail (auto-replies, bounces, lists) and re-deliveries are marked ignored;
4. everything else enters through the one door, intake.actions.accept_contact, which
   threads or opens a case.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser

from cherish.cases.models import Channel
from cherish.core.unavailable import storage_trouble
from cherish.intake.actions import (
    Contact,
    accept_contact,
    mark_raw_failed,
    mark_raw_ignored,
    read_raw_bytes,
    store_raw,
)
from cherish.intake.email.auto import automatic_reason
from cherish.intake.email.parse import ParsedEmail, UnreadableEmail, parse_email
from cherish.intake.models import RawContact, RawStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmailOutcome:
    raw: RawContact
    status: str  # processed | ignored | duplicate | failed
    detail: str = ""
    case_id: int | None = None
    opened: bool = False


def receive_email(raw_bytes: bytes, *, envelope_sender: str | None = None) -> EmailOutcome:
    """Store, then process one email. Call outside any transaction.

    Returns once everything is committed: the SMTP listener answers 250 only after this.
    Raises only when the raw bytes themselves could not be stored.
    """
    raw = store_raw("email", raw_bytes=raw_bytes, sender=envelope_sender or "")
    return process_raw_email(raw, raw_bytes, envelope_sender=envelope_sender)


def process_raw_email(
    raw: RawContact, raw_bytes: bytes | None = None, *, envelope_sender: str | None = None
) -> EmailOutcome:
    """Parse a stored raw email and hand it to the intake path (again, for a retry)."""
    if raw_bytes is None:
        raw_bytes = read_raw_bytes(raw)
    try:
        parsed = parse_email(raw_bytes)
    except UnreadableEmail as error:
        # A bounce without a usable From ("MAILER DAEMON <>") is automatic, not unreadable:
        # staff should not be asked to read it.
        reason = _automatic_by_headers(raw_bytes, envelope_sender)
        if reason:
            mark_raw_ignored(raw, f"Automatic mail, not answered: {reason}")
            return EmailOutcome(raw, "ignored", reason)
        mark_raw_failed(raw, str(error))
        return EmailOutcome(raw, "failed", str(error))
    assert parsed.headers is not None
    reason = automatic_reason(parsed.headers, envelope_sender=envelope_sender)
    if reason:
        mark_raw_ignored(raw, f"Automatic mail, not answered: {reason}")
        return EmailOutcome(raw, "ignored", reason)
    earlier = _earlier_delivery(raw, parsed)
    if earlier is not None:
        mark_raw_ignored(
            raw, f"Duplicate of an email already received ({parsed.message_id}, raw #{earlier.pk})"
        )
        return EmailOutcome(raw, "duplicate", parsed.message_id, case_id=earlier.case_id)
    contact = Contact(
        channel=Channel.EMAIL,
        text=parsed.text,
        name=parsed.sender_name,
        email=parsed.sender_email,
        subject=parsed.subject,
        body_html=parsed.html,
        case_reference=parsed.case_reference,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        attachments=parsed.attachments,
    )
    try:
        result = accept_contact(contact, raw=raw)
    except Exception as error:
        if storage_trouble(error) is not None:
            # The database went away mid-way (a crash, a restart): nothing may be marked, so
            # the stored mail could wait unseen. Raise: the listener answers 451 and the
            # sender tries again; its retry is not a duplicate of a mail never processed.
            raise
        # The door marked the stored mail failed; staff see it with this error and can try
        # again. The listener still answers 250: the mail itself is safe.
        logger.exception("Stored email %s could not be processed", raw.pk)
        return EmailOutcome(raw, "failed", str(error))
    return EmailOutcome(raw, "processed", case_id=result.case.pk, opened=result.opened)


def _automatic_by_headers(raw_bytes: bytes, envelope_sender: str | None) -> str | None:
    try:
        headers = BytesHeaderParser(policy=policy.default).parsebytes(raw_bytes)
        return automatic_reason(headers, envelope_sender=envelope_sender)
    except Exception:  # the mail is already known to be unreadable; this is a second look
        return None


def fingerprint(parsed: ParsedEmail) -> str:
    """One delivered message: its Message-ID, its sender and a hash of what they wrote.

    The Message-ID alone is not enough: it is chosen by the sender's software, and a broken
    or hostile one reuses IDs, which would silently drop another person's mail.
    """
    key = "\0".join((parsed.message_id, parsed.sender_email, parsed.content_digest))
    return hashlib.sha256(key.encode("utf-8", errors="replace")).hexdigest()


def _earlier_delivery(raw: RawContact, parsed: ParsedEmail) -> RawContact | None:
    """The stored email this one repeats (a sender's retry, the same mail by SMTP and IMAP), or
    None. Mail without a Message-ID is never treated as a repeat: nothing says it is one."""
    if not parsed.message_id:
        return None
    key = fingerprint(parsed)
    RawContact.objects.filter(pk=raw.pk).update(fingerprint=key)
    return (
        RawContact.objects.filter(fingerprint=key, status=RawStatus.PROCESSED)
        .exclude(pk=raw.pk)
        .order_by("pk")
        .first()
    )
