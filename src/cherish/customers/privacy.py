"""Customers' part of export and erasure: the customer record and what hangs off it."""

from __future__ import annotations

from typing import Any

from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat

from cherish.core.clock import now
from cherish.core.erasure import ERASED, Erasure, scrub_json_field
from cherish.customers.models import (
    Customer,
    CustomerEvent,
    ImportantDate,
    LeaveReason,
    PossibleDuplicate,
    Transaction,
)


def forget_customer(customer: Customer, *, erasure: Erasure) -> None:
    """The record stays as a tombstone (erased_at, opted out: a new contact from the same
    address starts a new customer): name, notes, external id and preferences cleared; contact
    points, important dates and duplicate suggestions deleted; transactions keep amounts but
    lose descriptions and order numbers; the customer's history keeps event types only."""
    customer.contact_points.all().delete()
    ImportantDate.objects.filter(customer=customer).delete()
    PossibleDuplicate.objects.filter(Q(first=customer) | Q(second=customer)).delete()
    LeaveReason.objects.filter(customer=customer).exclude(note="").update(note=ERASED)
    # The shop's order numbers lead back to her in the shop: replaced, unique per row.
    Transaction.objects.filter(customer=customer).update(
        description="",
        metadata={},
        external_id=Concat(Value(f"{ERASED}-"), Cast("pk", CharField())),
    )
    scrub_json_field(CustomerEvent.objects.filter(customer=customer), "data")
    customer.name = ERASED
    customer.notes = ""
    customer.external_id = None
    customer.language = ""
    customer.language_source = ""
    customer.preferred_channel = ""
    customer.time_zone = ""
    customer.contact_hours_start = None
    customer.contact_hours_end = None
    customer.opted_out = True
    customer.erased_at = now()
    customer.save()


def export_customer(customer: Customer) -> dict[str, Any]:
    return {
        "customer": Customer.objects.filter(pk=customer.pk)
        .values(
            "id",
            "name",
            "external_id",
            "status",
            "language",
            "language_source",
            "preferred_channel",
            "time_zone",
            "notes",
            "customer_since",
            "opted_out",
            "contact_hours_start",
            "contact_hours_end",
            "created_at",
        )
        .get(),
        "contact_points": list(customer.contact_points.values("kind", "value", "created_at")),
        "important_dates": list(
            ImportantDate.objects.filter(customer=customer).values(
                "kind", "date", "note", "recurring"
            )
        ),
        "leave_reasons": list(customer.leave_reasons.values("reason", "note", "recorded_at")),
        "transactions": list(
            Transaction.objects.filter(customer=customer)
            .order_by("occurred_at")
            .values(
                "external_id",
                "kind",
                "status",
                "amount",
                "currency",
                "occurred_at",
                "description",
                "metadata",
            )
        ),
        "history": list(
            CustomerEvent.objects.filter(customer=customer).values("type", "created_at")
        ),
    }
