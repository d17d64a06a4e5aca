"""Care's part of export and erasure: what was recorded while putting the customer's case right."""

from __future__ import annotations

from typing import Any

from cherish.care.models import (
    CareState,
    Commitment,
    ExternalEscalation,
    Gesture,
)
from cherish.core.erasure import Erasure, erase_free_text
from cherish.customers.models import Customer


def forget_customer(customer: Customer, *, erasure: Erasure) -> None:
    """Fair outcome, resolution, notes, promises, gesture descriptions and escalation notes
    lose their free text; amounts, dates and outcomes stay for the figures. (Staff hear of
    the customer's cases through the desk's notifications, which keep no words of their own.)"""
    for model in (CareState, Commitment, Gesture, ExternalEscalation):
        erasure.count(
            f"care_{model._meta.model_name}",
            erase_free_text(model._default_manager.filter(case_id__in=erasure.case_ids)),
        )


def export_customer(customer: Customer) -> dict[str, Any]:
    cases = {"case__customer": customer}
    return {
        "care": list(
            CareState.objects.filter(**cases).values(
                "case__reference", "fair_outcome", "resolution", "plus_one", "follow_up_note"
            )
        ),
        "commitments": list(
            Commitment.objects.filter(**cases).values(
                "case__reference", "what", "how", "due_at", "status"
            )
        ),
        "gestures": list(
            Gesture.objects.filter(**cases).values(
                "case__reference", "value", "currency", "description", "status", "created_at"
            )
        ),
    }
