"""The one intake path. Every channel hands a raw contact here.

Order matters and is the promise "nothing lost": (1) the raw material is committed on its
own first; (2) customer, case, message and events are written in one transaction; (3) only
after that commit are the follow-on tasks (triage, acknowledgement) queued.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
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
    """What any channel learned from one inbound contact, already validated for shape."""

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
    # The customer staff picked when logging a contact: the one strong identity a phone
    # call has (a phone number alone only suggests a customer, see match_customer).
    customer_id: int | None = None


@dataclass(frozen=True)
class IntakeResult:
    case: Case
    message: Message
    customer: Customer
    opened: bool


def store_raw(
    channel: str,
    *,
    payload: dict[str, Any] | None = None,
    raw_bytes: bytes | None = None,
    sender: str = "",
) -> RawContact:
    """Commit exactly what arrived before anything parses it.

    Raw bytes go to a file under the data directory (fsynced), small payloads inline.
    Must be called outside any transaction (durable=True enforces it): the raw record is
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
    with transaction.atomic(durable=True):
        return RawContact.objects.create(
            channel=channel,
            received_at=now(),
            payload=payload,
            raw_path=raw_path,
            raw_size=size,
            sha256=digest,
            sender=sender[:254],
        )


def read_raw_bytes(raw: RawContact) -> bytes:
    return (settings.RAW_STORE_DIR / raw.raw_path).read_bytes() if raw.raw_path else b""


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


def mark_raw_failed(raw: RawContact, error: str) -> None:
    RawContact.objects.filter(pk=raw.pk).update(status=RawStatus.FAILED, error=error[:5000])


def mark_raw_ignored(raw: RawContact, reason: str) -> None:
    RawContact.objects.filter(pk=raw.pk).update(status=RawStatus.IGNORED, error=reason[:5000])


@transaction.atomic
def receive_contact(contact: Contact, *, raw: RawContact | None = None) -> IntakeResult:
    """Turn one inbound contact into a case message, opening a case when it starts a new one.

    Finds or creates the customer by strong identifiers only (match_customer: a phone or a
    name never joins someone else's record), threads into the case it
    answers (In-Reply-To or the case reference of the same customer), or opens a new case
    with one owner. Writes the events of open_case / add_inbound_message; marks the raw
    record processed; queues the CHERISH_INTAKE_FOLLOW_ON steps (in order, one leased job).
    """
    # NUL and other control characters would break PostgreSQL text columns and headers.
    contact.text = clean_text(contact.text)
    contact.name = one_line(contact.name)
    contact.subject = one_line(contact.subject)
    match = match_customer(
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        external_id=contact.external_id,
        customer_id=contact.customer_id,
    )
    customer = match.customer
    target = _thread_target(contact, customer)
    if target is not None:
        message = case_actions.add_inbound_message(
            target,
            text=contact.text,
            channel=contact.channel,
            body_html=contact.body_html,
            subject=contact.subject,
            external_id=contact.message_id,
            attachments=contact.attachments,
            by=contact.logged_by,
        )
        case, opened = target, False
    else:
        case, message = case_actions.open_case(
            customer,
            text=contact.text,
            channel=contact.channel or Channel.WEB,
            kind=contact.kind or Kind.COMPLAINT,
            subject=contact.subject,
            body_html=contact.body_html,
            order_reference=contact.order_reference,
            external_id=contact.message_id,
            attachments=contact.attachments,
            by=contact.logged_by,
            # A staff member said what this is: triage must not override it.
            kind_set_by_staff=bool(contact.kind) and contact.logged_by is not None,
            reply_to=match.reply_to,
        )
        opened = True
    if raw is not None:
        RawContact.objects.filter(pk=raw.pk).update(
            status=RawStatus.PROCESSED, case=case, message=message, error=""
        )
    if settings.CHERISH_INTAKE_FOLLOW_ON:
        queue_steps(
            settings.CHERISH_INTAKE_FOLLOW_ON, [message.pk, opened], key=f"follow-on:{message.pk}"
        )
    return IntakeResult(case=case, message=message, customer=customer, opened=opened)
