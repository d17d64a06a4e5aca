"""What the customer does on their own case page, entering through the intake rules.

A reply is a contact like any other: it enters through the one door (accept_contact), which
stores it raw first, adds it to the case and queues the follow-on pipeline. "My problem is
solved" is recorded as an event, and so is a request for a new link (sent only to the email
address we already have).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from cherish.cases.actions import NewAttachment
from cherish.cases.events import record_case_event
from cherish.cases.models import Case, CaseEvent, Channel, Direction, Message
from cherish.cases.outgoing import customer_email, portal_url
from cherish.core.errors import CherishError
from cherish.core.i18n import language_of
from cherish.core.text import clean_text
from cherish.intake.actions import Contact, RawMaterial, accept_contact
from cherish.outbox.actions import queue_email

SOLVED_EVENT = "customer.confirmed_solved"
LINK_REQUESTED_EVENT = "customer.link_requested"


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
        raise PortalError(gettext("Write your message first."), code="empty_reply", field="text")
    if len(files) > settings.CHERISH_MAX_ATTACHMENTS:
        raise PortalError(
            gettext("Attach at most %(count)s files.")
            % {"count": settings.CHERISH_MAX_ATTACHMENTS},
            code="too_many_files",
            field="files",
        )
    limit = settings.CHERISH_MAX_ATTACHMENT_BYTES
    for item in files:
        if len(item.content) > limit:
            raise PortalError(
                gettext("“%(name)s” is larger than %(size)s MB.")
                % {"name": item.name, "size": limit // (1024 * 1024)},
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


@transaction.atomic
def send_new_customer_link(case: Case) -> bool:
    """Email a new link to the case page to the customer's address on file.

    The link is new rather than an extension of the live one (see renew_customer_link).
    Returns False (and does nothing) when the case has no email address to send to or the
    customer was erased; the caller tells the visitor the same either way. Writes
    customer.link_requested; the email is queued in this transaction.
    """
    case = Case.objects.select_related("customer").get(pk=case.pk)
    to = customer_email(case)
    if not to or case.customer.erased_at is not None:
        return False
    link = portal_url(case, fresh=True)
    org = settings.CHERISH_ORG_NAME
    with language_of(case.customer.language):
        subject = gettext("Your link to your case")
        text = gettext(
            "Hello,\n\nsomeone (we hope you) asked for a new link to your case with %(org)s."
            "\n\nSee your case, reply or add files: %(link)s\n\n"
            "The link works for %(days)s days after our latest message to you. If you did "
            "not ask for it, you can ignore this email."
        ) % {"org": org, "link": link, "days": settings.CHERISH_CUSTOMER_LINK_DAYS}
    queue_email(
        to=to,
        subject=subject,
        text=text,
        from_name=org,
        is_automatic=True,
        case_pk=case.pk,
        case_reference=case.reference,
    )
    record_case_event(case, LINK_REQUESTED_EVENT, by=None)
    return True
