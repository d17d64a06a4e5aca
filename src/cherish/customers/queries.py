"""Reads for the customer pages, the importer and the API. No writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, DecimalField, Max, Min, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cherish.customers.models import (
    NON_VALUE_STATUSES,
    ContactKind,
    ContactPoint,
    Customer,
    Transaction,
)
from cherish.customers.normalise import normalise_email, normalise_phone

LIST_PAGE_SIZE = 50
CENT = Decimal("0.01")
MAX_SEARCH_CHARS = 100


COUNT_CAP = 1000


@dataclass
class CustomerPage:
    """One page of the customer list, with a capped total: the count reads at most
    ``COUNT_CAP`` + 1 customers (like the desk inbox's "1,000+"), not every customer
    checked against its cases (1.2 s at a million cases, bench/README.md "#14 h-slowA")."""

    customers: list[Customer]
    number: int
    has_next: bool
    total: int
    more: bool

    def __iter__(self) -> Any:
        return iter(self.customers)

    def __len__(self) -> int:
        return len(self.customers)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def num_pages(self) -> str:
        """The page count as shown: "20+" beyond the cap."""
        pages = max(1, -(-min(self.total, COUNT_CAP) // LIST_PAGE_SIZE))
        if self.more:
            return f"{max(pages, self.number)}+"
        return str(max(pages, self.number))


def search_customers(
    query: str, *, page: int = 1, among: QuerySet[Customer] | None = None
) -> CustomerPage:
    """Customers matching a name, email or phone fragment, newest first, 50 a page.

    Merged-away records are hidden: their survivor holds everything. ``among``: only these
    customers (the viewer's, customers.access.visible_customers). The contact points
    shown in the list are prefetched (two queries for any page size, plus a count capped
    at COUNT_CAP + 1 rows).
    """
    qs: QuerySet[Customer] = (among if among is not None else Customer.objects.all()).filter(
        merged_into__isnull=True
    )
    query = query.strip()[:MAX_SEARCH_CHARS]
    if query:
        condition = Q(name__icontains=query) | Q(external_id=query)
        email = normalise_email(query)
        phone = normalise_phone(query) if any(ch.isdigit() for ch in query) else None
        point_values = [v for v in (email, phone) if v]
        # Contact points as subqueries, not joins: each customer stays one row, so neither
        # the page nor its count needs DISTINCT over every column (a third of the search's
        # CPU on the bench data, bench/README.md "#9 desk guard").
        points = ContactPoint.objects.values("customer_id")
        if point_values:
            condition |= Q(pk__in=points.filter(value__in=point_values))
        if "@" in query:
            condition |= Q(
                pk__in=points.filter(kind=ContactKind.EMAIL, value__icontains=query.lower())
            )
        qs = qs.filter(condition)
    total = qs.order_by().values("pk")[: COUNT_CAP + 1].count()
    last = max(1, -(-total // LIST_PAGE_SIZE))
    if total <= COUNT_CAP:
        page = min(page, last)
    offset = (page - 1) * LIST_PAGE_SIZE
    rows = list(
        qs.order_by("-created_at", "-id").prefetch_related("contact_points")[
            offset : offset + LIST_PAGE_SIZE + 1
        ]
    )
    return CustomerPage(
        customers=rows[:LIST_PAGE_SIZE],
        number=page,
        has_next=len(rows) > LIST_PAGE_SIZE,
        total=min(total, COUNT_CAP),
        more=total > COUNT_CAP,
    )


@dataclass(frozen=True)
class CustomerValue:
    lifetime: Decimal
    last_12_months: Decimal
    currency: str
    transaction_count: int
    first_at: dt.datetime | None
    last_at: dt.datetime | None


def customer_value(customer: Customer, *, as_of: dt.datetime) -> CustomerValue:
    """Money the customer spent with us (cancelled/refunded excluded), in one aggregate query."""
    year_ago = as_of - dt.timedelta(days=365)
    counted = ~Q(status__in=NON_VALUE_STATUSES)
    zero = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))
    row = Transaction.objects.filter(customer=customer).aggregate(
        lifetime=Coalesce(Sum("amount", filter=counted), zero),
        recent=Coalesce(Sum("amount", filter=counted & Q(occurred_at__gte=year_ago)), zero),
        count=Count("id"),
        first_at=Min("occurred_at"),
        last_at=Max("occurred_at"),
        currency=Max("currency"),
    )
    return CustomerValue(
        lifetime=Decimal(row["lifetime"]).quantize(CENT),
        last_12_months=Decimal(row["recent"]).quantize(CENT),
        currency=row["currency"] or "",
        transaction_count=row["count"],
        first_at=row["first_at"],
        last_at=row["last_at"],
    )


def _sql_datetime(value: Any) -> dt.datetime | None:
    """A datetime from plain SQL: SQLite answers text (UTC), PostgreSQL an aware datetime."""
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = parse_datetime(str(value))
    if parsed is not None and timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def key_fact_figures(
    customer: Customer, *, besides_case_id: int, as_of: dt.datetime
) -> tuple[CustomerValue, int]:
    """``customer_value`` and how many other complaints of the customer are open (not
    ``besides_case_id``), in one plain statement: the case page's "before you answer" facts.
    The ORM's aggregate with filters cost more CPU to build than both reads take to run."""
    excluded = sorted(NON_VALUE_STATUSES)
    marks = ", ".join(["%s"] * len(excluded))
    counted = f"t.status NOT IN ({marks})"
    cases_table = customer.cases.model._meta.db_table
    sql = f"""
        SELECT
          SUM(CASE WHEN {counted} THEN t.amount ELSE 0 END),
          SUM(CASE WHEN {counted} AND t.occurred_at >= %s THEN t.amount ELSE 0 END),
          COUNT(t.id), MIN(t.occurred_at), MAX(t.occurred_at), MAX(t.currency),
          (SELECT COUNT(*) FROM {cases_table} c
            WHERE c.customer_id = %s AND c.is_open = %s AND c.kind = %s AND c.id <> %s)
        FROM {Transaction._meta.db_table} t
        WHERE t.customer_id = %s
    """
    year_ago = connection.ops.adapt_datetimefield_value(as_of - dt.timedelta(days=365))
    params = [
        *excluded,
        *excluded,
        year_ago,
        customer.pk,
        True,
        "complaint",
        besides_case_id,
        customer.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        lifetime, recent, count, first_at, last_at, currency, others = cursor.fetchone()
    value = CustomerValue(
        lifetime=_money(lifetime),
        last_12_months=_money(recent),
        currency=currency or "",
        transaction_count=int(count),
        first_at=_sql_datetime(first_at),
        last_at=_sql_datetime(last_at),
    )
    return value, int(others)


@dataclass
class CustomerMatches:
    by_external_id: dict[str, int]
    by_email: dict[str, int]
    by_phone: dict[str, int]

    def find(self, external_id: str = "", email: str = "", phone: str = "") -> int | None:
        if external_id and external_id in self.by_external_id:
            return self.by_external_id[external_id]
        if email and email in self.by_email:
            return self.by_email[email]
        if phone and phone in self.by_phone:
            return self.by_phone[phone]
        return None


def match_customers(
    *, external_ids: Iterable[str], emails: Iterable[str], phones: Iterable[str]
) -> CustomerMatches:
    """Resolve many customer keys at once (three queries for a whole batch).

    Keys of merged-away records resolve to the survivor. Emails and phones must already be
    normalised.
    """
    ext = [v for v in set(external_ids) if v]
    by_ext = (
        {
            key: survivor or pk
            for key, pk, survivor in Customer.objects.filter(external_id__in=ext).values_list(
                "external_id", "id", "merged_into_id"
            )
        }
        if ext
        else {}
    )
    found: dict[str, dict[str, int]] = {ContactKind.EMAIL: {}, ContactKind.PHONE: {}}
    for kind, values in ((ContactKind.EMAIL, emails), (ContactKind.PHONE, phones)):
        wanted = [v for v in set(values) if v]
        if not wanted:
            continue
        rows = ContactPoint.objects.filter(kind=kind, value__in=wanted).values_list(
            "value", "customer_id", "customer__merged_into_id"
        )
        found[kind] = {value: survivor or pk for value, pk, survivor in rows}
    return CustomerMatches(
        by_external_id=by_ext,  # type: ignore[arg-type]
        by_email=found[ContactKind.EMAIL],
        by_phone=found[ContactKind.PHONE],
    )


def transactions_for(customer: Customer, *, limit: int = 100) -> list[Transaction]:
    return list(Transaction.objects.filter(customer=customer).order_by("-occurred_at")[:limit])
