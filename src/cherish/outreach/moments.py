"""Moments that matter: birthdays, anniversaries of becoming a customer, order milestones and
dates staff added, found for "today and this week" in each customer's own time zone.

Reads only. Sending a note for a moment is outreach.actions.send_moment_note.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from functools import reduce
from operator import or_
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

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


def _day_filter(field_name: str, pairs: list[tuple[int, int]]) -> Q:
    return reduce(
        or_, (Q(**{f"{field_name}__month": m, f"{field_name}__day": d}) for m, d in pairs)
    )


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
    """Moments from today to ``days`` ahead, each in the customer's own time zone.

    With ``owner_id`` only customers whose usual contact (owner of their latest case) is that
    person; with ``among`` only those customers (the viewer's, customers.access). A fixed
    number of queries whatever the number of moments.
    """
    org_today = at.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
    # Time zones differ by at most a day from the organisation's, so one extra day each side.
    pairs = _month_days(org_today - dt.timedelta(days=1), days + 2)
    latest_owner = Subquery(
        Case.objects.filter(customer=OuterRef("pk"), owner__isnull=False)
        .order_by("-created_at", "-id")
        .values("owner_id")[:1]
    )
    customers = (
        Customer.objects.filter(
            merged_into__isnull=True,
            erased_at__isnull=True,
            opted_out=False,
        )
        .exclude(status=RelationshipStatus.LEFT)
        .annotate(owner_id=latest_owner)
    )
    if owner_id is not None:
        customers = customers.filter(owner_id=owner_id)
    if among is not None:
        customers = customers.filter(pk__in=among.values("pk"))

    found: list[Moment] = []

    def window(customer: Customer) -> tuple[dt.date, dt.date]:
        today = at.astimezone(customer_zone(customer)).date()
        return today, today + dt.timedelta(days=days - 1)

    def add(customer: Customer, key: str, kind: str, title: str, on: dt.date, tip: str) -> None:
        today, _ = window(customer)
        found.append(
            Moment(
                customer=customer,
                key=key,
                kind=kind,
                title=title,
                on=on,
                suggestion=tip,
                is_today=on == today,
                owner_id=customer.owner_id,  # type: ignore[attr-defined]
            )
        )

    dates = ImportantDate.objects.filter(
        _day_filter("date", pairs)
        | Q(
            recurring=False,
            date__gte=org_today - dt.timedelta(days=1),
            date__lte=org_today + dt.timedelta(days=days + 1),
        ),
        customer__in=customers,
    ).select_related("customer")
    by_pk = {c.pk: c for c in customers.filter(pk__in=dates.values("customer_id"))}
    for item in dates[:MAX_MOMENTS]:
        customer = by_pk.get(item.customer_id)
        if customer is None:
            continue
        today, last = window(customer)
        on = next_occurrence(item.date, today) if item.recurring else item.date
        if today <= on <= last:
            title = item.get_kind_display() + (f": {item.note}" if item.note else "")
            add(
                customer,
                f"date:{item.pk}",
                item.kind,
                title,
                on,
                moment_suggestion(item.kind, note=item.note),
            )

    for customer in customers.filter(_day_filter("customer_since", pairs))[:MAX_MOMENTS]:
        assert customer.customer_since is not None
        today, last = window(customer)
        on = next_occurrence(customer.customer_since, today)
        years = on.year - customer.customer_since.year
        if years >= 1 and today <= on <= last:
            add(
                customer,
                "tenure",
                "tenure",
                f"{years} year{'s' if years != 1 else ''} as a customer",
                on,
                moment_suggestion("tenure", years=years),
            )

    # Order milestones reached this week: the Nth order falls inside the window.
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
    if reached:
        for customer in customers.filter(pk__in=list(reached)):
            n = reached[customer.pk]
            today, _ = window(customer)
            add(
                customer,
                f"order:{n}",
                "milestone",
                f"{n}th order",
                today,
                moment_suggestion("milestone"),
            )

    if found:
        ids = {m.customer.pk for m in found}
        sent = set(
            MomentSent.objects.filter(
                customer_id__in=ids, year__in={m.year for m in found}
            ).values_list("customer_id", "moment_key", "year")
        )
        complaining = set(
            Case.objects.filter(customer_id__in=ids, is_open=True, kind=Kind.COMPLAINT).values_list(
                "customer_id", flat=True
            )
        )
        found = [
            Moment(
                **{
                    **m.__dict__,
                    "sent": (m.customer.pk, m.key, m.year) in sent,
                    "has_open_complaint": m.customer.pk in complaining,
                }
            )
            for m in found
        ]
    found.sort(key=lambda m: (m.on, m.customer.name))
    return found[:MAX_MOMENTS]
