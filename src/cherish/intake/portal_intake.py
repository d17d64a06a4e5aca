"""What the customer does on their own case page, entering through the intake rules.

A reply is raw material like any other contact: stored first, then added to the case, then
the follow-on steps (triage) are queued. "My problem is solved" is recorded as an event.
(Kept here rather than in intake/actions.py, which the foundation owns; the same rules.)
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from cherish.cases import actions as case_actions
from cherish.cases.actions import NewAttachment
from cherish.cases.events import record_case_event
from cherish.cases.models import Case, CaseEvent, Channel, Direction, Message
from cherish.core.errors import CherishError
from cherish.core.pipeline import queue_steps
from cherish.core.text import clean_text
from cherish.intake.actions import mark_raw_failed, store_raw
from cherish.intake.models import RawContact, RawStatus

SOLVED_EVENT = "customer.confirmed_solved"


class PortalError(CherishError):
    code = "portal_error"


def reply_from_portal(
    case: Case, *, text: str, attachments: Iterable[NewAttachment] = ()
) -> Message:
    """The customer's reply from their case page, added to the case as an inbound message.

    Refuses an empty reply (code 'empty_reply') and too many or too large files. Stores the
    raw reply first (outside any transaction), then writes message.added (and
    case.reopened when the case was closed) and queues the intake follow-on steps.
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
    raw = store_raw(
        "web",
        payload={
            "source": "portal",
            "case": case.reference,
            "text": text,
            "files": [{"name": f.name, "size": len(f.content)} for f in files],
        },
    )
    try:
        return _add_reply(case, raw, text, files)
    except Exception as error:
        mark_raw_failed(raw, f"{type(error).__name__}: {error}")
        raise


@transaction.atomic
def _add_reply(case: Case, raw: RawContact, text: str, files: list[NewAttachment]) -> Message:
    message = case_actions.add_inbound_message(
        case, text=text, channel=Channel.WEB, attachments=files
    )
    RawContact.objects.filter(pk=raw.pk).update(
        status=RawStatus.PROCESSED, case=case, message=message, error=""
    )
    if settings.CHERISH_INTAKE_FOLLOW_ON:
        queue_steps(
            settings.CHERISH_INTAKE_FOLLOW_ON, [message.pk, False], key=f"follow-on:{message.pk}"
        )
    return message


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
