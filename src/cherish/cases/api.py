"""The cases part of the REST API (mounted in cherish/api.py): read and list cases.

Creating a case and adding messages enter through intake (intake/api.py): every inbound
contact takes the one intake path.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json

from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from cherish.api_common import ApiError, parse_id, problems, since_utc
from cherish.cases.access import visible_cases
from cherish.cases.models import Case, CaseEvent, Direction, Kind, Message
from cherish.core.errors import NotFound
from cherish.core.references import normalise_reference
from cherish.staff.principal import KeyScope, key_scope

from .schemas import CaseDetailOut, CaseOut, CasePageOut

router = Router(tags=["cases"])

MAX_PAGE_SIZE = 100


def case_detail(reference: str, *, include_notes: bool = True) -> Case:
    """One case with everything the API shows, in a fixed number of queries (four)."""
    canonical = normalise_reference(reference)
    messages = Message.objects.select_related("author__user").prefetch_related("attachments")
    if not include_notes:
        messages = messages.exclude(direction=Direction.NOTE)
    case = (
        Case.objects.select_related("customer", "owner__user", "team")
        .prefetch_related(
            Prefetch("messages", queryset=messages.order_by("created_at", "id")),
            Prefetch(
                "events",
                queryset=CaseEvent.objects.select_related("actor__user").order_by(
                    "created_at", "id"
                ),
            ),
        )
        .filter(reference=canonical or "")
        .first()
    )
    if canonical is None or case is None:
        raise NotFound(f"There is no case {reference}.")
    return case


@router.get(
    "/cases/{reference}",
    response={200: CaseDetailOut, **problems(401, 404, 422)},
    summary="Read a case with its messages and history",
)
@key_scope(KeyScope.CASES_READ)
def read_case(request: HttpRequest, reference: str, include_notes: bool = True) -> Case:
    """The case by its reference (e.g. CH-7K2QX9): kind, stage, owner, triage, messages
    (internal notes too unless ``include_notes=false``) and events, oldest first."""
    return case_detail(reference, include_notes=include_notes)


class CaseFilters(Schema):
    kind: Kind | None = None
    stage: str | None = Field(None, max_length=16)
    is_open: bool | None = None
    owner: str | None = Field(None, max_length=150, description="The owner's username.")
    customer: str | None = Field(None, max_length=20, description="A customer id.")
    updated_since: dt.datetime | None = Field(
        None, description="Only cases changed at or after this time (ISO 8601)."
    )
    limit: int = Field(25, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = Field(None, max_length=200)


def _encode_cursor(case: Case) -> str:
    raw = json.dumps([case.updated_at.isoformat(), case.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at_text, pk = json.loads(raw)
        at = dt.datetime.fromisoformat(at_text)
        if not isinstance(pk, int) or at.tzinfo is None:
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ApiError(
            "This cursor is not one the API gave out; start again without it.",
            code="invalid_cursor",
            status=422,
            field="cursor",
        ) from None
    return at, pk


def filtered_cases(filters: CaseFilters, cases: QuerySet[Case] | None = None) -> QuerySet[Case]:
    """``cases`` (every case if not given) filtered, newest change first, after the cursor."""
    if cases is None:
        cases = Case.objects.all()
    cases = cases.select_related("customer", "owner__user", "team")
    if filters.kind:
        cases = cases.filter(kind=filters.kind)
    if filters.stage:
        cases = cases.filter(stage=filters.stage)
    if filters.is_open is not None:
        cases = cases.filter(is_open=filters.is_open)
    if filters.owner:
        cases = cases.filter(owner__user__username=filters.owner)
    if filters.customer is not None:
        customer_id = parse_id(filters.customer)
        cases = cases.filter(customer_id=customer_id) if customer_id else cases.none()
    if filters.updated_since:
        since = since_utc(filters.updated_since)
        cases = cases.filter(updated_at__gte=since)
    if filters.cursor:
        at, pk = _decode_cursor(filters.cursor)
        cases = cases.filter(Q(updated_at__lt=at) | Q(updated_at=at, pk__lt=pk))
    return cases.order_by("-updated_at", "-pk")


@router.get(
    "/cases",
    response={200: CasePageOut, **problems(401, 422)},
    summary="List cases, most recently changed first",
)
@key_scope(KeyScope.CASES_READ)
def list_cases(request: HttpRequest, filters: Query[CaseFilters]) -> dict[str, object]:
    """Filter by kind, stage, openness, owner username, customer id or change time. Pages of
    at most 100 (``limit``); follow ``next_cursor`` for the next page."""
    principal = getattr(request, "auth", None)
    staff = getattr(principal, "staff", None)
    # A staff member's key lists what that person may see: the boundary's own terms on the
    # listed rows (checked in the case_updated index as the list is read in order), not an
    # "id IN (every visible case)" that SQLite would gather and sort whole.
    cases = filtered_cases(filters, visible_cases(staff) if staff is not None else None)
    page = list(cases[: filters.limit + 1])
    more = len(page) > filters.limit
    items: list[CaseOut | Case] = list(page[: filters.limit])
    return {
        "items": items,
        "next_cursor": _encode_cursor(page[filters.limit - 1]) if more else None,
    }
