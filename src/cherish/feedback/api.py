"""The survey answers part of the REST API (mounted in cherish/api.py): read only."""

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
from cherish.core.errors import NotFound
from cherish.core.references import normalise_reference
from cherish.customers.access import visible_customers
from cherish.feedback.models import Answer, SurveyResponse
from cherish.staff.principal import KeyScope, key_scope, staff_of

from .schemas import SurveyResponseOut, SurveyResponsePageOut

router = Router(tags=["surveys"])

MAX_PAGE_SIZE = 100


def _responses(request: HttpRequest) -> QuerySet[SurveyResponse]:
    """The answers this request may read: a staff member's key reads the answers of the
    customers (and, for an answer about a case, the cases) that person sees at the desk."""
    rows = SurveyResponse.objects.all()
    staff = staff_of(request)
    if staff is not None:
        rows = rows.filter(customer__in=visible_customers(staff)).filter(
            Q(case__isnull=True) | Q(case__in=visible_cases(staff))
        )
    return rows.select_related("survey", "case", "loop_case", "invitation").prefetch_related(
        Prefetch(
            "answers",
            queryset=Answer.objects.select_related("question").order_by("question__order"),
        )
    )


class ResponseFilters(Schema):
    survey: str | None = Field(None, max_length=40, description="A survey key.")
    customer: str | None = Field(None, max_length=20, description="A customer id.")
    case: str | None = Field(None, max_length=20, description="A case reference.")
    updated_since: dt.datetime | None = Field(
        None, description="Only answers given or changed at or after this time (ISO 8601)."
    )
    limit: int = Field(25, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = Field(None, max_length=200)


def _encode_cursor(response: SurveyResponse) -> str:
    raw = json.dumps([response.updated_at.isoformat(), response.pk]).encode()
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


@router.get(
    "/survey-responses",
    response={200: SurveyResponsePageOut, **problems(401, 422)},
    summary="List survey answers, most recently changed first",
)
@key_scope(KeyScope.FEEDBACK_READ)
def list_responses(request: HttpRequest, filters: Query[ResponseFilters]) -> dict[str, object]:
    """Every answered survey with its headline values (satisfaction, NPS, loyalty level) and
    each answer. Filter by survey key, customer id, case reference or change time; pages of
    at most 100, follow ``next_cursor``. Answers change for a few days after they are given:
    poll with ``updated_since`` (or subscribe to the ``survey.answered`` webhook)."""
    rows = _responses(request)
    if filters.survey:
        rows = rows.filter(survey__key=filters.survey)
    if filters.customer is not None:
        customer_id = parse_id(filters.customer)
        rows = rows.filter(customer_id=customer_id) if customer_id else rows.none()
    if filters.case:
        reference = normalise_reference(filters.case)
        rows = rows.filter(case__reference=reference) if reference else rows.none()
    if filters.updated_since:
        since = since_utc(filters.updated_since)
        rows = rows.filter(updated_at__gte=since)
    if filters.cursor:
        at, pk = _decode_cursor(filters.cursor)
        rows = rows.filter(Q(updated_at__lt=at) | Q(updated_at=at, pk__lt=pk))
    page = list(rows.order_by("-updated_at", "-pk")[: filters.limit + 1])
    more = len(page) > filters.limit
    return {
        "items": page[: filters.limit],
        "next_cursor": _encode_cursor(page[filters.limit - 1]) if more else None,
    }


@router.get(
    "/survey-responses/{response_id}",
    response={200: SurveyResponseOut, **problems(401, 404, 422)},
    summary="Read one survey answer",
)
@key_scope(KeyScope.FEEDBACK_READ)
def read_response(request: HttpRequest, response_id: str) -> SurveyResponse:
    pk = parse_id(response_id)
    found = _responses(request).filter(pk=pk).first() if pk else None
    if found is None:
        raise NotFound(f"There is no survey answer {response_id}.")
    return found
