"""The personal acknowledgement of a new case, written in the owner's name.

A complaint is not an inquiry: each kind has its own managers' template (outbox
MessageTemplate ``ack.<kind>``). The acknowledgement quotes the customer's own words, says
what happens next and by when, links to the customer's case page, and is stored on the case as
an automatic outbound message whose Message-ID lets the customer's reply thread.
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cherish.cases import actions as case_actions
from cherish.cases.events import record_case_event
from cherish.cases.models import Case, Channel, Direction, Kind, Message, Stage
from cherish.cases.outgoing import customer_email, portal_url, queue_message_email
from cherish.core.clock import now
from cherish.core.text import excerpt
from cherish.outbox.actions import queue_email, render_template
from cherish.staff.models import Staff

# Cases from these channels are answered by email; a contact staff logged from a call or a
# visit has already been acknowledged by a person.
ACK_CHANNELS = {Channel.EMAIL, Channel.WEB, Channel.API}
# A customer who opens case after case (or an auto-responder that slipped through the
# automatic-mail checks) gets at most this many acknowledgements a day.
MAX_ACKS_PER_DAY = 3
DUE_BUSINESS_DAYS: dict[str, int] = {Kind.COMPLAINT: 1, Kind.INQUIRY: 2}

# The built-in texts; the outbox migration seeds the same ones as editable templates.
# (key, description, subject, body)
DEFAULT_TEMPLATES = [
    (
        "ack.complaint",
        "Acknowledgement of a new complaint",
        "I have your message and I am looking after it personally",
        "Dear {customer_name},\n\n"
        "I am {owner_name}, and I will personally look after what you told us:\n\n"
        "    “{excerpt}”\n\n"
        "I am sorry you had this experience. {next_step}\n\n"
        "You can see where things stand, add anything you forgot, or send photos here:\n"
        "{case_link}\n\n"
        "Your reference is {reference}. Simply reply to this email to reach me.\n\n"
        "{owner_name}\n{org_name}",
    ),
    (
        "ack.inquiry",
        "Acknowledgement of a new question",
        "Your question",
        "Hello {customer_name},\n\n"
        "You asked: “{excerpt}”\n\n"
        "{next_step}\n\n"
        "Follow it here: {case_link} (reference {reference}).\n\n"
        "{owner_name}\n{org_name}",
    ),
    (
        "ack.compliment",
        "Thanks for a compliment",
        "Thank you for your kind words",
        "Dear {customer_name},\n\n"
        "Thank you so much for taking the time to tell us:\n\n"
        "    “{excerpt}”\n\n"
        "{next_step}\n\n"
        "{owner_name}\n{org_name}\n\n"
        "Reference {reference} · {case_link}",
    ),
    (
        "ack.suggestion",
        "Thanks for a suggestion",
        "Thank you for your idea",
        "Dear {customer_name},\n\n"
        "Thank you for your suggestion:\n\n"
        "    “{excerpt}”\n\n"
        "{next_step}\n\n"
        "You can follow it here: {case_link} (reference {reference}).\n\n"
        "{owner_name}\n{org_name}",
    ),
]
_DEFAULTS = {key: (subject, body) for key, _, subject, body in DEFAULT_TEMPLATES}


def add_business_days(day: dt.date, days: int) -> dt.date:
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def _format_day(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def named_staff(text: str) -> list[Staff]:
    """Active staff whose full or first name the customer wrote."""
    found = []
    lowered = text.lower()
    for staff in Staff.objects.filter(user__is_active=True).only("id", "display_name"):
        names = {staff.display_name.lower(), staff.first_name.lower()}
        if any(len(n) > 2 and re.search(rf"\b{re.escape(n)}\b", lowered) for n in names):
            found.append(staff)
    return found


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@transaction.atomic
def send_acknowledgement(message_id: int) -> Message | None:
    """Acknowledge the case opened by inbound message ``message_id``; None when not due.

    Skips messages that are not the first of a case, cases from staff-logged channels,
    customers without an email address, and any case already acknowledged (idempotent: the
    case row is locked and checked for an automatic outbound message). Writes message.added
    (and case.stage_changed received → acknowledged); queues the email in the outbox.
    """
    first = Message.objects.filter(pk=message_id, direction=Direction.INBOUND).first()
    if first is None:
        return None
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("customer", "owner")
        .get(pk=first.case_id)
    )
    is_first = not Message.objects.filter(
        case=case, direction=Direction.INBOUND, created_at__lt=first.created_at
    ).exists()
    if not is_first or case.channel not in ACK_CHANNELS:
        return None
    if Message.objects.filter(case=case, direction=Direction.OUTBOUND, is_automatic=True).exists():
        return None
    if not customer_email(case) or case.customer.erased_at is not None:
        return None
    recent = Message.objects.filter(
        case__customer=case.customer,
        direction=Direction.OUTBOUND,
        is_automatic=True,
        created_at__gte=now() - dt.timedelta(days=1),
    ).count()
    if recent >= MAX_ACKS_PER_DAY:
        return None

    kind = case.kind if case.kind in Kind.values else Kind.COMPLAINT
    today = timezone.localtime(now()).date()
    due = add_business_days(today, DUE_BUSINESS_DAYS.get(kind, 1))
    owner = case.owner
    owner_name = owner.display_name if owner else settings.CHERISH_ORG_NAME
    named = named_staff(first.body_text) if kind == Kind.COMPLIMENT else []
    next_step = {
        Kind.COMPLAINT: f"I will get back to you personally by {_format_day(due)} at the latest.",
        Kind.INQUIRY: f"I will answer you by {_format_day(due)}.",
        Kind.COMPLIMENT: (
            f"I will pass your words on to {_join([s.display_name for s in named])} personally."
            if named
            else "I will make sure the whole team hears your kind words."
        ),
        Kind.SUGGESTION: (
            "I will share it with the people who can act on it, and let you know what comes of it."
        ),
    }[Kind(kind)]
    values = {
        "customer_name": case.customer.name or "customer",
        "owner_name": owner_name,
        "org_name": settings.CHERISH_ORG_NAME,
        "reference": case.reference,
        "excerpt": excerpt(first.body_text, 200),
        "next_step": next_step,
        "due_date": _format_day(due),
        "case_link": portal_url(case),
    }
    subject, body = render_template(f"ack.{kind}", values, default=_DEFAULTS[f"ack.{kind}"])
    ack = case_actions.reply_to_customer(
        case, text=body, by=None, subject=subject, is_automatic=True
    )
    queue_message_email(ack)
    if named:
        _pass_compliment_on(case, first, named)
    if case.stage == Stage.RECEIVED:
        case_actions.change_stage(
            case, stage=Stage.ACKNOWLEDGED, by=None, reason="acknowledgement sent"
        )
    return ack


def _pass_compliment_on(case: Case, message: Message, staff: list[Staff]) -> None:
    for person in Staff.objects.filter(pk__in=[s.pk for s in staff]).select_related("user"):
        if person.user.email:
            queue_email(
                to=person.user.email,
                subject=f"A customer named you in a compliment ({case.reference})",
                text=f"{case.customer.name or 'A customer'} wrote:\n\n{message.body_text}",
                from_name=settings.CHERISH_ORG_NAME,
                is_automatic=True,
                case_pk=case.pk,
                case_reference=case.reference,
            )
    record_case_event(
        case,
        "compliment.passed_on",
        by=None,
        staff_ids=[s.pk for s in staff],
        staff_names=[s.display_name for s in staff],
    )
