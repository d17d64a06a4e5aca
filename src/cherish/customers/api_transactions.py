"""`/api/v1/transactions`: post one transaction or a batch, list a customer's transactions.

Mount with ``api.add_router("/", router)`` in cherish/api.py. Idempotent by external id:
posting the same transaction again updates it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from cherish.api_common import parse_id, problems
from cherish.core.errors import NotFound
from cherish.customers.access import visible_customers, workable_customers
from cherish.customers.actions import TransactionRow, upsert_transactions
from cherish.customers.models import Customer, Transaction, TransactionKind, default_currency
from cherish.customers.normalise import normalise_email, normalise_phone
from cherish.customers.queries import match_customers
from cherish.staff.principal import KeyScope, key_scope, staff_of

router = Router(tags=["transactions"])
MAX_BATCH = 1000


class TransactionIn(Schema):
    external_id: str = Field(min_length=1, max_length=100)
    kind: TransactionKind
    occurred_at: dt.datetime
    amount: Decimal = Field(default=Decimal("0"), max_digits=14, decimal_places=2)
    currency: str = Field(default="", max_length=3)
    status: str = Field(default="", max_length=32)
    description: str = Field(default="", max_length=300)
    metadata: dict[str, Any] = Field(default_factory=dict)
    customer_id: str = Field(default="", description="Cherish customer id.")
    customer_external_id: str = ""
    customer_email: str = ""
    customer_phone: str = ""


class TransactionBatchIn(Schema):
    transactions: list[TransactionIn] = Field(max_length=MAX_BATCH)


class RejectedOut(Schema):
    index: int
    external_id: str
    reason: str


class StoredOut(Schema):
    stored: int
    rejected: list[RejectedOut]


class TransactionOut(Schema):
    external_id: str
    customer_id: str
    kind: str
    status: str
    amount: Decimal
    currency: str
    occurred_at: dt.datetime
    description: str
    metadata: dict[str, Any]

    @staticmethod
    def resolve_customer_id(obj: Transaction) -> str:
        return str(obj.customer_id)


@router.post(
    "/transactions",
    response={200: StoredOut, **problems(400, 401, 422)},
    summary="Record one transaction or a batch (up to 1000)",
)
@key_scope(KeyScope.TRANSACTIONS_WRITE)
def post_transactions(
    request: HttpRequest, payload: TransactionBatchIn | TransactionIn
) -> StoredOut:
    """Each transaction names its customer by ``customer_id``, ``customer_external_id``,
    ``customer_email`` or ``customer_phone``. Rows whose customer is unknown are returned in
    ``rejected`` with their index; the others are stored (insert or update by external_id)."""
    items = payload.transactions if isinstance(payload, TransactionBatchIn) else [payload]
    keys = [
        {
            "external_id": item.customer_external_id.strip(),
            "email": normalise_email(item.customer_email) or "" if item.customer_email else "",
            "phone": normalise_phone(item.customer_phone) or "" if item.customer_phone else "",
        }
        for item in items
    ]
    matches = match_customers(
        external_ids=(k["external_id"] for k in keys),
        emails=(k["email"] for k in keys),
        phones=(k["phone"] for k in keys),
    )
    direct_ids = {parse_id(i.customer_id) for i in items if i.customer_id} - {None}
    live = dict(Customer.objects.filter(pk__in=direct_ids).values_list("pk", "merged_into_id"))
    rows: list[TransactionRow] = []
    indices: list[int] = []  # each row's index in the request
    rejected: list[RejectedOut] = []
    for index, (item, key) in enumerate(zip(items, keys, strict=True)):
        direct = parse_id(item.customer_id) if item.customer_id else None
        customer_id = (
            ((live[direct] or direct) if direct in live else None)
            if direct
            else matches.find(**key)
        )
        if customer_id is None:
            rejected.append(
                RejectedOut(index=index, external_id=item.external_id, reason="unknown customer")
            )
            continue
        indices.append(index)
        occurred = item.occurred_at
        if timezone.is_naive(occurred):
            occurred = timezone.make_aware(occurred)
        rows.append(
            TransactionRow(
                customer_id=customer_id,
                external_id=item.external_id.strip(),
                kind=str(item.kind),
                occurred_at=occurred,
                amount=item.amount,
                currency=(item.currency or default_currency()).upper(),
                status=item.status.lower(),
                description=item.description,
                metadata=item.metadata,
            )
        )
    staff = staff_of(request)
    if staff is not None:
        rows = _within_reach(rows, indices, rejected, workable_customers(staff))
    return StoredOut(stored=upsert_transactions(rows), rejected=rejected)


def _within_reach(
    rows: list[TransactionRow],
    indices: list[int],
    rejected: list[RejectedOut],
    workable: QuerySet[Customer],
) -> list[TransactionRow]:
    """A staff member's key records transactions only for customers whose record that person
    may change, and never moves one of another customer's (an external id names one
    transaction): those rows are rejected like an unknown customer, so nothing about
    customers outside the boundary is revealed."""
    ids = {row.customer_id for row in rows}
    existing = dict(
        Transaction.objects.filter(external_id__in=[row.external_id for row in rows]).values_list(
            "external_id", "customer_id"
        )
    )
    ids.update(existing.values())
    reachable = set(workable.filter(pk__in=ids).values_list("pk", flat=True))
    kept = []
    for row, index in zip(rows, indices, strict=True):
        owner = existing.get(row.external_id, row.customer_id)
        if row.customer_id in reachable and owner in reachable:
            kept.append(row)
        else:
            rejected.append(
                RejectedOut(
                    index=index,
                    external_id=row.external_id,
                    reason="unknown customer",
                )
            )
    rejected.sort(key=lambda row: row.index)
    return kept


class TransactionFilter(Schema):
    customer_id: str
    limit: int = Field(default=100, ge=1, le=500)


@router.get(
    "/transactions",
    response={200: list[TransactionOut], **problems(401, 404, 422)},
    summary="A customer's transactions, newest first",
)
@key_scope(KeyScope.TRANSACTIONS_READ)
def list_transactions(request: HttpRequest, filters: Query[TransactionFilter]) -> list[Transaction]:
    pk = parse_id(filters.customer_id)
    staff = staff_of(request)
    customers = Customer.objects.all() if staff is None else visible_customers(staff)
    if pk is None or not customers.filter(pk=pk).exists():
        raise NotFound("There is no such customer.")
    return list(
        Transaction.objects.filter(customer_id=pk).order_by("-occurred_at", "-id")[: filters.limit]
    )
