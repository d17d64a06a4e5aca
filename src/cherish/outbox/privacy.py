"""Outbox's part of export and erasure: mail we sent the customer and webhook payloads."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from cherish.core.erasure import ERASED, Erasure, scrub_json_field
from cherish.outbox.models import OutgoingEmail, WebhookDelivery


def forget_customer(customer: Any, *, erasure: Erasure) -> None:
    """Mail to the customer or about their cases keeps its status and times, nothing else;
    webhook payloads that name them or their cases keep only codes and ids."""
    emails = OutgoingEmail.objects.filter(
        Q(case_pk__in=erasure.case_ids) | Q(to_address__in=erasure.identifiers)
    )
    erasure.count(
        "outgoing_emails",
        emails.update(
            to_address=ERASED,
            from_name="",
            subject=ERASED,
            text_body=ERASED,
            html_body="",
            headers={},
            in_reply_to="",
            references="",
            last_error="",
        ),
    )
    scrub_json_field(WebhookDelivery.objects.filter(erasure.mentioned_in("payload")), "payload")


def export_customer(customer: Any) -> dict[str, Any]:
    return {}
