"""Outreach's part of export and erasure: follow-ups and personal notes sent to the customer."""

from __future__ import annotations

from typing import Any

from cherish.core.erasure import ERASED, Erasure
from cherish.customers.models import Customer
from cherish.outreach.models import FollowUp, MomentSent


def forget_customer(customer: Customer, *, erasure: Erasure) -> None:
    """Where follow-ups went and what the customer wrote back go; answers (codes) stay."""
    follow_ups = FollowUp.objects.filter(customer=customer)
    follow_ups.exclude(sent_to="").update(sent_to="")
    erasure.count(
        "follow_up_comments", follow_ups.exclude(answer_comment="").update(answer_comment=ERASED)
    )
    MomentSent.objects.filter(customer=customer).exclude(subject="").update(subject="")


def export_customer(customer: Customer) -> dict[str, Any]:
    return {
        "follow_ups": list(
            FollowUp.objects.filter(customer=customer).values(
                "transaction__external_id", "sent_at", "answer", "answer_comment", "answered_at"
            )
        ),
        "personal_notes_sent": list(
            MomentSent.objects.filter(customer=customer).values(
                "moment_key", "year", "sent_at", "subject"
            )
        ),
    }
