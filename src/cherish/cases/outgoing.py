"""What a customer receives from their case: the link to their own case page and the email
that carries each outbound message (queued in the outbox, in the caller's transaction).

Customer links are opaque (a random nonce and its HMAC; no case id inside), expire
CHERISH_CUSTOMER_LINK_DAYS after the last message we sent, and are exchanged for a session on
first use, so the token does not stay in the address bar or reach any Referer header.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hmac
import html
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext, gettext_lazy

from cherish.cases.models import Case, Channel, CustomerLink, Direction, Message, Stage
from cherish.core.clock import now
from cherish.core.i18n import language_of
from cherish.core.signing import read_token
from cherish.customers.models import ContactKind, ContactPoint
from cherish.outbox.actions import new_message_id, queue_email
from cherish.outbox.models import OutgoingEmail

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# The signed tokens of the first release ({"c": case id, "v": version}); they are no longer
# issued, and one that arrives gets the "ask for a new link" page (see read_customer_link).
LEGACY_TOKEN_PURPOSE = "case"
_LINK_SALT = "cherish.cases.customer-link"
# Outbound messages on these channels go out by email; a reply recorded on a phone or visit
# case is a note of what was said, not something to send.
EMAIL_CHANNELS = {Channel.EMAIL, Channel.WEB, Channel.API}
_URL = re.compile(r"https?://[^\s<>\"]+")

# What the customer sees of a stage, in their words: never our internal names ("Plus one").
CUSTOMER_STAGE_NAMES: dict[str, StrOrPromise] = {
    Stage.RECEIVED: gettext_lazy("We have your message"),
    Stage.ACKNOWLEDGED: gettext_lazy("We have your message"),
    Stage.LISTENING: gettext_lazy("We are looking into it"),
    Stage.RESPONDING: gettext_lazy("We are looking into it"),
    Stage.RECOVERING: gettext_lazy("We are putting it right"),
    Stage.PLUS_ONE: gettext_lazy("We have put it right"),
    Stage.FOLLOWING_UP: gettext_lazy("We have put it right"),
    Stage.WAITING_ON_CUSTOMER: gettext_lazy("We are waiting for your answer"),
    Stage.CLOSED: gettext_lazy("Closed"),
}


class LinkState(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"  # ours, but expired, revoked or from before links expired
    UNKNOWN = "unknown"  # forged, mistyped, or the customer was erased


@dataclass(frozen=True)
class LinkCheck:
    state: LinkState
    case: Case | None = None
    link: CustomerLink | None = None


def _mac(nonce: str) -> str:
    digest = salted_hmac(_LINK_SALT, nonce, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


def renew_customer_link(case: Case, *, fresh: bool = False) -> str:
    """The token for a link we are about to send the customer, valid for
    CHERISH_CUSTOMER_LINK_DAYS from now.

    The case's live link is extended, so every earlier email keeps working while we are in
    touch; once a link has expired it stays dead and a new one is made. ``fresh`` always
    makes a new link and extends none: for a link the customer asked for, which anyone who
    knows the case reference can ask for, so asking must not prolong a leaked link. Call it
    inside the transaction that sends the message.
    """
    at = now()
    until = at + dt.timedelta(days=settings.CHERISH_CUSTOMER_LINK_DAYS)
    link = None
    if not fresh:
        link = (
            CustomerLink.objects.filter(
                case=case, version=case.portal_version, revoked_at__isnull=True, expires_at__gt=at
            )
            .order_by("-created_at")
            .first()
        )
    if link is None:
        link = CustomerLink.objects.create(
            case=case,
            nonce=secrets.token_urlsafe(16),
            version=case.portal_version,
            created_at=at,
            expires_at=until,
        )
    elif link.expires_at < until:
        CustomerLink.objects.filter(pk=link.pk).update(expires_at=until)
    return f"{link.nonce}.{_mac(link.nonce)}"


def portal_url(case: Case, *, fresh: bool = False) -> str:
    """The customer's link to their case page, for a message we are sending now (renews it,
    or with ``fresh`` makes a new one; see renew_customer_link)."""
    token = renew_customer_link(case, fresh=fresh)
    return settings.SITE_URL + reverse("portal:open", args=[token])


def link_is_live(link: CustomerLink) -> bool:
    case = link.case
    return (
        link.revoked_at is None
        and link.version == case.portal_version
        and link.expires_at > now()
        and case.customer.erased_at is None
    )


def read_customer_link(token: str) -> LinkCheck:
    """What a customer link opens. Forged tokens and erased customers are UNKNOWN; a real link
    that expired or was revoked, and a signed link of the first release, are EXPIRED (the
    customer can ask for a new one, sent to the address we have)."""
    nonce, _, mac = token.partition(".")
    if mac and hmac.compare_digest(mac, _mac(nonce)):
        link = (
            CustomerLink.objects.select_related("case__customer", "case__owner")
            .filter(nonce=nonce)
            .first()
        )
        if link is None or link.case.customer.erased_at is not None:
            return LinkCheck(LinkState.UNKNOWN)
        state = LinkState.VALID if link_is_live(link) else LinkState.EXPIRED
        return LinkCheck(state, link.case, link)
    payload = read_token(LEGACY_TOKEN_PURPOSE, token)
    case_pk = payload.get("c") if payload else None
    if isinstance(case_pk, int):
        case = Case.objects.select_related("customer").filter(pk=case_pk).first()
        if case is not None and case.customer.erased_at is None:
            return LinkCheck(LinkState.EXPIRED, case)
    return LinkCheck(LinkState.UNKNOWN)


def case_for_token(token: str) -> Case | None:
    """The case a live customer link opens; None for anything else."""
    check = read_customer_link(token)
    return check.case if check.state is LinkState.VALID else None


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
    link = portal_url(case)
    text = message.body_text
    if sender and not message.is_automatic and sender.signature and sender.signature not in text:
        text += "\n\n" + sender.signature
    with language_of(case.customer.language):
        from_name = (
            gettext("%(name)s at %(org)s") % {"name": sender.display_name, "org": org}
            if sender
            else org
        )
        if link not in text:
            text += "\n\n—\n" + gettext(
                "See your case, reply or add files: %(link)s\nYour reference: %(reference)s"
            ) % {"link": link, "reference": case.reference}
        default_subject = (
            gettext("Re: %(subject)s") % {"subject": case.subject}
            if case.subject
            else gettext("Your case")
        )
    in_reply_to, references = _thread_ids(case)
    message_id = message.external_id or new_message_id()
    if not message.external_id:
        Message.objects.filter(pk=message.pk).update(external_id=message_id)
        message.external_id = message_id
    subject = message.subject or default_subject
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
