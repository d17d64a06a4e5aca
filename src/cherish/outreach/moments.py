"""Moments that matter: birthdays, anniversaries of becoming a customer, order milestones and
dates staff added, found for "today and this week" in each customer's own time zone.

Reads only. Sending a note for a moment is outreach.actions.send_moment_note; who each
customer's usual contact is, is kept by outreach.actions.refresh_usual_contacts.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max, Min, Q, QuerySet

from cherish.cases.models import Case, Kind
from cherish.customers.models import (
    Customer,
    DateKind,
    ImportantDate,
    RelationshipStatus,
    Transaction,
    TransactionKind,
)
from cherish.outreach.actions import customer_zone
from cherish.outreach.models import MomentSent

WINDOW_DAYS = 7
ORDER_MILESTONES = (10, 25, 50, 100, 250, 500, 1000)
MAX_MOMENTS = 300


def occurrence(date: dt.date, year: int) -> dt.date:
    """The date's anniversary in ``year``; 29 February is celebrated on 28 February otherwise."""
    if date.month == 2 and date.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return date.replace(year=year)


def next_occurrence(date: dt.date, today: dt.date) -> dt.date:
    this_year = occurrence(date, today.year)
    return this_year if this_year >= today else occurrence(date, today.year + 1)


@dataclass(frozen=True)
class Moment:
    customer: Customer
    key: str
    kind: str
    title: str
    on: dt.date
    suggestion: str
    is_today: bool
    owner_id: int | None
    sent: bool = False
    has_open_complaint: bool = False

    @property
    def year(self) -> int:
        return self.on.year


def _month_days(start: dt.date, days: int) -> list[tuple[int, int]]:
    pairs = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        pairs.append((day.month, day.day))
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            pairs.append((2, 29))
    return pairs


# A moment before it is written out: (on, customer name, customer id, key, what its title
# and suggestion are made of, usual contact's id).
_Row = tuple[dt.date, str, int, str, tuple[Any, ...], int | None]


def _on_those_days(pairs: list[tuple[int, int]], first: dt.date, last: dt.date) -> list[dt.date]:
    """Every date from ``first``'s year to ``last``'s that falls on one of the (month, day)
    pairs: looked up in an index, the week's anniversaries cost a few hundred seeks
    instead of reading every customer's dates."""
    return [
        dt.date(year, month, day)
        for year in range(first.year, last.year + 1)
        for month, day in pairs
        if not (month == 2 and day == 29 and not calendar.isleap(year))
    ]


def _span(queryset: QuerySet[Any], field: str) -> tuple[dt.date, dt.date] | None:
    # Two queries, not one: SQLite answers a lone MIN or MAX from the index, both together
    # by reading the whole table.
    first = queryset.aggregate(value=Min(field))["value"]
    last = queryset.aggregate(value=Max(field))["value"]
    return None if first is None or last is None else (first, last)


def moment_suggestion(kind: str, years: int = 0, note: str = "") -> str:
    if kind == DateKind.BIRTHDAY:
        return "Send a short birthday note in your own words; add a small treat for regulars."
    if kind == "tenure":
        return (
            f"Thank them for {years} year{'s' if years != 1 else ''} with us and mention "
            "something you know they value."
        )
    if kind == "milestone":
        return "Thank them personally for their loyalty; a small unexpected gift fits here."
    if kind == DateKind.ANNIVERSARY:
        return "Mark the anniversary with a personal note."
    return f"Wish them well{': ' + note if note else ''}."


def moments_between(
    at: dt.datetime,
    *,
    owner_id: int | None = None,
    days: int = WINDOW_DAYS,
    among: QuerySet[Customer] | None = None,
) -> list[Moment]:
    """Moments from today to ``days`` ahead, each in the customer's own time zone; at most
    MAX_MOMENTS, soonest first.

    With ``owner_id`` only customers whose usual contact (owner of their latest case, as
    UsualContact last stored it) is that person; with ``among`` only those customers (the
    viewer's, customers.access). The dates are looked up in the customer_since and
    important-date indexes, so the cost follows the week's moments, not the number of
    customers; a fixed number of queries whatever the number of moments.
    """
    org_today = at.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
    # Time zones differ by at most a day from the organisation's, so one extra day each side.
    pairs = _month_days(org_today - dt.timedelta(days=1), days + 2)
    customers = Customer.objects.filter(
        merged_into__isnull=True,
        erased_at__isnull=True,
        opted_out=False,
    ).exclude(status=RelationshipStatus.LEFT)
    if owner_id is not None:
        customers = customers.filter(usual_contact__staff_id=owner_id)

    windows: dict[str, tuple[dt.date, dt.date]] = {}

    def window(time_zone: str) -> tuple[dt.date, dt.date]:
        found = windows.get(time_zone)
        if found is None:
            today = at.astimezone(customer_zone(Customer(time_zone=time_zone))).date()
            found = windows[time_zone] = (today, today + dt.timedelta(days=days - 1))
        return found

    # (on, name, customer id, key, what the title and suggestion are made of, owner id):
    # sorted and cut to MAX_MOMENTS before any title is written or customer read in full.
    found: list[_Row] = []

    dated: dict[int, list[tuple[Any, ...]]] = {}
    span = _span(ImportantDate.objects.all(), "date")
    if span is not None:
        for row in (
            ImportantDate.objects.filter(
                Q(recurring=True, date__in=_on_those_days(pairs, *span))
                | Q(
                    recurring=False,
                    date__gte=org_today - dt.timedelta(days=1),
                    date__lte=org_today + dt.timedelta(days=days + 1),
                )
            )
            .order_by()
            .values_list("customer_id", "pk", "kind", "date", "note", "recurring")
        ):
            dated.setdefault(row[0], []).append(row[1:])
    reached = _order_milestones(at, days)
    near = Q(pk__in=[*dated, *reached])
    span = _span(Customer.objects.all(), "customer_since")
    if span is not None:
        near |= Q(customer_since__in=_on_those_days(pairs, *span))
    rows = customers.filter(near).values_list(
        "pk", "name", "time_zone", "customer_since", "usual_contact__staff_id"
    )
    for pk, name, time_zone, since, owner in rows:
        today, last = window(time_zone)
        for date_pk, kind, date, note, recurring in dated.get(pk, ()):
            on = next_occurrence(date, today) if recurring else date
            if today <= on <= last:
                found.append((on, name, pk, f"date:{date_pk}", ("date", kind, note), owner))
        if since is not None:
            on = next_occurrence(since, today)
            years = on.year - since.year
            if years >= 1 and today <= on <= last:
                found.append((on, name, pk, "tenure", ("tenure", years), owner))
        if pk in reached:
            found.append((today, name, pk, f"order:{reached[pk]}", ("milestone",), owner))
    found.sort(key=lambda row: (row[0], row[1], row[2], row[3]))
    if among is not None:
        found = _only_among(found, among)
    found = found[:MAX_MOMENTS]
    if not found:
        return []

    ids = {row[2] for row in found}
    by_pk = Customer.objects.in_bulk(ids)
    sent = set(
        MomentSent.objects.filter(
            customer_id__in=ids, year__in={row[0].year for row in found}
        ).values_list("customer_id", "moment_key", "year")
    )
    complaining = set(
        Case.objects.filter(customer_id__in=ids, is_open=True, kind=Kind.COMPLAINT).values_list(
            "customer_id", flat=True
        )
    )
    moments = []
    for on, _name, pk, key, what, owner in found:
        if what[0] == "date":
            _, kind, note = what
            title = DateKind(kind).label + (f": {note}" if note else "")
            tip = moment_suggestion(kind, note=note)
        elif what[0] == "tenure":
            kind, years = what
            title = f"{years} year{'s' if years != 1 else ''} as a customer"
            tip = moment_suggestion(kind, years=years)
        else:
            kind, title, tip = "milestone", f"{key[6:]}th order", moment_suggestion("milestone")
        moments.append(
            Moment(
                customer=by_pk[pk],
                key=key,
                kind=kind,
                title=str(title),
                on=on,
                suggestion=tip,
                is_today=on == window(by_pk[pk].time_zone)[0],
                owner_id=owner,
                sent=(pk, key, on.year) in sent,
                has_open_complaint=pk in complaining,
            )
        )
    return moments


def _only_among(found: list[_Row], among: QuerySet[Customer]) -> list[_Row]:
    """The rows of ``among``'s customers, in order, until MAX_MOMENTS: asked of a page of
    candidates at a time, so the viewer's boundary (an EXISTS over each customer's cases)
    is checked for about as many customers as the page shows, not for every candidate."""
    kept: list[_Row] = []
    for start in range(0, len(found), MAX_MOMENTS):
        page = found[start : start + MAX_MOMENTS]
        seen = set(among.filter(pk__in={row[2] for row in page}).values_list("pk", flat=True))
        kept.extend(row for row in page if row[2] in seen)
        if len(kept) >= MAX_MOMENTS:
            break
    return kept


def _order_milestones(at: dt.datetime, days: int) -> dict[int, int]:
    """Customers whose Nth order (N in ORDER_MILESTONES) falls in the window: customer id -> N."""
    start = at - dt.timedelta(days=1)
    recent_orders = Transaction.objects.filter(
        kind=TransactionKind.ORDER,
        occurred_at__gte=start,
        occurred_at__lte=at + dt.timedelta(days=days),
    )
    counts = (
        Transaction.objects.filter(
            kind=TransactionKind.ORDER, customer_id__in=recent_orders.values("customer_id")
        )
        .values("customer_id")
        .annotate(
            total=Count("id"),
            before=Count("id", filter=Q(occurred_at__lt=start)),
        )
    )
    reached = {
        row["customer_id"]: n
        for row in counts[: MAX_MOMENTS * 10]
        for n in ORDER_MILESTONES
        if row["before"] < n <= row["total"]
    }
    return reached
