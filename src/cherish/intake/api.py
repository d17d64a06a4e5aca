"""The intake part of the REST API (mounted in cherish/api.py): contacts that arrive by API.

``POST /cases`` and ``POST /cases/{reference}/messages`` store the raw request first (outside
any transaction, so a later failure cannot roll it back), then enter through the one door,
intake.actions.accept_contact.
Both honour an ``Idempotency-Key`` header: a retried request never writes twice.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Header, Router

from cherish.api_common import ApiError, problems
from cherish.cases import actions as case_actions
from cherish.cases.models import Case, Channel, Message
from cherish.cases.schemas import CaseCreatedOut, CaseIn, CaseOut, MessageIn, MessageOut
from cherish.core.errors import CherishError, NotFound
from cherish.core.references import normalise_reference
from cherish.intake.actions import Contact, accept_contact, mark_raw_failed, store_raw
from cherish.intake.api_intake import Claim, claim_idempotency, json_data, json_response
from cherish.intake.apikeys import api_key_of
from cherish.intake.models import RawContact
from cherish.staff.principal import KeyScope, key_scope, person_of

router = Router(tags=["cases"])

# Larger requests (attachments) are kept byte for byte in the raw store on disk.
INLINE_RAW_LIMIT = 256 * 1024

IDEMPOTENCY_DESCRIPTION = (
    "Any unique string (e.g. a UUID) per logical request. A retry with the same key and body "
    "returns the first response instead of writing again."
)


def _store_raw_request(request: HttpRequest, payload: dict[str, Any]) -> RawContact:
    if len(request.body) > INLINE_RAW_LIMIT:
        return store_raw("api", raw_bytes=request.body, sender=_sender(payload))
    return store_raw("api", payload=payload, sender=_sender(payload))


def _sender(payload: dict[str, Any]) -> str:
    customer = payload.get("customer") or {}
    return str(customer.get("email") or customer.get("phone") or customer.get("external_id") or "")


def _run_intake(claim: Claim, raw: RawContact, work: Any) -> HttpResponse:
    """Run ``work`` (returns status and response data) in one transaction with the stored
    idempotent response; a refusal is recorded on the raw record and replayed to retries."""
    try:
        with transaction.atomic():
            status, data = work()
            claim.remember(status, data)
    except CherishError as error:
        mark_raw_failed(raw, f"{error.code}: {error.message}")
        claim.remember_refusal(error)
        raise
    except Exception as error:
        mark_raw_failed(raw, repr(error))
        claim.release()
        raise
    return json_response(status, data)


@router.post(
    "/cases",
    response={201: CaseCreatedOut, 200: CaseCreatedOut, **problems(400, 401, 409, 413, 422)},
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
    body = payload.model_dump(mode="json")
    claim = claim_idempotency(api_key_of(request), idempotency_key, scope="POST /cases", body=body)
    if claim.replay is not None:
        return claim.replay
    try:
        raw = _store_raw_request(request, body)
    except Exception:
        claim.release()
        raise
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

    def work() -> tuple[int, dict[str, Any]]:
        result = accept_contact(contact, raw=raw)
        data = json_data(CaseOut.from_orm(result.case))
        data.update(message_id=result.message.pk, opened=result.opened)
        return (201 if result.opened else 200), data

    return _run_intake(claim, raw, work)


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
    claim = claim_idempotency(
        api_key_of(request),
        idempotency_key,
        scope=f"POST /cases/{case.reference}/messages",
        body=body,
    )
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
        try:
            raw = _store_raw_request(request, {"reference": case.reference, **body})
        except Exception:
            claim.release()
            raise

        def receive() -> tuple[int, dict[str, Any]]:
            contact = Contact(
                channel=payload.channel or Channel.API,
                text=payload.text,
                subject=payload.subject,
                attachments=attachments,
                case=case,
            )
            return 201, message_out(accept_contact(contact, raw=raw).message)

        return _run_intake(claim, raw, receive)

    try:
        with transaction.atomic():
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
    except CherishError as error:
        claim.remember_refusal(error)
        raise
    except Exception:
        claim.release()
        raise
    return json_response(201, data)
