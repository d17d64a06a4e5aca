"""The personal acknowledgement of a new case: care's "respond" step, for every channel.

A complaint is not an inquiry: each kind has its own managers' template (outbox
MessageTemplate ``ack.<kind>``). The acknowledgement quotes the customer's own words (whole
sentences), says what happens next and by when — the day the team's first-response target
falls due in its business hours, holidays included — links to the customer's case page, and
is stored on the case as an automatic outbound message whose Message-ID lets the customer's
reply thread.

Split out of care/actions.py (which is long enough) but the same role: actions, one
transaction each, events written through the case spine's actions.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from cherish.care.asked_for import asked_for, reflection
from cherish.care.business_hours import add_business_minutes
from cherish.care.queries import schedule_for_team, target_for
from cherish.cases import actions as case_actions
from cherish.cases.models import Case, CaseEvent, Channel, Direction, Kind, Message, Stage
from cherish.cases.outgoing import customer_email, portal_url, queue_message_email
from cherish.core import i18n
from cherish.core.clock import now
from cherish.core.text import quote_excerpt
from cherish.outbox.actions import queue_email, render_template
from cherish.staff.models import Staff

# Cases from these channels are answered by email; a contact staff logged from a call or a
# visit has already been acknowledged by a person.
ACK_CHANNELS = {Channel.EMAIL, Channel.WEB, Channel.API}
# A customer who opens case after case (or an auto-responder that slipped through the
# automatic-mail checks) gets at most this many acknowledgements a day.
MAX_ACKS_PER_DAY = 3
# Without a configured target for the case's kind and severity: one or two working days.
FALLBACK_FIRST_RESPONSE_MINUTES: dict[str, int] = {Kind.COMPLAINT: 8 * 60, Kind.INQUIRY: 16 * 60}
QUOTE_CHARS = 200
# Written by triage for each staff member a compliment names; the acknowledgement passes
# the words on to them without writing a second event for the same compliment.
CREDITED_EVENT = "compliment.credited"

# The built-in texts, in English and, through the catalogues, in every language we offer; the
# outbox migration seeds the English ones as editable templates, and managers may add a
# template per language in the admin. (key, description, subject, body)
DEFAULT_TEMPLATES = [
    (
        "ack.complaint",
        "Acknowledgement of a new complaint",
        gettext_noop("I have your message and I am looking after it personally"),
        gettext_noop(
            "Dear {customer_name},\n\n"
            "I am {owner_name}, and I will personally look after what you told us:\n\n"
            "    “{excerpt}”\n\n"
            "I am sorry you had this experience. {next_step}\n\n"
            "You can see where things stand, add anything you forgot, or send photos here:\n"
            "{case_link}\n\n"
            "Your reference is {reference}. Simply reply to this email to reach me.\n\n"
            "{owner_name}\n{org_name}"
        ),
    ),
    (
        "ack.inquiry",
        "Acknowledgement of a new question",
        gettext_noop("Your question"),
        gettext_noop(
            "Hello {customer_name},\n\n"
            "You asked: “{excerpt}”\n\n"
            "{next_step}\n\n"
            "Follow it here: {case_link} (reference {reference}).\n\n"
            "{owner_name}\n{org_name}"
        ),
    ),
    (
        "ack.compliment",
        "Thanks for a compliment",
        gettext_noop("Thank you for your kind words"),
        gettext_noop(
            "Dear {customer_name},\n\n"
            "Thank you so much for taking the time to tell us:\n\n"
            "    “{excerpt}”\n\n"
            "{next_step}\n\n"
            "{owner_name}\n{org_name}\n\n"
            "Reference {reference} · {case_link}"
        ),
    ),
    (
        "ack.suggestion",
        "Thanks for a suggestion",
        gettext_noop("Thank you for your idea"),
        gettext_noop(
            "Dear {customer_name},\n\n"
            "Thank you for your suggestion:\n\n"
            "    “{excerpt}”\n\n"
            "{next_step}\n\n"
            "You can follow it here: {case_link} (reference {reference}).\n\n"
            "{owner_name}\n{org_name}"
        ),
    ),
]
_DEFAULTS = {key: (subject, body) for key, _, subject, body in DEFAULT_TEMPLATES}


def promised_reply_by(case: Case) -> dt.date | None:
    """The day, in the team's time zone, by which the owner promises a personal answer.

    The case's first-response target (kind and severity) counted in the team's business
    hours and holidays from the moment the case opened. None when the team has no working
    time at all (the acknowledgement then names no day).
    """
    first_response, _ = target_for(case)
    minutes = first_response or FALLBACK_FIRST_RESPONSE_MINUTES.get(case.kind, 8 * 60)
    schedule = schedule_for_team(case.team_id)
    try:
        due = add_business_minutes(case.created_at, minutes, schedule)
    except ValueError:
        return None
    return due.astimezone(schedule.tz).date()


def format_day(day: dt.date) -> str:
    """The day as the active language writes it: "Friday 6 September", "Freitag, 6. September"."""
    return i18n.format_day(day)


def _join(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return gettext("%(names)s and %(last)s") % {"names": ", ".join(names[:-1]), "last": names[-1]}


def _credited_staff(case: Case) -> list[Staff]:
    ids = [
        data.get("staff_id")
        for data in CaseEvent.objects.filter(case=case, type=CREDITED_EVENT).values_list(
            "data", flat=True
        )
    ]
    wanted = [int(pk) for pk in ids if isinstance(pk, int)]
    found = {
        s.pk: s
        for s in Staff.objects.filter(pk__in=wanted, user__is_active=True).select_related("user")
    }
    return [found[pk] for pk in dict.fromkeys(wanted) if pk in found]


def _next_step(kind: str, due: dt.date | None, named: list[Staff]) -> str:
    if kind == Kind.COMPLAINT:
        if due is None:
            return gettext("I will get back to you personally as soon as I can.")
        return gettext("I will get back to you personally by %(day)s at the latest.") % {
            "day": format_day(due)
        }
    if kind == Kind.INQUIRY:
        if due is None:
            return gettext("I will answer you soon.")
        return gettext("I will answer you by %(day)s.") % {"day": format_day(due)}
    if kind == Kind.COMPLIMENT:
        if named:
            return gettext("I will pass your words on to %(names)s personally.") % {
                "names": _join([s.display_name for s in named])
            }
        return gettext("I will make sure the whole team hears your kind words.")
    return gettext(
        "I will share it with the people who can act on it, and let you know what comes of it."
    )


def _with_reflection(case: Case, first: Message, kind: str, next_step: str) -> str:
    """The next step, preceded by what the customer asked for and, with care, their threat
    to leave (triage has run before the acknowledgement, so the case's flags are known)."""
    if kind not in (Kind.COMPLAINT, Kind.INQUIRY):
        return next_step
    leaving = "leaving" in ((case.signals or {}).get("flags") or {})
    heard = reflection(asked_for(first.body_text), leaving=leaving and kind == Kind.COMPLAINT)
    return f"{heard} {next_step}" if heard else next_step


@transaction.atomic
def send_acknowledgement(message_id: int) -> Message | None:
    """Acknowledge the case opened by inbound message ``message_id``; None when not due.

    Skips messages that are not the first of a case, cases from staff-logged channels,
    customers without an email address or erased, more than MAX_ACKS_PER_DAY a day, and any
    case already acknowledged (idempotent: the case row is locked and checked for an
    automatic outbound message). A compliment is passed on by email to the staff triage
    credited (compliment.credited), without a further event. Written in the customer's
    language (Customer.language; managers' templates per language). Writes message.added (and
    case.stage_changed received → acknowledged); queues the emails in the outbox.
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
    due = promised_reply_by(case) if kind in (Kind.COMPLAINT, Kind.INQUIRY) else None
    named = _credited_staff(case) if kind == Kind.COMPLIMENT else []
    with i18n.language_of(case.customer.language) as language:
        subject, body = _acknowledgement_text(case, first, kind, due, named, language)
    ack = case_actions.reply_to_customer(
        case, text=body, by=None, subject=subject, is_automatic=True
    )
    queue_message_email(ack)
    for person in named:
        if person.user.email:
            queue_email(
                to=person.user.email,
                subject=f"A customer named you in a compliment ({case.reference})",
                text=f"{case.customer.name or 'A customer'} wrote:\n\n{first.body_text}",
                from_name=settings.CHERISH_ORG_NAME,
                is_automatic=True,
                case_pk=case.pk,
                case_reference=case.reference,
            )
    if case.stage == Stage.RECEIVED:
        case_actions.change_stage(
            case, stage=Stage.ACKNOWLEDGED, by=None, reason="acknowledgement sent"
        )
    return ack


def _acknowledgement_text(
    case: Case, first: Message, kind: str, due: dt.date | None, named: list[Staff], language: str
) -> tuple[str, str]:
    """(subject, body) in the active language ``language``."""
    owner = case.owner
    values = {
        "customer_name": case.customer.name or gettext("customer"),
        "owner_name": owner.display_name if owner else settings.CHERISH_ORG_NAME,
        "org_name": settings.CHERISH_ORG_NAME,
        "reference": case.reference,
        "excerpt": quote_excerpt(first.body_text, QUOTE_CHARS),
        "next_step": _with_reflection(case, first, kind, _next_step(kind, due, named)),
        "due_date": format_day(due) if due else "",
        "case_link": portal_url(case),
    }
    return render_template(
        f"ack.{kind}", values, default=_DEFAULTS[f"ack.{kind}"], language=language
    )
