"""Triage's part of export and erasure: what it wrote down about one customer's messages."""

from __future__ import annotations

from typing import Any

from cherish.cases.models import Case
from cherish.core.erasure import ERASED, Erasure, scrub, scrub_json_field
from cherish.customers.models import Customer
from cherish.triage.actions import forget_signal_text
from cherish.triage.models import Correction, TriageRecord


def forget_customer(customer: Customer, *, erasure: Erasure) -> None:
    """Triage records keep the words that drove each result; corrections keep the message
    text they label (training data): both lose the customer's words. The case's own triage,
    and signals are scrubbed of free text too (kept: kind, emotion, urgency, flags ...)."""
    records = TriageRecord.objects.filter(case_id__in=erasure.case_ids)
    erasure.count("triage_records", scrub_json_field(records, "result"))
    erasure.count(
        "corrections",
        Correction.objects.filter(case_id__in=erasure.case_ids).update(text=ERASED),
    )
    for case in Case.objects.filter(pk__in=erasure.case_ids, triage__isnull=False).only(
        "pk", "triage"
    ):
        triage = dict(case.triage or {})
        triage.pop("reasons", None)
        Case.objects.filter(pk=case.pk).update(triage=scrub(triage))
    forget_signal_text(erasure.case_ids)


def export_customer(customer: Customer) -> dict[str, Any]:
    return {
        "triage_records": list(
            TriageRecord.objects.filter(case__customer=customer)
            .order_by("created_at")
            .values("case__reference", "kind", "result", "created_at")
        )
    }
