"""What the customer does on their own case page, entering through the intake rules.

A reply is a contact like any other: it enters through the one door (accept_contact), which
stores it raw first, adds it to the case and queues the follow-on pipeline. "My problem is
solved" is recorded as an event.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from cherish.cases.actions import NewAttachment
from cherish.cases.events import record_case_event
from cherish.cases.models import Case, CaseEvent, Channel, Direction, Message
from cherish.core.errors import CherishError
from cherish.core.text import clean_text
from cherish.intake.actions import Contact, RawMaterial, accept_contact

SOLVED_EVENT = "customer.confirmed_solved"


class PortalError(CherishError):
    code = "portal_error"


def reply_from_portal(
    case: Case, *, text: str, attachments: Iterable[NewAttachment] = ()
) -> Message:
    """The customer's reply from their case page, added to the case as an inbound message.

    Refuses an empty reply (code 'empty_reply') and too many or too large files. Then the
    reply enters through the one door: stored raw first (call outside any transaction),
    message.added (and case.reopened when the case was closed), the follow-on pipeline.
    """
    text = clean_text(text)[: settings.CHERISH_MAX_TEXT_CHARS]
    files = list(attachments)
    if not text:
        raise PortalError("Write your message first.", code="empty_reply", field="text")
    if len(files) > settings.CHERISH_MAX_ATTACHMENTS:
        raise PortalError(
            f"Attach at most {settings.CHERISH_MAX_ATTACHMENTS} files.",
            code="too_many_files",
            field="files",
        )
    limit = settings.CHERISH_MAX_ATTACHMENT_BYTES
    for item in files:
        if len(item.content) > limit:
            raise PortalError(
                f"“{item.name}” is larger than {limit // (1024 * 1024)} MB.",
                code="file_too_large",
                field="files",
            )
    raw = RawMaterial(
        payload={
            "source": "portal",
            "case": case.reference,
            "text": text,
            "files": [{"name": f.name, "size": len(f.content)} for f in files],
        }
    )
    contact = Contact(channel=Channel.WEB, text=text, case=case, attachments=files)
    return accept_contact(contact, raw=raw).message


@transaction.atomic
def confirm_solved_by_customer(case: Case) -> CaseEvent | None:
    """The customer says their problem is solved. Writes customer.confirmed_solved once per
    state of the conversation (again only after a newer message); None when already said.

    The case owner decides what follows (closing, a follow-up); nothing closes on its own.
    """
    case = Case.objects.select_for_update().get(pk=case.pk)
    last = CaseEvent.objects.filter(case=case, type=SOLVED_EVENT).order_by("-created_at").first()
    if last is not None:
        newer = Message.objects.filter(case=case, created_at__gt=last.created_at).exclude(
            direction=Direction.NOTE
        )
        if not newer.exists():
            return None
    return record_case_event(case, SOLVED_EVENT, by=None, stage=case.stage)
