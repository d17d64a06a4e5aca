"""Cases' part of export and erasure: the customer's cases, messages, attachments, events."""

from __future__ import annotations

from typing import Any

from cherish.cases.models import Attachment, Case, CaseEvent, CustomerLink, Message
from cherish.core.erasure import Erasure, erase_free_text, scrub_json_field
from cherish.customers.models import Customer


def forget_customer(customer: Customer, *, erasure: Erasure) -> None:
    """Keep every case and message row (statistics hold) but none of their words: bodies,
    subjects and notes become "[erased]"; attachments are deleted (files after commit); event
    payloads keep only codes and ids; the customer's links to their case page stop working."""
    messages = Message.objects.filter(case_id__in=erasure.case_ids)
    for attachment in Attachment.objects.filter(message_id__in=erasure.message_ids).iterator(200):
        erasure.delete_file_on_commit(attachment.file.storage, attachment.file.name or "")
    erasure.count(
        "attachments", Attachment.objects.filter(message_id__in=erasure.message_ids).delete()[0]
    )
    erasure.count("messages", messages.count())
    erase_free_text(messages, blank={"body_html", "external_id"})
    messages.exclude(external_id="").update(external_id="")
    cases = Case.objects.filter(pk__in=erasure.case_ids)
    erase_free_text(cases, blank={"reply_to"})
    cases.exclude(reply_to="").update(reply_to="")
    cases.exclude(order_reference="").update(order_reference="")
    erasure.count("cases", len(erasure.case_ids))
    scrub_json_field(CaseEvent.objects.filter(case_id__in=erasure.case_ids), "data")
    scrub_json_field(CaseEvent.objects.filter(customer_id=customer.pk), "data")
    CustomerLink.objects.filter(case_id__in=erasure.case_ids).delete()


def export_customer(customer: Customer) -> dict[str, Any]:
    cases = []
    for case in Case.objects.filter(customer=customer).order_by("created_at").iterator(200):
        cases.append(
            {
                "reference": case.reference,
                "kind": case.kind,
                "stage": case.stage,
                "channel": case.channel,
                "subject": case.subject,
                "order_reference": case.order_reference,
                "created_at": case.created_at,
                "closed_at": case.closed_at,
                "messages": list(
                    Message.objects.filter(case=case)
                    .order_by("created_at")
                    .values("direction", "channel", "subject", "body_text", "created_at")
                ),
                "attachments": list(
                    Attachment.objects.filter(message__case=case).values(
                        "public_id", "original_name", "content_type", "size"
                    )
                ),
            }
        )
    return {"cases": cases}


def attachments_of(customer: Customer) -> Any:
    """The customer's attachments, for the export's files."""
    return Attachment.objects.filter(message__case__customer=customer).order_by("id")
