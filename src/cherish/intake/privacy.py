"""Intake's part of export and erasure: the raw material that arrived, and replayable answers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from cherish.core.erasure import ERASED, Erasure
from cherish.customers.models import Customer
from cherish.intake import journal
from cherish.intake.models import IdempotencyKey, RawContact


def forget_customer(customer: Customer, *, erasure: Erasure) -> None:
    """Raw requests and emails of the customer's cases lose their content (files on disk are
    deleted after commit); stored API answers that could be replayed and that name the
    customer or their cases are emptied."""
    raws = RawContact.objects.filter(
        Q(case_id__in=erasure.case_ids) | Q(sender__in=erasure.identifiers)
    )
    for raw in raws.exclude(raw_path="").iterator(200):
        erasure.delete_path_on_commit(settings.RAW_STORE_DIR / raw.raw_path)
    erasure.count("raw_contacts", raws.update(payload=None, raw_path="", sender="", error=""))
    # What they sent that waits in the intake journal is forgotten with the rest (once the
    # erasure has committed): it must not become a case of theirs afterwards.
    identifiers = list(erasure.identifiers)
    if identifiers and journal.path().exists():
        transaction.on_commit(lambda: journal.forget_senders(identifiers))
    # Stored answers a retry would replay (kept a day: purge_idempotency_keys).
    IdempotencyKey.objects.filter(erasure.mentioned_in("response")).update(
        response={"erased": ERASED}
    )


def export_customer(customer: Customer) -> dict[str, Any]:
    return {}
