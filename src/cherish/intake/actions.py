"""The one door in: every contact, from every channel, enters through ``accept_contact``.

Web form, SMTP and IMAP, API case and API message, the customer's own page, contacts staff
log, answers to follow-ups and surveys: each channel shapes what it learned into a
``Contact`` and hands it, with the raw material, to ``accept_contact``. The order is the
promise "nothing lost, nothing missed":

1. the raw material is committed first, on its own, so a later failure cannot roll it back;
2. customer, case, message and events, the raw record marked processed, and the ONE ordered
   follow-on pipeline (``CHERISH_INTAKE_FOLLOW_ON``: triage, then care's respond step, which
   acknowledges a new case or resumes one that waited on the customer) are written in one
   transaction;
3. a failure marks the raw record failed (staff see it under "could not read") and re-raises.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from cherish.cases import actions as case_actions
from cherish.cases.actions import NewAttachment
from cherish.cases.models import Case, Channel, Kind, Message
from cherish.core.clock import now
from cherish.core.pipeline import queue_steps
from cherish.core.references import normalise_reference
from cherish.core.text import clean_text, one_line
from cherish.customers.actions import match_customer
from cherish.customers.models import Customer
from cherish.intake.models import RawContact, RawStatus
from cherish.staff.models import Staff


@dataclass
class Contact:
    """What a channel learned from one inbound contact, already validated for shape.

    ``text`` is the customer's words (required). Who wrote: ``name``, ``email``, ``phone``,
    ``external_id`` (the customer is found or created from these). Where it belongs:
    ``case`` when the channel itself names the case (the customer's own page, an API message
    to a known case), otherwise ``in_reply_to`` (Message-IDs) or ``case_reference`` of the
    same customer thread into an existing case, and anything else opens a new case.
    ``kind`` only when the customer (or staff) chose it; triage decides otherwise.
    ``logged_by``: the staff member who logged it (a phone call, a visit), and
    ``customer_id`` the customer they picked.
    """

    channel: str
    text: str
    name: str = ""
    email: str = ""
    phone: str = ""
    external_id: str = ""
    subject: str = ""
    body_html: str = ""
    order_reference: str = ""
    kind: str = ""
    case_reference: str = ""
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    attachments: list[NewAttachment] = field(default_factory=list)
    logged_by: Staff | None = None
    case: Case | None = None
    # The customer staff picked when logging a contact: the one strong identity a phone
    # call has (a phone number alone only suggests a customer, see match_customer).
    customer_id: int | None = None


@dataclass(frozen=True)
class RawMaterial:
    """Exactly what arrived, for the door to store before anything else happens.

    ``payload``: a small JSON-able record (a form post, an API body, an answer); ``data``:
    bytes kept byte for byte on disk (a whole email, a large API request). ``sender``: the
    address or id it came from, for the "could not read" list.
    """

    payload: dict[str, Any] | None = None
    data: bytes | None = None
    sender: str = ""


@dataclass(frozen=True)
class IntakeResult:
    case: Case
    message: Message
    customer: Customer
    opened: bool
    raw: RawContact | None = None


def accept_contact(
    contact: Contact, *, raw: RawContact | RawMaterial | None = None
) -> IntakeResult:
    """The one door in: store the raw material, then add the contact to a case.

    ``raw`` is what arrived: a ``RawMaterial`` to store now, a ``RawContact`` a channel
    already stored (mail is stored before it is parsed), or None when the contact itself is
    all there was (an answer to a follow-up or a survey, a contact staff logged): then its
    fields are stored.

    Called outside a transaction, the raw record commits on its own before anything else,
    and a failure marks it failed. Called inside the caller's transaction (an answer that
    opens a case together with its own rows), the raw record commits with the caller's
    writes: both exist or neither does, and nothing was acknowledged yet.

    Then, in one transaction: finds or creates the customer by strong identifiers only
    (customers.match_customer: a phone or a name never joins someone else's record; skipped
    when ``contact.case`` names the case), threads into the case it answers or opens a new
    one with one owner, marks the raw record processed, and queues the follow-on pipeline
    (triage before the response) as one task. Writes the events of cases.open_case or
    cases.add_inbound_message. Refusals of those actions (CherishError) and any other
    failure are recorded on the raw record and re-raised.
    """
    if not isinstance(raw, RawContact):
        material = raw if raw is not None else RawMaterial(payload=_contact_payload(contact))
        raw = store_raw(
            contact.channel,
            payload=material.payload,
            raw_bytes=material.data,
            sender=material.sender or contact.email or contact.phone or contact.external_id,
            durable=not transaction.get_connection().in_atomic_block,
        )
    try:
        result = _receive(contact, raw)
    except Exception as error:
        mark_raw_failed(raw, _describe(error))
        raise
    return result


def store_raw(
    channel: str,
    *,
    payload: dict[str, Any] | None = None,
    raw_bytes: bytes | None = None,
    sender: str = "",
    durable: bool = True,
) -> RawContact:
    """Commit exactly what arrived before anything parses it.

    Raw bytes go to a file under the data directory (fsynced), small payloads inline.
    ``durable`` (the default) must be called outside any transaction: the raw record is
    committed on its own, so a later failure while parsing cannot roll it back.
    """
    raw_path = ""
    digest = ""
    size = 0
    if raw_bytes is not None:
        digest = hashlib.sha256(raw_bytes).hexdigest()
        size = len(raw_bytes)
        at = now()
        relative = f"{channel}/{at:%Y/%m/%d}/{at:%H%M%S}-{secrets.token_hex(8)}.raw"
        path = settings.RAW_STORE_DIR / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(raw_bytes)
            fh.flush()
            os.fsync(fh.fileno())
        raw_path = relative
    with transaction.atomic(durable=durable):
        return RawContact.objects.create(
            channel=channel[:8],
            received_at=now(),
            payload=payload,
            raw_path=raw_path,
            raw_size=size,
            sha256=digest,
            sender=sender[:254],
        )


def read_raw_bytes(raw: RawContact) -> bytes:
    return (settings.RAW_STORE_DIR / raw.raw_path).read_bytes() if raw.raw_path else b""


def mark_raw_failed(raw: RawContact, error: str) -> None:
    RawContact.objects.filter(pk=raw.pk).update(status=RawStatus.FAILED, error=error[:5000])


def mark_raw_ignored(raw: RawContact, reason: str) -> None:
    RawContact.objects.filter(pk=raw.pk).update(status=RawStatus.IGNORED, error=reason[:5000])


def _describe(error: Exception) -> str:
    code = getattr(error, "code", "")
    message = getattr(error, "message", "") or str(error)
    return f"{code}: {message}" if code else f"{type(error).__name__}: {message}"


def _contact_payload(contact: Contact) -> dict[str, Any]:
    """The contact's own fields as its raw record, when nothing rawer exists."""
    fields = asdict(contact)
    for name in ("attachments", "logged_by", "case", "body_html", "customer_id"):
        fields.pop(name, None)
    payload = {name: value for name, value in fields.items() if value}
    if contact.logged_by is not None:
        payload["logged_by"] = contact.logged_by.pk
    if contact.case is not None:
        payload["case"] = contact.case.reference
    if contact.customer_id is not None:
        payload["customer"] = contact.customer_id
    if contact.attachments:
        payload["files"] = [{"name": a.name, "size": len(a.content)} for a in contact.attachments]
    return payload


def _thread_target(contact: Contact, customer: Customer) -> Case | None:
    """The open or recent case this contact continues, if any.

    A case reference only threads when the case belongs to the same customer, so a stranger
    cannot write into someone else's case by quoting its reference.
    """
    if contact.in_reply_to:
        message = (
            Message.objects.select_related("case")
            .filter(external_id__in=contact.in_reply_to[:20])
            .order_by("-created_at")
            .first()
        )
        if message is not None and message.case.customer_id == customer.pk:
            return message.case
    reference = normalise_reference(contact.case_reference) if contact.case_reference else None
    if reference:
        case = Case.objects.filter(reference=reference, customer=customer).first()
        if case is not None:
            return case
    return None


@transaction.atomic
def _receive(contact: Contact, raw: RawContact) -> IntakeResult:
    # NUL and other control characters would break PostgreSQL text columns and headers.
    text = clean_text(contact.text)
    subject = one_line(contact.subject)
    reply_to = ""
    if contact.case is not None:
        target: Case | None = contact.case
        customer = contact.case.customer
    else:
        match = match_customer(
            name=one_line(contact.name),
            email=contact.email,
            phone=contact.phone,
            external_id=contact.external_id,
            customer_id=contact.customer_id,
        )
        customer, reply_to = match.customer, match.reply_to
        target = _thread_target(contact, customer)
    if target is not None:
        message = case_actions.add_inbound_message(
            target,
            text=text,
            channel=contact.channel,
            body_html=contact.body_html,
            subject=subject,
            external_id=contact.message_id,
            attachments=contact.attachments,
            by=contact.logged_by,
        )
        case, opened = target, False
    else:
        case, message = case_actions.open_case(
            customer,
            text=text,
            channel=contact.channel or Channel.WEB,
            kind=contact.kind or Kind.COMPLAINT,
            subject=subject,
            body_html=contact.body_html,
            order_reference=contact.order_reference,
            external_id=contact.message_id,
            attachments=contact.attachments,
            by=contact.logged_by,
            # A staff member said what this is: triage must not override it.
            kind_set_by_staff=bool(contact.kind) and contact.logged_by is not None,
            reply_to=reply_to,
        )
        opened = True
    RawContact.objects.filter(pk=raw.pk).update(
        status=RawStatus.PROCESSED, case=case, message=message, error=""
    )
    if settings.CHERISH_INTAKE_FOLLOW_ON:
        queue_steps(
            settings.CHERISH_INTAKE_FOLLOW_ON, [message.pk, opened], key=f"follow-on:{message.pk}"
        )
    return IntakeResult(case=case, message=message, customer=customer, opened=opened, raw=raw)
