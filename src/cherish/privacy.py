"""Export and erase one customer's personal data: the one eraser (issue #9.7).

Every app owns its own tables: ``<app>/privacy.py`` has ``forget_customer(customer, *,
erasure)`` (anonymise what that app keeps about the customer, JSON columns included) and
``export_customer(customer)`` (the same data, as plain data for the export). This module calls
them in a fixed order, from the top of the layers down, so that each app still finds the
rows it needs before a lower app changes them; all in one transaction. Files (attachments,
raw emails) are deleted only when that transaction commits: a rollback leaves every row and
every file as it was.

A new app that stores anything about a customer or their cases adds its module to APPS;
tests/privacy/test_erase_everything.py scans every text and JSON column of every model
after an erasure and fails on any trace of the customer.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from importlib import import_module
from types import ModuleType
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from cherish.cases.models import Case, Message
from cherish.cases.privacy import attachments_of
from cherish.core.erasure import Erasure
from cherish.core.errors import CherishError
from cherish.customers.actions import record_customer_event
from cherish.customers.models import ContactKind, Customer, CustomerEvent
from cherish.staff.models import Staff

# Highest layer first: see ARCHITECTURE.md for the order of the apps.
APPS = [
    "desk",
    "learning",
    "scorecard",
    "feedback",
    "outreach",
    "care",
    "triage",
    "intake",
    "cases",
    "customers",
    "outbox",
]


class PrivacyError(CherishError):
    code = "privacy_error"


def _modules() -> list[ModuleType]:
    return [import_module(f"cherish.{app}.privacy") for app in APPS]


def _erasure_of(customer: Customer) -> Erasure:
    case_rows = list(Case.objects.filter(customer=customer).values_list("pk", "reference"))
    case_ids = [pk for pk, _ in case_rows]
    points = list(customer.contact_points.values_list("kind", "value"))
    identifiers = [value for _, value in points if value]
    if customer.name:
        identifiers.append(customer.name)
    if customer.external_id:
        identifiers.append(customer.external_id)
    # Phones are written many ways: also the bare digits of each.
    for kind, value in points:
        if kind == ContactKind.PHONE:
            digits = re.sub(r"\D", "", value)
            identifiers += [digits, digits[-10:]] if len(digits) >= 10 else [digits]
    return Erasure(
        customer_id=customer.pk,
        case_ids=case_ids,
        message_ids=list(Message.objects.filter(case_id__in=case_ids).values_list("pk", flat=True)),
        case_references=[reference for _, reference in case_rows],
        identifiers=list(dict.fromkeys(i for i in identifiers if i)),
    )


@transaction.atomic
def erase_customer(customer: Customer, *, by: Staff | None, note: str = "") -> Customer:
    """Anonymise a customer on their request; keep every case row so statistics hold.

    Refuses (PrivacyError 'already_erased') a second time. Each app forgets its own part
    (APPS, top down); files are deleted after commit. Writes customer.erased with counts only.
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.erased_at is not None:
        raise PrivacyError("This customer was already erased.", code="already_erased")
    erasure = _erasure_of(customer)
    for module in _modules():
        module.forget_customer(customer, erasure=erasure)
    erasure.schedule_file_deletion()
    record_customer_event(
        customer,
        "customer.erased",
        by=by,
        cases=len(erasure.case_ids),
        messages=erasure.counts.get("messages", 0),
        files=erasure.counts.get("files", 0),
        outgoing_emails=erasure.counts.get("outgoing_emails", 0),
    )
    return customer


def export_customer(customer: Customer) -> dict[str, Any]:
    """Everything we hold about one customer, as plain data (the JSON of the export)."""
    data: dict[str, Any] = {}
    for module in _modules():
        data.update(module.export_customer(customer))
    ordered = {"customer": data.pop("customer")} if "customer" in data else {}
    return {**ordered, **data}


@transaction.atomic
def record_customer_exported(customer: Customer, *, by: Staff | None) -> CustomerEvent:
    """Log that someone exported this customer's data (who and when)."""
    return record_customer_event(customer, "customer.exported", by=by)


class _Pipe(io.RawIOBase):
    """A write-only stream the zip writer fills and the response drains chunk by chunk."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self._chunks.append(bytes(b))
        return len(b)

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def export_customer_zip(customer: Customer) -> Iterator[bytes]:
    """Stream a zip: customer.json plus every attachment, read and written in 64 KiB chunks."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        payload = json.dumps(export_customer(customer), cls=DjangoJSONEncoder, indent=2)
        archive.writestr("customer.json", payload)
        yield pipe.drain()
        for attachment in attachments_of(customer).iterator(100):
            name = f"attachments/{attachment.public_id}-{_safe_name(attachment.original_name)}"
            try:
                source = attachment.file.open("rb")
            except (FileNotFoundError, ValueError):
                continue
            with source, archive.open(name, mode="w", force_zip64=True) as target:
                while chunk := source.read(65536):
                    target.write(chunk)
                    yield pipe.drain()
            yield pipe.drain()
    yield pipe.drain()


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:100] or "file"
