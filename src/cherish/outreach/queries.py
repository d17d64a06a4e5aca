"""Reads for the customer 360 page, its timeline, the radar and the leave-reason report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum, Window
from django.utils.translation import ngettext

from cherish.cases.models import Case, CaseEvent, Kind
from cherish.core.clock import now
from cherish.customers.models import (
    LEAVE_REASON_BENCHMARK,
    Customer,
    CustomerEvent,
    ImportantDate,
    LeaveReason,
    LeaveReasonKind,
    Transaction,
)
from cherish.customers.queries import CustomerValue, customer_value
from cherish.outreach.actions import customer_zone
from cherish.outreach.models import ChurnScore, FollowUp, MomentSent
from cherish.outreach.moments import moment_suggestion, next_occurrence

TIMELINE_PAGE = 40
OPEN_CASES_SHOWN = 20
RADAR_PAGE = 50

# Timeline filters: what each one shows.
TIMELINE_TYPES = {
    "cases": "Cases",
    "messages": "Messages",
    "transactions": "Transactions",
    "follow_ups": "Follow-ups",
    "gestures": "Gestures",
    "surveys": "Surveys",
    "account": "Account",
}
_EVENT_FILTERS = {
    "cases": Q(type__startswith="case.")
    | Q(type__startswith="commitment.")
    | Q(type__startswith="outreach."),
    "messages": Q(type="message.added"),
    "gestures": Q(type__startswith="gesture."),
    "surveys": Q(type__startswith="survey."),
}


def tenure_years(customer: Customer, value: CustomerValue, today: dt.date) -> float | None:
    since = customer.customer_since or (value.first_at.date() if value.first_at else None)
    return (today - since).days / 365.25 if since else None


def loyalty_level(years: float | None, value: CustomerValue) -> str:
    """A plain label from tenure and recent buying (the feedback app may refine it later)."""
    if years is None or value.transaction_count == 0:
        return "New"
    if years >= 5 and value.last_12_months > 0:
        return "Long-standing"
    if years >= 2 and value.last_12_months > 0:
        return "Loyal"
    if value.last_12_months > 0:
        return "Regular"
    return "Dormant"


def _care_model(name: str) -> Any:
    try:
        return apps.get_model("care", name)
    except LookupError:
        return None


def customer_360(
    customer: Customer, *, at: dt.datetime, cases: QuerySet[Case] | None = None
) -> dict[str, Any]:
    """Everything the customer page shows above the timeline, in a fixed number of queries.

    ``cases``: the cases the viewer may see (cases.access.visible_cases); the page counts and
    lists only those, and the commitments and gestures on them.
    """
    today = at.date()
    value = customer_value(customer, as_of=at)
    years = tenure_years(customer, value, today)
    cases = Case.objects.all() if cases is None else cases
    # The viewer's cases *of this customer*: a bare ``case IN (visible cases)`` let SQLite
    # build every case in the viewer's bounds first (hundreds of thousands at 1M cases).
    theirs = cases.filter(customer=customer).values("pk")
    case_counts = cases.filter(customer=customer).aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(is_open=True)),
        open_complaints=Count("id", filter=Q(is_open=True, kind=Kind.COMPLAINT)),
    )
    open_cases = list(
        cases.filter(customer=customer, is_open=True)
        .select_related("owner")
        .order_by("-priority", "-updated_at")[:OPEN_CASES_SHOWN]
    )
    commitments: list[Any] = []
    gestures: list[Any] = []
    gesture_total: Decimal | None = None
    Commitment, Gesture = _care_model("Commitment"), _care_model("Gesture")
    if Commitment is not None:
        commitments = list(
            Commitment.objects.filter(case__customer=customer, case__in=theirs, status="open")
            .select_related("case", "owner")
            .order_by("due_at")[:10]
        )
    if Gesture is not None:
        # The latest five with the sum of all of them (a window over every row, before the
        # LIMIT): one statement, not a list and an aggregate.
        gestures = list(
            Gesture.objects.filter(
                case__customer=customer,
                case__in=theirs,
                status__in=["granted", "approved"],
            )
            .annotate(all_given=Window(Sum("value")))
            .select_related("case", "gesture_type")
            .order_by("-created_at")[:5]
        )
        gesture_total = gestures[0].all_given if gestures else None
    dates = sorted(
        customer.important_dates.all(),
        key=lambda d: next_occurrence(d.date, today) if d.recurring else d.date,
    )
    return {
        "customer": customer,
        "points": list(customer.contact_points.all()),
        "value": value,
        "tenure_years": years,
        "loyalty": loyalty_level(years, value),
        "case_counts": case_counts,
        "open_cases": open_cases,
        "commitments": commitments,
        "gestures": gestures,
        "gesture_total": gesture_total,
        "dates": [(d, next_occurrence(d.date, today) if d.recurring else d.date) for d in dates],
        "churn": ChurnScore.objects.filter(customer=customer).first(),
        "leave_reason": LeaveReason.objects.filter(customer=customer).first(),
        "last_follow_up": FollowUp.objects.filter(customer=customer, answered_at__isnull=False)
        .select_related("transaction")
        .order_by("-answered_at")
        .first(),
        **_merges(customer),
    }


def _merges(customer: Customer) -> dict[str, Any]:
    """The latest five merges into the customer and which merges were undone: one read of
    the log's merge and unmerge events (a customer has few)."""
    merges: list[CustomerEvent] = []
    undone: set[Any] = set()
    for event in CustomerEvent.objects.filter(
        customer=customer, type__in=["customer.merged", "customer.unmerged"]
    ).order_by("-created_at", "-id"):
        if event.type == "customer.unmerged":
            undone.add((event.data or {}).get("merge_event_id"))
        elif len(merges) < 5:
            merges.append(event)
    return {"merges": merges, "merged_from_undone": undone}


@dataclass(frozen=True)
class TimelineItem:
    at: dt.datetime
    type: str
    title: str
    detail: str = ""
    reference: str = ""


def _survey_title(type_: str, data: dict[str, Any]) -> tuple[str, str]:
    name = str(data.get("survey_name") or "survey")
    if type_ == "survey.sent":
        return f"Survey sent: {name}", ""
    if type_ in ("survey.answered", "survey.answer_changed"):
        scores = []
        if data.get("csat") is not None:
            scores.append(f"satisfaction {data['csat']}/5")
        if data.get("nps") is not None:
            scores.append(f"recommend {data['nps']}/10")
        if data.get("loyalty_level"):
            scores.append(f"loyalty: {data['loyalty_level']}")
        verb = "answered" if type_ == "survey.answered" else "changed answers"
        return f"Survey {verb}: {name}", ", ".join(scores)
    return type_.replace(".", " ").replace("_", " ").capitalize(), ""


def _event_title(event: CaseEvent) -> tuple[str, str]:
    data = event.data or {}
    if event.type == "message.added":
        direction = {"in": "Customer wrote", "out": "We replied", "note": "Internal note"}
        return direction.get(data.get("direction", ""), "Message"), str(data.get("excerpt", ""))
    if event.type.startswith("survey."):
        return _survey_title(event.type, data)
    return event.type.replace(".", " ").replace("_", " ").capitalize(), ""


def timeline(
    customer: Customer,
    *,
    types: list[str] | None = None,
    before: dt.datetime | None = None,
    cases: QuerySet[Case] | None = None,
) -> tuple[list[TimelineItem], dt.datetime | None]:
    """One page of everything about the customer, newest first, and the cursor for the next.

    Each source is read with the same limit and an index on (customer, time); the merge by
    time happens here. The page is bounded whatever the size of the history.
    """
    wanted = [t for t in (types or list(TIMELINE_TYPES)) if t in TIMELINE_TYPES]
    limit = TIMELINE_PAGE + 1
    items: list[TimelineItem] = []
    event_filter = Q()
    for key in wanted:
        if key in _EVENT_FILTERS:
            event_filter |= _EVENT_FILTERS[key]
    if event_filter:
        events = CaseEvent.objects.filter(event_filter, customer=customer)
        if cases is not None:  # only the cases the viewer may see
            events = events.filter(case__in=cases.filter(customer=customer).values("pk"))
        if before:
            events = events.filter(created_at__lt=before)
        for event in (
            events.select_related("case")
            .only("type", "data", "created_at", "case__reference")
            .order_by("-created_at", "-id")[:limit]
        ):
            title, detail = _event_title(event)
            items.append(
                TimelineItem(event.created_at, event.type, title, detail, event.case.reference)
            )
    if "transactions" in wanted:
        txns = Transaction.objects.filter(customer=customer)
        if before:
            txns = txns.filter(occurred_at__lt=before)
        for t in txns.order_by("-occurred_at", "-id")[:limit]:
            items.append(
                TimelineItem(
                    t.occurred_at,
                    "transaction",
                    f"{t.get_kind_display()} {t.external_id}",
                    f"{t.amount} {t.currency}" + (f" · {t.status}" if t.status else ""),
                )
            )
    if "follow_ups" in wanted:
        fus = FollowUp.objects.filter(customer=customer, sent_at__isnull=False)
        if before:
            fus = fus.filter(sent_at__lt=before)
        for f in fus.select_related("rule").order_by("-sent_at")[:limit]:
            assert f.sent_at is not None
            answer = f"answered “{f.get_answer_display().lower()}”" if f.answer else "no answer yet"
            items.append(TimelineItem(f.sent_at, "follow_up", f"Asked: {f.rule.question}", answer))
    # The customer's own log holds two sources: survey answers without a case (relationship,
    # expectations) and account events. Both wanted (the unfiltered page): one read of the
    # log with the page's limit, whose newest rows are the newest of either.
    surveys, account = "surveys" in wanted, "account" in wanted
    if surveys or account:
        log = CustomerEvent.objects.filter(customer=customer)
        if not account:
            log = log.filter(type__startswith="survey.")
        else:
            log = log.exclude(type="follow_up.sent")
            if not surveys:
                log = log.exclude(type__startswith="survey.")
        if before:
            log = log.filter(created_at__lt=before)
        for e in log.order_by("-created_at", "-id")[:limit]:
            if e.type.startswith("survey."):
                title, detail = _survey_title(e.type, e.data or {})
                items.append(TimelineItem(e.created_at, e.type, title, detail))
            else:
                label = e.type.replace(".", " ").replace("_", " ")
                items.append(TimelineItem(e.created_at, e.type, label))
    if account:
        sent = MomentSent.objects.filter(customer=customer)
        if before:
            sent = sent.filter(sent_at__lt=before)
        for m in sent.order_by("-sent_at")[:limit]:
            items.append(TimelineItem(m.sent_at, "moment", "Personal note sent", m.subject))
    items.sort(key=lambda i: i.at, reverse=True)
    page = items[:TIMELINE_PAGE]
    cursor = page[-1].at if len(items) > TIMELINE_PAGE else None
    return page, cursor


def _among(among: QuerySet[Customer]) -> Exists:
    """The row's customer is one of ``among``, asked of each row read (a correlated EXISTS),
    not as ``customer_id IN (every customer among)``, which built the whole set of the
    viewer's customers first: 2 s of CPU at 1M cases (issue #14)."""
    return Exists(among.filter(pk=OuterRef("customer_id")))


def radar_page(
    *, page: int = 1, min_score: float = 0.3, among: QuerySet[Customer] | None = None
) -> Page[Any]:
    """At-risk customers ranked by value × risk (customer and contact points prefetched);
    with ``among`` only those customers (the viewer's)."""
    scores = ChurnScore.objects.all()
    if among is not None:
        scores = scores.filter(_among(among))
    qs = (
        scores.filter(score__gte=min_score, customer__merged_into__isnull=True)
        .select_related("customer", "outreach_case")
        .order_by("-priority", "-score")
    )
    return Paginator(qs, RADAR_PAGE).get_page(page)


def leave_reason_report() -> list[dict[str, Any]]:
    """This organisation's leave reasons beside the published distribution (percent)."""
    counts = dict(
        LeaveReason.objects.filter(customer__status="left")
        .values_list("reason")
        .annotate(n=Count("id"))
        .values_list("reason", "n")
    )
    total = sum(counts.values())
    return [
        {
            "reason": key,
            "label": label,
            "count": counts.get(key, 0),
            "share": round(100 * counts.get(key, 0) / total, 1) if total else 0.0,
            "benchmark": LEAVE_REASON_BENCHMARK.get(key),
        }
        for key, label in LeaveReasonKind.choices
    ]


def left_customers(
    *, limit: int = 50, among: QuerySet[Customer] | None = None
) -> list[LeaveReason]:
    """The customers who left most recently, each with ``win_back_reference``: the open
    win-back case of theirs, if one is under way ("" if none; one query for all of them)."""
    reasons = LeaveReason.objects.all()
    if among is not None:
        reasons = reasons.filter(_among(among))
    left = list(
        reasons.filter(customer__status="left")
        .select_related("customer")
        .order_by("-recorded_at")[:limit]
    )
    under_way = dict(
        Case.objects.filter(
            customer_id__in=[reason.customer_id for reason in left],
            is_open=True,
            events__type="outreach.started",
            events__data__kind="win_back",
        )
        .order_by("id")
        .values_list("customer_id", "reference")
    )
    for reason in left:
        reason.win_back_reference = under_way.get(reason.customer_id, "")  # type: ignore[attr-defined]
    return left


@dataclass(frozen=True)
class TodaysMoment:
    kind: str  # a DateKind value, or "tenure"
    title: str
    suggestion: str


def moments_today(customer: Customer, *, at: dt.datetime | None = None) -> list[TodaysMoment]:
    """The customer's birthday, anniversary, other dates staff added, or anniversary of
    becoming a customer that falls today in their own time zone: for the case page, so the
    agent in contact today can mention it. One query (their important dates)."""
    at = at or now()
    today = at.astimezone(customer_zone(customer)).date()
    found = []
    # Plain SQL: read on every view of an open case, and most customers have no dates (Django
    # building the query cost more than SQLite running it).
    dates = ImportantDate.objects.raw(
        f'SELECT * FROM "{ImportantDate._meta.db_table}"'
        ' WHERE "customer_id" = %s ORDER BY "date", "id"',
        [customer.pk],
    )
    for item in dates:
        on = next_occurrence(item.date, today) if item.recurring else item.date
        if on == today:
            found.append(
                TodaysMoment(
                    kind=item.kind,
                    title=item.get_kind_display() + (f": {item.note}" if item.note else ""),
                    suggestion=moment_suggestion(item.kind, note=item.note),
                )
            )
    since = customer.customer_since
    if since is not None and next_occurrence(since, today) == today and today.year > since.year:
        years = today.year - since.year
        found.append(
            TodaysMoment(
                kind="tenure",
                title=ngettext(
                    "%(years)d year as a customer today",
                    "%(years)d years as a customer today",
                    years,
                )
                % {"years": years},
                suggestion=moment_suggestion("tenure", years=years),
            )
        )
    return found
