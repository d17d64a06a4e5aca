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

A contact from the web form or the API that carries no files takes the short road of the
same promise (issue #14): step 1 stores the contact itself, shaped, as a *queued* raw record
together with its future case reference, the sender's rate-limit count and the API's
Idempotency-Key, in one short transaction; step 2 is done by the intake applier
(``intake.applier``) for a whole batch of contacts in one transaction, while the request
waits for it. The result, the events and the pipeline are the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

from cherish.cases import actions as case_actions
from cherish.cases.actions import NewAttachment, OwnerPicker
from cherish.cases.models import Case, Channel, Kind, Message
from cherish.core import ratelimit
from cherish.core.clock import now
from cherish.core.errors import CherishError, RateLimited
from cherish.core.pipeline import queue_many_steps, queue_steps
from cherish.core.references import new_reference, normalise_reference
from cherish.core.rows import JsonText, Maker, RowInsert, select_in
from cherish.core.text import clean_text, one_line
from cherish.customers.actions import match_customer, match_customers, remember_language
from cherish.customers.models import Customer
from cherish.intake.models import ApiKey, IdempotencyKey, RawContact, RawStatus
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
    ``customer_id`` the customer they picked. ``language``: the language the customer chose
    or their browser asked for, with ``language_source`` (customers.actions.LanguageSource),
    remembered on the customer.
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
    language: str = ""
    language_source: str = ""


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


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` contacts per ``window_s`` from ``ident`` (an address) in ``bucket``."""

    bucket: str
    ident: str
    limit: int
    window_s: int


class DuplicateRequest(Exception):
    """The caller's ``claim`` found its claim already taken (an Idempotency-Key in use)."""


class IntakeFailed(Exception):
    """A queued contact that could not be added to a case (recorded on its raw record)."""


class NotStoredInTime(OperationalError):
    """The applier held the contact past every wait without making it durable (stuck before
    its commit); it gave it up, so nothing of it is or will be stored. A storage trouble to
    the edge: 503, "nothing was saved, try again" (core.unavailable)."""


class IntakePending(Exception):
    """The contact is durably stored but not yet added to a case: the applier is slow or
    stuck. Nothing is lost (any applier takes it, ``intake.applier``); the caller tells the
    customer it is received, with the reference reserved for its case."""

    def __init__(
        self, raw_id: int, reference: str, *, journaled: bool = False, said: Any = None
    ) -> None:
        super().__init__(f"contact {raw_id} is stored and waits to be applied")
        self.raw_id = raw_id
        self.reference = reference
        # Stored in the intake journal (no raw record yet): the applier process moves and
        # applies it, and wakes the request that asked for that (``wait_for_case``).
        self.journaled = journaled
        # Sent to the applier process directly, which applied it and said so
        # (intake.applier.Applied): the request answers with that, without waiting again.
        self.said = said


# A request waits this long for the applier before applying its contact itself.
APPLY_WAIT_S = 10.0


def accept_contact(
    contact: Contact,
    *,
    raw: RawContact | RawMaterial | None = None,
    rate_limit: RateLimit | None = None,
    claim: Callable[[RawContact], None] | None = None,
    on_applied: Callable[[Any], None] | None = None,
    answer_when_stored: bool = False,
    wait_for_case: bool = False,
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

    A contact given with ``RawMaterial`` and no files, called outside a transaction, is
    queued: stored as above together with everything it needs, then added to its case by
    the intake applier in a batch with others, while this call waits (module docstring).

    ``rate_limit`` counts the sender in the transaction that stores the contact and raises
    RateLimited (nothing stored) when over the limit. ``claim(raw)`` runs first in the
    transaction that makes the contact binding (the queued record, else the one that adds it
    to a case): the API claims its Idempotency-Key there, raising DuplicateRequest when it is
    taken (nothing written). ``on_applied(outcome)`` runs in the transaction that adds the
    contact to its case, with the IntakeResult, or with the refusal once it is recorded (the
    API stores its response there).

    ``answer_when_stored``: where an applier process adds queued contacts to their cases
    (``CHERISH_INTAKE_APPLIER=process``), return as soon as the contact is durable, by raising
    IntakePending with its reference (the public form: its thank-you page waits for the case).

    ``wait_for_case``: the API's, where the intake journal is in use: the contact is stored
    there and IntakePending (``journaled``) raised as soon as it is durable, for the caller
    to wait for the applier process to add it to its case (``intake.applier.wait_applied``);
    where the journal is not in use, or does not take the contact, it is applied in this
    process as without it.
    """
    if is_queued(contact, raw):
        assert isinstance(raw, RawMaterial)
        return _accept_queued(
            contact,
            raw,
            rate_limit,
            claim,
            on_applied,
            answer_when_stored=answer_when_stored,
            wait_for_case=wait_for_case,
        )
    if not isinstance(raw, RawContact):
        material = raw if raw is not None else RawMaterial(payload=_contact_payload(contact))
        raw = store_raw(
            contact.channel,
            payload=material.payload,
            raw_bytes=material.data,
            sender=_sender(contact, material),
            durable=not transaction.get_connection().in_atomic_block,
            rate_limit=rate_limit,
        )
    try:
        with transaction.atomic():
            if claim is not None:
                claim(raw)
            result = _receive(contact, raw)
            if on_applied is not None:
                on_applied(result)
    except DuplicateRequest:
        mark_raw_ignored(raw, "a retry of a request already taken (same Idempotency-Key)")
        raise
    except Exception as error:
        mark_raw_failed(raw, describe_error(error))
        if on_applied is not None and isinstance(error, CherishError):
            _record_refusal(raw, error, claim, on_applied)
        raise
    return result


def _record_refusal(
    raw: RawContact,
    error: CherishError,
    claim: Callable[[RawContact], None] | None,
    on_applied: Callable[[Any], None],
) -> None:
    """A refusal is this request's answer too: claim again (the work's transaction rolled
    back) and let the caller record it."""
    try:
        with transaction.atomic():
            if claim is not None:
                claim(raw)
            on_applied(error)
    except DuplicateRequest:
        pass  # a twin with the same claim got there first; it has its own answer


# The contact's fields that a queued record keeps; a contact with anything else (files, a
# staff member, a case or customer picked in the desk) takes the one-by-one path.
_QUEUED_FIELDS = (
    "channel",
    "text",
    "name",
    "email",
    "phone",
    "external_id",
    "subject",
    "body_html",
    "order_reference",
    "kind",
    "case_reference",
    "message_id",
    "in_reply_to",
)


def is_queued(contact: Contact, raw: RawContact | RawMaterial | None) -> bool:
    """Whether ``accept_contact`` stores this contact with its claim in one transaction
    (queued for the applier), rather than its raw record first."""
    return (
        isinstance(raw, RawMaterial)
        and raw.data is None
        and settings.CHERISH_INTAKE_QUEUE
        and not contact.attachments
        and contact.logged_by is None
        and contact.case is None
        and contact.customer_id is None
        and not transaction.get_connection().in_atomic_block
    )


def contact_record(contact: Contact) -> dict[str, Any]:
    return {name: getattr(contact, name) for name in _QUEUED_FIELDS if getattr(contact, name)}


def contact_from_record(record: dict[str, Any]) -> Contact:
    known = {f.name for f in fields(Contact)} & set(_QUEUED_FIELDS)
    return Contact(**{name: value for name, value in record.items() if name in known})


def _accept_queued(
    contact: Contact,
    material: RawMaterial,
    rate_limit: RateLimit | None,
    claim: Callable[[RawContact], None] | None,
    on_applied: Callable[[Any], None] | None,
    *,
    answer_when_stored: bool = False,
    wait_for_case: bool = False,
) -> IntakeResult:
    from cherish.intake import journal
    from cherish.intake.applier import (
        Ticket,
        applier,
        send_to_applier,
        send_to_store,
        store_awaited,
    )

    def store() -> RawContact:
        return _store_queued(contact, material, rate_limit, claim)

    # The applier stores this contact together with the others waiting and applies them,
    # one commit for all (group commit), then answers each.
    ticket = Ticket(
        None,
        on_applied=on_applied,
        store=store,
        queued=(contact, material, rate_limit, claim),
        answer_stored=answer_when_stored and settings.CHERISH_INTAKE_APPLIER == "process",
    )
    if wait_for_case and journal.in_use():
        # With an Idempotency-Key sent straight to the applier process, which answers once
        # it is on its case; otherwise (or should that process not answer in time) answered
        # once in the journal, and the caller waits for its case (or, should the journal
        # not take it, applied here: intake.applier._store_in_journal).
        ticket.answer_stored = ticket.wakes_back = True
    if ticket.wakes_back:
        taken = send_to_applier(ticket) or store_awaited(ticket)
    else:
        # The public form's: stored by the intake store process where one runs.
        taken = ticket.answer_stored and journal.in_use() and send_to_store(ticket)
    if not taken:
        applier().submit(ticket)
    if not ticket.done.wait(APPLY_WAIT_S):
        if ticket.take("caller"):
            # The applier never took it (stuck): store and apply it here, in this thread.
            raw = queue_contact(contact, material, rate_limit=rate_limit, claim=claim)
            ticket = Ticket(raw.pk, reference=raw.reference or "", on_applied=on_applied)
            _apply_here(ticket)
        elif not ticket.done.wait(APPLY_WAIT_S) and ticket.abandon():
            # The applier has it in hand and is stuck before its store committed: nothing
            # of it is stored, nor will be (abandoned), and the caller says so (503).
            raise NotStoredInTime("the contact could not be stored in time; nothing was saved")
        elif not ticket.durable:
            ticket.done.wait(APPLY_WAIT_S)  # its store is committing now
    if isinstance(ticket.outcome, (InterfaceError, OperationalError)):
        # The applier's batch failed on the database: try once more here before answering
        # (the contact is stored if its batch got that far: then it is applied from there).
        durable = ticket.durable
        retry = Ticket(
            ticket.raw_id if durable else None, reference=ticket.reference, on_applied=on_applied
        )
        if not durable:
            raw = queue_contact(contact, material, rate_limit=rate_limit, claim=claim)
            retry = Ticket(raw.pk, reference=raw.reference or "", on_applied=on_applied)
        _apply_here(retry)
        ticket = retry
    outcome = ticket.outcome
    if isinstance(outcome, BaseException):
        raise outcome
    if not isinstance(outcome, IntakeResult):
        if ticket.durable:
            # Stored, not yet applied (a stuck applier): durable, so received, never a 500.
            raise IntakePending(
                ticket.raw_id or 0,
                ticket.reference,
                journaled=ticket.journaled,
                said=ticket.said,
            )
        raise IntakeFailed("the contact could not be stored in time")
    return outcome


def _apply_here(ticket: Any) -> None:
    """Apply a stored contact in the request's own thread; the database failing now leaves
    it stored, and then it is pending, not lost (raised as IntakePending)."""
    from cherish.intake.applier import apply_waiting

    try:
        apply_waiting([ticket])
    except (InterfaceError, OperationalError) as error:
        raise IntakePending(ticket.raw_id, ticket.reference) from error


def queue_contact(
    contact: Contact,
    material: RawMaterial,
    *,
    rate_limit: RateLimit | None = None,
    claim: Callable[[RawContact], None] | None = None,
) -> RawContact:
    """Store a contact for the applier in one short durable transaction; returns its record.

    Counts the sender against ``rate_limit`` (RateLimited, nothing stored, when over it),
    draws the reference its case will have if it opens one (should a case already have it,
    open_case draws another: the customer is only ever told the case's own), and runs
    ``claim``.
    """
    with transaction.atomic(durable=True):
        return _store_queued(contact, material, rate_limit, claim)


def _store_queued(
    contact: Contact,
    material: RawMaterial,
    rate_limit: RateLimit | None,
    claim: Callable[[RawContact], None] | None,
) -> RawContact:
    _count(rate_limit)
    resend = claim if isinstance(claim, ResendClaim) else None
    if resend is not None:
        earlier = resend.earlier()
        if earlier is not None:
            raise Resent(earlier)
    sender = _sender(contact, material)
    raw = RawContact(
        channel=contact.channel[:8],
        received_at=now(),
        payload=material.payload,
        sender=sender[:254],
        status=RawStatus.QUEUED,
        contact=contact_record(contact),
        reference=new_reference(),
        fingerprint=resend.fingerprint if resend is not None else "",
    )
    # A plain INSERT (core.rows): the ORM's statement building cost more than the statement.
    _RAW_ROWS.add([raw])
    if claim is not None and resend is None:
        claim(raw)
    return raw


_RAW_ROWS = RowInsert(RawContact)
# The unsaved instances of a batch's rows (core.rows.Maker: Model.__init__ cost more).
_NEW_RAW = Maker(RawContact)


def _sender(contact: Contact, material: RawMaterial) -> str:
    """Who sent a contact, as its raw record names them."""
    return material.sender or contact.email or contact.phone or contact.external_id


def journal_item(ticket: Any, *, waker: str = "") -> Any:
    """What the intake journal stores of a ticket's contact (intake.journal.Item), or None
    for one it does not take: only contacts answered once stored (``answer_stored``: the
    public form's, and the API's where it waits for the applier process: ``waker``), with no
    files, and no claim but the form's resend check or the API's Idempotency-Key."""
    from cherish.intake import journal

    if not ticket.answer_stored or ticket.queued is None:
        return None
    contact, material, limit, claim = ticket.queued
    key = None
    if claim is not None and not isinstance(claim, ResendClaim):
        journal_key = getattr(claim, "journal_key", None)
        if journal_key is None:
            return None
        key = journal_key()
    if contact.attachments:
        return None
    sender = _sender(contact, material)
    return journal.Item(
        channel=contact.channel[:8],
        sender=sender[:254],
        fingerprint=claim.fingerprint if isinstance(claim, ResendClaim) else "",
        payload=material.payload,
        contact=contact_record(contact),
        rate_key=ratelimit.counter_key(limit.bucket, limit.ident) if limit else None,
        rate_window_s=limit.window_s if limit else 0,
        rate_limit=limit.limit if limit else 0,
        key=key,
        waker=waker if ticket.wakes_back else "",
    )


def refusal_from_journal(outcome: Any) -> Exception:
    """The refusal a request is told for a contact the intake journal did not store."""
    from cherish.intake import journal

    if isinstance(outcome, journal.KeyTaken):
        return DuplicateRequest("the Idempotency-Key is taken")
    if isinstance(outcome, journal.SentBefore):
        if outcome.raw_id is not None:
            return Resent(RawContact.objects.select_related("case").get(pk=outcome.raw_id))
        assert outcome.entry is not None
        # Still in the journal: the thank-you page finds it by its reference.
        return Resent(raw_from_entry(outcome.entry))
    return _too_many()


def raw_from_entry(entry: Any, *, own_reference: bool = True) -> RawContact:
    """A journal entry as the (unsaved) queued raw record it will become; without
    ``own_reference`` its case draws a reference of its own (another record holds the
    entry's)."""
    return _NEW_RAW(
        channel=entry.channel,
        received_at=entry.received,
        payload=entry.payload,
        sender=entry.sender,
        status=RawStatus.QUEUED,
        contact=entry.contact,
        reference=entry.reference if own_reference else None,
        fingerprint=entry.fingerprint,
    )


def count_in_window(bucket: str, ident: str, *, window_s: int) -> int:
    """Count one event for ``ident`` in ``bucket`` where intake counts its complaints (the
    journal's counters when it stores them, else the database's); the count in the window."""
    from cherish.intake import journal

    if journal.in_use():
        return journal.count(ratelimit.counter_key(bucket, ident), window_s=window_s)
    with transaction.atomic():
        return ratelimit.count_in_window(bucket, ident, window_s=window_s)


def references_taken(references: list[str]) -> set[str]:
    """Which of these references a raw record holds already."""
    return {row[0] for row in select_in(RawContact, ["reference"], "reference", references)}


def keys_taken(keys: list[tuple[int, str, str]]) -> set[tuple[int, str]]:
    """Which of these Idempotency-Keys (API key id, key, fingerprint) the database holds."""
    if not keys:
        return set()
    api_keys = sorted({api_key for api_key, _, _ in keys})
    names = sorted({key for _, key, _ in keys})
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    meta = IdempotencyKey._meta
    # Plain SQL, one statement for a group (the ORM's building of one query per key cost
    # more than the queries); both columns given, so the unique index answers.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote(str(meta.get_field('api_key').column))}, {quote('key')}"
            f" FROM {quote(meta.db_table)}"
            f" WHERE {quote(str(meta.get_field('api_key').column))} IN"
            f" ({', '.join(['%s'] * len(api_keys))})"
            f" AND {quote('key')} IN ({', '.join(['%s'] * len(names))})",
            [*api_keys, *names],
        )
        found = {(int(row[0]), str(row[1])) for row in cursor.fetchall()}
    return found & {(api_key, key) for api_key, key, _ in keys}


def held_references(references: list[str]) -> dict[str, dict[str, str]]:
    """The raw records that hold these references: their sender and fingerprint."""
    rows = select_in(RawContact, ["reference", "sender", "fingerprint"], "reference", references)
    return {row[0]: {"sender": row[1], "fingerprint": row[2]} for row in rows}


def store_journal_entries(
    entries: list[Any],
    *,
    checked: bool = False,
    present: dict[str, dict[str, str]] | None = None,
) -> dict[int, tuple[RawContact, IdempotencyKey | None]]:
    """The intake journal's entries as queued raw records, in the caller's transaction
    (intake.applier moves them). An entry whose reference a raw record already holds for
    the same sender and words was moved before (a crash before its deletion): skipped.

    An entry with an Idempotency-Key becomes the key's row too, claimed with its raw record
    as the API's own store does. (A key the database took meanwhile, by a request that fell
    back to it, stays that request's: the entry is applied without it.) Returns, by raw
    record id, each record a request waits for (the API's: the entry names its web process)
    or that has a key, with its key's row or None: for the applier to make each one's
    response in the transaction that applies it (and store it with the key).
    ``checked``: the caller found none of the references and keys taken, in this
    transaction (the contacts sent to the applier process directly): not looked up again;
    ``present``: the references raw records hold, looked up by the caller."""
    if present is None:
        present = {} if checked else held_references([entry.reference for entry in entries])
    records = []
    moved = []
    for entry in entries:
        held = present.get(entry.reference)
        if held is not None and (
            held["sender"] == entry.sender and held["fingerprint"] == entry.fingerprint
        ):
            continue
        # Held by another record (it drew the same reference): this one's case draws its own.
        records.append(raw_from_entry(entry, own_reference=held is None))
        moved.append(entry)
    if records:
        _RAW_ROWS.add(records)
    answered: dict[int, tuple[RawContact, IdempotencyKey | None]] = {
        raw.pk: (raw, None)
        for entry, raw in zip(moved, records, strict=True)
        if entry.waker or entry.idem_key is not None
    }
    keyed = [
        (entry, raw)
        for entry, raw in zip(moved, records, strict=True)
        if entry.idem_key is not None and entry.api_key is not None
    ]
    if not keyed:
        return answered
    live = _existing(ApiKey, {entry.api_key for entry, _ in keyed})
    taken = (
        set()
        if checked
        else keys_taken([(entry.api_key, entry.idem_key, "") for entry, _ in keyed])
    )
    rows = []
    for entry, raw in keyed:
        if entry.api_key not in live or (entry.api_key, entry.idem_key) in taken:
            continue
        row = IdempotencyKey(
            api_key_id=entry.api_key, key=entry.idem_key, request_hash=entry.request_hash, raw=raw
        )
        row.created_at = entry.received
        rows.append(row)
        answered[raw.pk] = (raw, row)
    if rows:
        _KEY_ROWS.add(rows)
    return answered


_KEY_ROWS = RowInsert(IdempotencyKey)
_NEW_KEY = Maker(IdempotencyKey)


def store_answered_keys(answered: list[tuple[Any, RawContact, tuple[int, str]]]) -> None:
    """The Idempotency-Key rows of entries applied as they were stored (the contacts sent
    to the applier process directly, ``checked`` as ``store_journal_entries`` says), each
    with its response (status, JSON text) at once: one INSERT, no UPDATE per key after.
    A key whose API key is gone is left out (its contact is applied without it)."""
    keyed = [
        (entry, raw, answer)
        for entry, raw, answer in answered
        if entry.idem_key is not None and entry.api_key is not None
    ]
    if not keyed:
        return
    live = _existing(ApiKey, {entry.api_key for entry, _, _ in keyed})
    rows = []
    for entry, raw, (status, text) in keyed:
        if entry.api_key not in live:
            continue
        row = _NEW_KEY(
            api_key_id=entry.api_key,
            key=entry.idem_key,
            request_hash=entry.request_hash,
            raw=raw,
            status_code=status,
            response=JsonText(text),
        )
        row.created_at = entry.received
        rows.append(row)
    _KEY_ROWS.add(rows)


def _existing(model: type[Any], ids: set[Any]) -> set[Any]:
    """Which of ``ids`` are rows of ``model``."""
    pk = str(model._meta.pk.column)
    return {row[0] for row in select_in(model, [pk], pk, sorted(ids))}


Queued = tuple[Contact, RawMaterial, "RateLimit | None", "Callable[[RawContact], None] | None"]


class NotTogether(Exception):
    """A contact of a group that ``store_queued_together`` cannot store with the others."""


def store_queued_together(items: list[Queued]) -> list[RawContact]:
    """``_store_queued`` for several contacts, in the caller's transaction, with one
    statement per kind of row: one rate-limit upsert per sender, one resend check for all,
    one INSERT for the raw records (then each other ``claim``, as ``_store_queued`` runs it).

    Only for a group that is stored whole: should any contact be refused (its sender over
    the limit, a form sent again, a claim taken), this raises NotTogether (or the claim's
    refusal, or the IntegrityError of a claim's row) and the caller rolls back to its
    savepoint and stores them one by one with ``_store_queued``, which tells each refusal
    to its own request. A claim with ``record_for(raw)`` (the API's Idempotency-Key) gives
    its row to insert with the others' (one INSERT per kind). A complaint's CPU was
    then mostly statements: five of them per contact, with a savepoint each.
    """
    limits: dict[RateLimit, int] = {}
    fingerprints: list[str] = []
    for _, _, limit, claim in items:
        if limit is not None:
            limits[limit] = limits.get(limit, 0) + 1
        if isinstance(claim, ResendClaim):
            fingerprints.append(claim.fingerprint)
    for limit, count in limits.items():
        hits = ratelimit.count_in_window(
            limit.bucket, limit.ident, window_s=limit.window_s, events=count
        )
        if hits > limit.limit:
            raise NotTogether("a sender is over the limit")
    if len(set(fingerprints)) < len(fingerprints) or ResendClaim.any_earlier(fingerprints):
        raise NotTogether("a form sent again")
    at = now()
    records = []
    for contact, material, _, claim in items:
        sender = _sender(contact, material)
        records.append(
            _NEW_RAW(
                channel=contact.channel[:8],
                received_at=at,
                payload=material.payload,
                sender=sender[:254],
                status=RawStatus.QUEUED,
                contact=contact_record(contact),
                reference=new_reference(),
                fingerprint=claim.fingerprint if isinstance(claim, ResendClaim) else "",
            )
        )
    _RAW_ROWS.add(records)
    claimed: dict[type[Any], list[Any]] = {}
    for (_, _, _, claim), raw in zip(items, records, strict=True):
        if claim is None or isinstance(claim, ResendClaim):
            continue
        record_for = getattr(claim, "record_for", None)
        if record_for is None:
            claim(raw)
        elif (row := record_for(raw)) is not None:
            claimed.setdefault(type(row), []).append(row)
    for model, rows in claimed.items():
        # One INSERT; a claim already taken fails it as a whole (IntegrityError).
        _claim_rows(model).add(rows)
    return records


_claim_inserts: dict[type[Any], RowInsert] = {}


def _claim_rows(model: type[Any]) -> RowInsert:
    found = _claim_inserts.get(model)
    if found is None:
        found = _claim_inserts[model] = RowInsert(model)
    return found


def _count(rate_limit: RateLimit | None) -> None:
    if rate_limit is None:
        return
    hits = ratelimit.count_in_window(
        rate_limit.bucket, rate_limit.ident, window_s=rate_limit.window_s
    )
    if hits > rate_limit.limit:
        raise _too_many()


def _too_many() -> RateLimited:
    return RateLimited(
        "Too many messages from this address in a short time; please try again later."
    )


def receive_queued(
    contact: Contact, raw: RawContact, *, owners: OwnerPicker | None
) -> IntakeResult:
    """Add a queued contact to its case (the applier calls this inside its batch)."""
    return _receive(contact, raw, owners=owners)


def batchable(contact: Contact) -> bool:
    """A queued contact that opens a new case for a customer known by name, email and phone
    only: ``receive_queued_batch`` takes it (anything that may thread into a case, or names
    an external id, is received one by one)."""
    return not (
        contact.in_reply_to
        or contact.case_reference
        or contact.external_id
        or contact.case is not None
        or contact.customer_id is not None
        or contact.logged_by is not None
        or contact.attachments
    )


@transaction.atomic(savepoint=False)
def receive_queued_batch(
    items: list[tuple[Contact, RawContact]], *, owners: OwnerPicker
) -> list[IntakeResult]:
    """Add a batch of ``batchable`` queued contacts to new cases, as ``_receive`` adds each:
    customers matched (customers.match_customers), cases opened (cases.open_cases: the
    same events), raw records marked processed and one follow-on pipeline per message, with
    one statement per table for the whole batch. All or nothing: an error rolls the batch
    back for the caller to receive its contacts one by one.

    A raw record not stored yet (no primary key: the contacts the web processes sent to the
    applier process directly) is inserted here, already processed, instead of updated: all
    of the batch's records are stored, or none."""
    matches = match_customers(
        [(one_line(contact.name), contact.email, contact.phone) for contact, _ in items]
    )
    for (contact, _), match in zip(items, matches, strict=True):
        if contact.language and contact.language_source:
            remember_language(match.customer, contact.language, source=contact.language_source)
    opened = case_actions.open_cases(
        [
            case_actions.NewCase(
                customer=match.customer,
                text=clean_text(contact.text),
                channel=contact.channel or Channel.WEB,
                kind=contact.kind or Kind.COMPLAINT,
                subject=one_line(contact.subject),
                body_html=contact.body_html,
                order_reference=contact.order_reference,
                external_id=contact.message_id,
                reply_to=match.reply_to,
                reference=raw.reference,
            )
            for (contact, raw), match in zip(items, matches, strict=True)
        ],
        owners=owners,
    )
    raws = []
    for (_, raw), (case, message) in zip(items, opened, strict=True):
        raw.status, raw.case, raw.message, raw.error = RawStatus.PROCESSED, case, message, ""
        raws.append(raw)
    _mark_processed([raw for raw in raws if raw.pk is not None])
    _RAW_ROWS.add([raw for raw in raws if raw.pk is None])
    if settings.CHERISH_INTAKE_FOLLOW_ON:
        # The keys name the messages just inserted: none can be in use yet.
        queue_many_steps(
            settings.CHERISH_INTAKE_FOLLOW_ON,
            [([message.pk, True], f"follow-on:{message.pk}") for _, message in opened],
            new_keys=True,
        )
    return [
        IntakeResult(case=case, message=message, customer=match.customer, opened=True, raw=raw)
        for (case, message), match, raw in zip(opened, matches, raws, strict=True)
    ]


def _mark_processed(raws: list[RawContact]) -> None:
    """One prepared UPDATE run for every record: bulk_update's CASE expressions cost more
    CPU than the rest of a batch's statements together."""
    if not raws:
        return
    meta = RawContact._meta
    column = {
        name: str(getattr(meta.get_field(name), "column", name))
        for name in ("status", "case", "message", "error")
    }
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(meta.db_table)} SET {quote(column['status'])} = %s, "
            f"{quote(column['case'])} = %s, {quote(column['message'])} = %s, "
            f"{quote(column['error'])} = '' WHERE {quote(str(meta.pk.column))} = %s",
            [(str(raw.status), raw.case_id, raw.message_id, raw.pk) for raw in raws],
        )


def result_of(raw: RawContact) -> Any:
    """What became of a contact another applier took: its IntakeResult, or an error."""
    if raw.status != RawStatus.PROCESSED or raw.message_id is None:
        return IntakeFailed(raw.error or f"the contact is {raw.status}")
    message = Message.objects.select_related("case__customer", "case__owner").get(pk=raw.message_id)
    case = message.case
    return IntakeResult(
        case=case,
        message=message,
        customer=case.customer,
        opened=not Message.objects.filter(case=case, pk__lt=message.pk).exists(),
        raw=raw,
    )


def store_raw(
    channel: str,
    *,
    payload: dict[str, Any] | None = None,
    raw_bytes: bytes | None = None,
    sender: str = "",
    durable: bool = True,
    rate_limit: RateLimit | None = None,
) -> RawContact:
    """Commit exactly what arrived before anything parses it.

    Raw bytes go to a file under the data directory (fsynced), small payloads inline.
    ``durable`` (the default) must be called outside any transaction: the raw record is
    committed on its own, so a later failure while parsing cannot roll it back.
    ``rate_limit`` counts the sender in the same transaction (RateLimited: nothing stored).
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
        _count(rate_limit)
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
    # In a transaction (a savepoint inside one): a write outside any would wait for the
    # lock in SQLite's busy handler instead of the writer queue (core.backends.sqlite3).
    with transaction.atomic():
        RawContact.objects.filter(pk=raw.pk).update(status=RawStatus.FAILED, error=error[:5000])


def mark_raw_ignored(raw: RawContact, reason: str) -> None:
    with transaction.atomic():
        RawContact.objects.filter(pk=raw.pk).update(status=RawStatus.IGNORED, error=reason[:5000])


def describe_error(error: Exception) -> str:
    code = getattr(error, "code", "")
    message = getattr(error, "message", "") or str(error)
    return f"{code}: {message}" if code else f"{type(error).__name__}: {message}"


def _contact_payload(contact: Contact) -> dict[str, Any]:
    """The contact's own fields as its raw record, when nothing rawer exists."""
    fields = asdict(contact)
    for name in ("attachments", "logged_by", "case", "body_html", "customer_id"):
        fields.pop(name, None)
    # PostgreSQL's JSON cannot hold a NUL character; the message drops them anyway.
    payload = {
        name: value.replace("\x00", "") if isinstance(value, str) else value
        for name, value in fields.items()
        if value
    }
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
def _receive(
    contact: Contact, raw: RawContact, *, owners: OwnerPicker | None = None
) -> IntakeResult:
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
    if contact.language and contact.language_source:
        remember_language(customer, contact.language, source=contact.language_source)
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
            reference=raw.reference,
            owners=owners,
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


# A form sent again with the same words from the same address within this long is the same
# complaint: its first answer was lost (a dropped connection, a server restarting), or the
# customer pressed "send" twice.
RESEND_WINDOW_S = 24 * 60 * 60


class Resent(DuplicateRequest):
    """The same form was already received (``earlier``); answer with that one."""

    def __init__(self, earlier: RawContact) -> None:
        super().__init__(f"the same as raw contact {earlier.pk}")
        self.earlier = earlier

    @property
    def reference(self) -> str:
        case = self.earlier.case
        return case.reference if case is not None else str(self.earlier.reference)


class ResendClaim:
    """A ``claim`` for accept_contact that makes a form sent again one complaint, not two.

    Marks the stored record with a fingerprint of channel, sender and words, and raises
    Resent (nothing stored) when a record with that fingerprint was received within
    RESEND_WINDOW_S and not refused: the form has no Idempotency-Key, so without this a
    customer whose thank-you page never arrived opened a second case by sending again.

    The queued path (``_store_queued``) asks ``earlier`` before it inserts and writes the
    fingerprint with the record itself: one plain SELECT and no UPDATE per complaint.
    """

    def __init__(self, channel: str, *, sender: str, text: str) -> None:
        words = "\0".join(("resend", channel, sender.lower(), text.strip()))
        self.fingerprint = hashlib.sha256(words.encode()).hexdigest()

    def earlier(self, *, besides: int | None = None) -> RawContact | None:
        """The record this one repeats, if any (``besides``: this one's own id)."""
        found = _first_taken([self.fingerprint], besides=besides)
        return RawContact.objects.get(pk=found) if found is not None else None

    @staticmethod
    def any_earlier(fingerprints: list[str]) -> bool:
        """Whether any of these fingerprints is already taken, as ``earlier`` finds one."""
        return bool(fingerprints) and _first_taken(fingerprints) is not None

    def __call__(self, raw: RawContact) -> None:
        earlier = self.earlier(besides=raw.pk)
        if earlier is not None:
            raise Resent(earlier)
        RawContact.objects.filter(pk=raw.pk).update(fingerprint=self.fingerprint)


def _first_taken(fingerprints: list[str], *, besides: int | None = None) -> int | None:
    """The id of the first live record within the resend window holding one of these
    fingerprints (``besides``: an id to leave out). One condition for the single and the
    group store, so the two never disagree on what a resend is."""
    since = now() - dt.timedelta(seconds=RESEND_WINDOW_S)
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    meta = RawContact._meta
    column = {
        name: quote(str(getattr(meta.get_field(name), "column", name)))
        for name in ("case", "received_at")
    }
    # Plain SQL: building this query with the ORM cost more CPU than storing the record.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {quote(meta.db_table)}"
            f" WHERE fingerprint IN ({', '.join(['%s'] * len(fingerprints))})"
            f" AND {column['received_at']} >= %s"
            f" AND (reference IS NOT NULL OR {column['case']} IS NOT NULL)"
            " AND status NOT IN (%s, %s) AND id <> %s ORDER BY id LIMIT 1",
            [
                *fingerprints,
                connection.ops.adapt_datetimefield_value(since),
                str(RawStatus.FAILED),
                str(RawStatus.IGNORED),
                besides if besides is not None else -1,
            ],
        )
        row = cursor.fetchone()
    return int(row[0]) if row is not None else None


def taken_fingerprints(fingerprints: list[str]) -> dict[str, tuple[str, int]]:
    """For each of these fingerprints a live record holds (as ``_first_taken`` finds one):
    the reference the customer was given for it and the record's id (the intake journal's
    resend check, intake.journal)."""
    found: dict[str, tuple[str, int]] = {}
    if not fingerprints or _first_taken(fingerprints) is None:
        return found  # the usual answer, in one statement
    for fingerprint in dict.fromkeys(fingerprints):
        pk = _first_taken([fingerprint])
        if pk is not None:
            found[fingerprint] = (Resent(RawContact.objects.get(pk=pk)).reference, pk)
    return found


def resend_claim(channel: str, *, sender: str, text: str) -> ResendClaim:
    """The claim that makes a form sent again one complaint (ResendClaim)."""
    return ResendClaim(channel, sender=sender, text=text)
