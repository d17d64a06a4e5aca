"""The intake part of the REST API (mounted in cherish/api.py): contacts that arrive by API.

``POST /cases`` and ``POST /cases/{reference}/messages`` enter through the one door,
intake.actions.accept_contact, which stores the raw request first (in a transaction of its
own, so a later failure cannot roll it back). Both honour an ``Idempotency-Key`` header: a
retried request never writes twice (intake.api_intake).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Field, Header, Router, Schema

from cherish.api_common import ApiError, problems
from cherish.cases import actions as case_actions
from cherish.cases.access import access_case_to_work
from cherish.cases.models import Case, Channel, Message
from cherish.cases.schemas import CaseCreatedOut, CaseIn, CaseOut, MessageIn, MessageOut
from cherish.core.errors import CherishError, NotFound
from cherish.core.references import normalise_reference
from cherish.intake import journal
from cherish.intake.actions import (
    APPLY_WAIT_S,
    Contact,
    DuplicateRequest,
    IntakePending,
    IntakeResult,
    RawMaterial,
    accept_contact,
    is_queued,
    result_of,
    store_raw,
)
from cherish.intake.api_intake import (
    Claim,
    claim_idempotency,
    in_progress,
    json_data,
    json_response,
    json_text,
    json_text_of,
    stored_answer,
    text_response,
)
from cherish.intake.apikeys import api_key_of
from cherish.intake.applier import wait_applied
from cherish.intake.models import IdempotencyKey, RawContact, RawStatus
from cherish.staff.principal import KeyScope, key_scope, person_of, staff_of

router = Router(tags=["cases"])

# Larger requests (attachments) are kept byte for byte in the raw store on disk.
INLINE_RAW_LIMIT = 256 * 1024

IDEMPOTENCY_DESCRIPTION = (
    "Any unique string (e.g. a UUID) per logical request. A retry with the same key and body "
    "returns the first response instead of writing again."
)


def _raw_material(request: HttpRequest, payload: dict[str, Any]) -> RawMaterial:
    if len(request.body) > INLINE_RAW_LIMIT:
        return RawMaterial(data=request.body, sender=_sender(payload))
    return RawMaterial(payload=payload, sender=_sender(payload))


def _store_raw_request(request: HttpRequest, payload: dict[str, Any]) -> RawContact:
    material = _raw_material(request, payload)
    return store_raw(
        "api", payload=material.payload, raw_bytes=material.data, sender=material.sender
    )


def _sender(payload: dict[str, Any]) -> str:
    customer = payload.get("customer") or {}
    return str(customer.get("email") or customer.get("phone") or customer.get("external_id") or "")


def _case_answer(result: IntakeResult) -> tuple[int, dict[str, Any]]:
    status, text = _case_answer_text(result)
    return status, json.loads(text)


def _case_answer_text(result: IntakeResult) -> tuple[int, str]:
    """The answer to a contact applied on its case, as the JSON text the API sends: written
    once, then stored with its key and sent as it is (the applier process made it three
    times over, about 8 % of its CPU a complaint under the API's load, issue #14)."""
    data = _case_out(result.case)
    data.update(message_id=result.message.pk, opened=result.opened)
    return (201 if result.opened else 200), json_text_of(data)


def _case_out(case: Case) -> dict[str, Any]:
    """``CaseOut.from_orm(case).model_dump()``, written out for a case triage has not read
    yet (every case the intake applier opens): pydantic's validation of the schema was 3 %
    of the applier process's time under the API's load (issue #14). A triaged case goes
    through the schema; a test compares the two on cases of every shape."""
    if case.triage:
        return CaseOut.from_orm(case).model_dump()
    owner = case.owner
    team = case.team if case.team_id else None
    customer = case.customer
    return {
        "reference": case.reference,
        "kind": str(case.kind),
        "stage": str(case.stage),
        "is_open": case.is_open,
        "severity": str(case.severity),
        "channel": str(case.channel),
        "subject": case.subject,
        "order": case.order_reference,
        "owner": None
        if owner is None
        else {"name": owner.display_name, "username": owner.user.username},
        "team": team.name if team else None,
        "customer": {"id": str(customer.pk), "name": customer.name},
        "message_count": case.message_count,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "triage": None,
        "badges": [str(badge) for badge in case.badges or []],
    }


def _rebuild_case_answer(raw: RawContact) -> tuple[int, dict[str, Any]] | None:
    """The answer to a queued contact applied by a process that died before answering."""
    outcome = result_of(raw)
    return _case_answer(outcome) if isinstance(outcome, IntakeResult) else None


class CaseReceivedOut(Schema):
    """A message stored durably but not yet added to a case (202): the case follows."""

    status: str = "received"
    reference: str | None = Field(
        None, description="The new case's reference (none when the message may join a case)."
    )


class _Answer:
    """Records the response in the transaction that applies the contact (``on_applied``).

    ``shape`` makes the response of an applied contact as (status, JSON text); ``response``
    holds it for the request (or the wake-up that carries it to the request)."""

    def __init__(self, claim: Claim, shape: Callable[[IntakeResult], tuple[int, str]]) -> None:
        self.claim = claim
        self.shape = shape
        self.response: tuple[int, str] | None = None

    def __call__(self, outcome: Any) -> None:
        if isinstance(outcome, CherishError):
            self.claim.remember_refusal(outcome)
        elif isinstance(outcome, IntakeResult):
            self.response = self.shape(outcome)
            self.claim.remember_text(*self.response)


def answer_for(record: IdempotencyKey | None) -> _Answer:
    """What the applier process runs when it applies a contact a request waits for (from
    the intake journal): the request's response, made in that transaction and stored with
    its key (``record``) if it came with one, as ``_Answer`` does in the web process."""
    return _Answer(Claim(record=record), _case_answer_text)


def _answer_once_applied(claim: Claim, reference: str, said: Any = None) -> HttpResponse | None:
    """The answer to a contact stored in the intake journal, once the applier process has
    added it to its case and woken this process; None if it is not applied in time.
    ``said``: what the applier process answered already (a contact sent to it directly)."""
    applied = said if said is not None else wait_applied(reference, APPLY_WAIT_S)
    if applied is None:
        return None
    if applied.answer is not None:
        # The applier process sent the response it stored along with the wake-up.
        return text_response(*applied.answer)
    if claim.key is not None and claim.api_key is not None:
        # Its response was stored with the key in the transaction that applied it.
        found = stored_answer(claim.api_key, claim.key)
        if found is not None:
            return found
    raw = RawContact.objects.filter(reference=reference).first()
    if raw is None or raw.status == RawStatus.QUEUED:
        return None
    outcome = result_of(raw)
    if not isinstance(outcome, IntakeResult):
        raise outcome
    return json_response(*_case_answer(outcome))


def _replay_after_duplicate(
    request: HttpRequest, key: str | None, scope: str, body: dict[str, Any]
) -> HttpResponse:
    """A request with the same key took it first: answer what it answers (422 if its body
    was another; 409 while it is still in progress, or for a key an older version of
    Cherish left without an answer, which this look removed: the next retry does the work)."""
    again = claim_idempotency(
        api_key_of(request), key, scope=scope, body=body, rebuild=_rebuild_case_answer
    )
    if again.replay is None:
        raise in_progress()
    return again.replay


@router.post(
    "/cases",
    response={
        201: CaseCreatedOut,
        200: CaseCreatedOut,
        202: CaseReceivedOut,
        **problems(400, 401, 409, 413, 422),
    },
    summary="Create a case (or add to one) from a customer's message",
)
@key_scope(KeyScope.CASES_CREATE)
def create_case(
    request: HttpRequest,
    payload: CaseIn,
    idempotency_key: str | None = Header(
        None, alias="Idempotency-Key", max_length=200, description=IDEMPOTENCY_DESCRIPTION
    ),
) -> Any:
    """Finds or creates the customer (external_id, then email, then phone), then opens a case
    (201) or, when ``reference`` names an open or recent case of the same customer, adds the
    message to it (200). The raw request is stored first, so nothing is ever lost."""
    staff = staff_of(request)
    if staff is not None and payload.reference:
        # Adding to an existing case changes it: a staff key stays inside its person's
        # boundary, as the desk's log-contact page does.
        access_case_to_work(staff, payload.reference)
    body = payload.model_dump(mode="json")
    scope = "POST /cases"
    contact = Contact(
        channel=payload.channel,
        text=payload.text,
        name=payload.customer.name,
        email=payload.customer.email,
        phone=payload.customer.phone,
        external_id=payload.customer.external_id,
        subject=payload.subject,
        order_reference=payload.order,
        kind=payload.kind or "",
        case_reference=payload.reference or "",
        attachments=[item.to_new_attachment() for item in payload.attachments],
    )
    material = _raw_material(request, body)
    # A contact stored in one transaction with its key (queued) is not looked up first: a
    # key already taken makes that store refuse it (DuplicateRequest), and it then replays
    # the answer of the request that took the key. One stored before its key is bound (with
    # files) is looked up first, so a retry does not store its files again.
    claim = claim_idempotency(
        api_key_of(request),
        idempotency_key,
        scope=scope,
        body=body,
        rebuild=_rebuild_case_answer,
        look=not is_queued(contact, material),
    )
    if claim.replay is not None:
        return claim.replay

    answer = _Answer(claim, _case_answer_text)
    try:
        result = accept_contact(
            contact,
            raw=material,
            claim=claim,
            on_applied=answer,
            wait_for_case=True,
        )
    except DuplicateRequest:
        return _replay_after_duplicate(request, idempotency_key, scope, body)
    except IntakePending as pending:
        if pending.journaled:
            applied = _answer_once_applied(claim, pending.reference, pending.said)
            if applied is not None:
                return applied
        if pending.journaled:
            # Stored without an fsync of its own (intake.applier.store_awaited): on the disk
            # before the answer says received.
            journal.make_durable()
        # Stored but not yet on a case (a stuck applier): received, not failed. A retry with
        # the same key gets the case once it is applied.
        reference = None if contact.case_reference else pending.reference
        return json_response(202, {"status": "received", "reference": reference})
    if answer.response is not None:
        return text_response(*answer.response)
    # Applied by another process's applier (this one's was stuck): shape the answer here.
    status, text = _case_answer_text(result)
    claim.remember_text(status, text)
    return text_response(status, text)


@router.post(
    "/cases/{reference}/messages",
    response={201: MessageOut, **problems(400, 401, 404, 409, 413, 422)},
    summary="Add a message to a case: from the customer, a reply, or an internal note",
)
@key_scope(KeyScope.CASES_CREATE)
def add_message(
    request: HttpRequest,
    reference: str,
    payload: MessageIn,
    idempotency_key: str | None = Header(
        None, alias="Idempotency-Key", max_length=200, description=IDEMPOTENCY_DESCRIPTION
    ),
) -> Any:
    """``in``: the customer wrote (takes the intake path; a closed case reopens). ``out``: a
    reply to the customer by the key's staff member (delivered on the case's channel).
    ``note``: an internal note by the key's staff member, never shown to the customer."""
    canonical = normalise_reference(reference)
    case = Case.objects.filter(reference=canonical or "").first()
    if case is None:
        raise NotFound(f"There is no case {reference}.")
    if payload.direction == "note" and payload.attachments:
        raise ApiError(
            "Internal notes take no attachments.",
            code="note_attachments",
            status=422,
            field="attachments",
        )
    # Replies and notes are a person's: the key's staff member writes them (defect #9.2).
    author = (
        person_of(request, KeyScope.CASES_WRITE) if payload.direction in ("out", "note") else None
    )
    body = payload.model_dump(mode="json")
    scope = f"POST /cases/{case.reference}/messages"
    claim = claim_idempotency(api_key_of(request), idempotency_key, scope=scope, body=body)
    if claim.replay is not None:
        return claim.replay
    attachments = [item.to_new_attachment() for item in payload.attachments]

    def message_out(message: Message) -> dict[str, Any]:
        fresh = (
            Message.objects.select_related("author__user")
            .prefetch_related("attachments")
            .get(pk=message.pk)
        )
        return json_data(MessageOut.from_orm(fresh))

    if payload.direction == "in":
        raw = _store_raw_request(request, {"reference": case.reference, **body})
        contact = Contact(
            channel=payload.channel or Channel.API,
            text=payload.text,
            subject=payload.subject,
            attachments=attachments,
            case=case,
        )
        answer = _Answer(claim, lambda result: (201, json_text(message_out(result.message))))
        try:
            result = accept_contact(contact, raw=raw, claim=claim.take, on_applied=answer)
        except DuplicateRequest:
            return _replay_after_duplicate(request, idempotency_key, scope, body)
        if answer.response is not None:
            return text_response(*answer.response)
        return json_response(201, message_out(result.message))

    try:
        with transaction.atomic():
            claim.take()
            if payload.direction == "out":
                message = case_actions.reply_to_customer(
                    case,
                    text=payload.text,
                    by=author,
                    subject=payload.subject,
                    attachments=attachments,
                )
            else:
                assert author is not None
                message = case_actions.add_internal_note(case, text=payload.text, by=author)
            data = message_out(message)
            claim.remember(201, data)
    except DuplicateRequest:
        return _replay_after_duplicate(request, idempotency_key, scope, body)
    except CherishError as error:
        try:
            with transaction.atomic():
                claim.take()
                claim.remember_refusal(error)
        except DuplicateRequest:
            pass  # a twin with the same key got there first; it has its own answer
        raise
    return json_response(201, data)
