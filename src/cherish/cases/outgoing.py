"""What a customer receives from their case: the signed link to their own case page and the
email that carries each outbound message (queued in the outbox, in the caller's transaction).
"""

from __future__ import annotations

import html
import re

from django.conf import settings
from django.urls import reverse

from cherish.cases.models import Case, Channel, Direction, Message
from cherish.core.signing import make_token, read_token
from cherish.customers.models import ContactKind, ContactPoint
from cherish.outbox.actions import new_message_id, queue_email
from cherish.outbox.models import OutgoingEmail

TOKEN_PURPOSE = "case"
# Outbound messages on these channels go out by email; a reply recorded on a phone or visit
# case is a note of what was said, not something to send.
EMAIL_CHANNELS = {Channel.EMAIL, Channel.WEB, Channel.API}
_URL = re.compile(r"https?://[^\s<>\"]+")


def portal_token(case: Case) -> str:
    """Signed, unguessable; bumping ``case.portal_version`` revokes every earlier token."""
    return make_token(TOKEN_PURPOSE, {"c": case.pk, "v": case.portal_version})


def portal_url(case: Case) -> str:
    return settings.SITE_URL + reverse("portal:case", args=[portal_token(case)])


def case_for_token(token: str) -> Case | None:
    """The case a customer link points to; None for a forged, foreign-purpose or revoked one."""
    payload = read_token(TOKEN_PURPOSE, token)
    case_pk = payload.get("c") if payload else None
    if not isinstance(case_pk, int) or payload is None:
        return None
    case = Case.objects.select_related("customer", "owner").filter(pk=case_pk).first()
    if case is None or payload.get("v") != case.portal_version:
        return None
    if case.customer.erased_at is not None:
        return None
    return case


def customer_email(case: Case) -> str:
    """Where the case's emails go: the address the contact came from.

    Only a case opened without one (an API contact by external id, a contact staff logged
    for a customer they picked) falls back to the customer's first email address.
    """
    if case.reply_to:
        return case.reply_to
    point = (
        ContactPoint.objects.filter(customer_id=case.customer_id, kind=ContactKind.EMAIL)
        .order_by("id")
        .first()
    )
    return point.value if point else ""


def text_to_html(text: str) -> str:
    """A plain, safe HTML rendering of a text body: paragraphs, line breaks, links."""
    paragraphs = []
    for block in re.split(r"\n{2,}", text.strip()):
        escaped = html.escape(block)
        linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        paragraphs.append("<p>" + linked.replace("\n", "<br>\n") + "</p>")
    return "<!doctype html><html><body>\n" + "\n".join(paragraphs) + "\n</body></html>"


def _thread_ids(case: Case) -> tuple[str, list[str]]:
    """(In-Reply-To, References): the customer's latest email and the thread so far."""
    ids = list(
        Message.objects.filter(case=case)
        .exclude(direction=Direction.NOTE)
        .exclude(external_id="")
        .order_by("created_at", "id")
        .values_list("direction", "external_id")
    )
    inbound = [external for direction, external in ids if direction == Direction.INBOUND]
    references = [external for _, external in ids]
    if len(references) > 12:
        references = references[:1] + references[-11:]
    return (inbound[-1] if inbound else ""), references


def queue_message_email(message: Message) -> OutgoingEmail | None:
    """Queue the email for an outbound case message; returns None when it is not emailed.

    Call inside the transaction that stored the message. Idempotent per message. Sets the
    message's ``external_id`` to the email's Message-ID, so the customer's reply threads.
    The email is signed and sent in the author's name (the owner's for automatic messages),
    and always carries the link to the customer's own case page.
    """
    if message.direction != Direction.OUTBOUND or message.channel not in EMAIL_CHANNELS:
        return None
    existing = OutgoingEmail.objects.filter(case_message_pk=message.pk).first()
    if existing is not None:
        return existing
    case = Case.objects.select_related("customer", "owner").get(pk=message.case_id)
    to = customer_email(case)
    if not to or case.customer.erased_at is not None:
        return None
    sender = message.author or case.owner
    org = settings.CHERISH_ORG_NAME
    from_name = f"{sender.display_name} at {org}" if sender else org
    link = portal_url(case)
    text = message.body_text
    if sender and not message.is_automatic and sender.signature and sender.signature not in text:
        text += "\n\n" + sender.signature
    if link not in text:
        text += (
            f"\n\n—\nSee your case, reply or add files: {link}\nYour reference: {case.reference}"
        )
    in_reply_to, references = _thread_ids(case)
    message_id = message.external_id or new_message_id()
    if not message.external_id:
        Message.objects.filter(pk=message.pk).update(external_id=message_id)
        message.external_id = message_id
    subject = message.subject or (f"Re: {case.subject}" if case.subject else "Your case")
    return queue_email(
        to=to,
        subject=subject,
        text=text,
        html=text_to_html(text),
        from_name=from_name,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=[r for r in references if r != message_id],
        is_automatic=message.is_automatic,
        case_pk=case.pk,
        case_reference=case.reference,
        case_message_pk=message.pk,
    )
