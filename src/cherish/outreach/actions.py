"""Every change the outreach app makes: follow-ups, personal notes, outreach and win-back cases.

Outgoing email goes through the outbox (cherish.outbox.actions.queue_email), written in the
caller's transaction and delivered after commit.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from cherish.cases import actions as case_actions
from cherish.cases.events import record_case_event
from cherish.cases.models import Case, Channel, Kind
from cherish.core.clock import now
from cherish.core.i18n import language_of
from cherish.core.signing import make_token, read_token
from cherish.customers.actions import record_customer_event
from cherish.customers.models import (
    NON_VALUE_STATUSES,
    ContactKind,
    ContactPoint,
    Customer,
    LeaveReason,
    RelationshipStatus,
    Transaction,
)
from cherish.intake.actions import Contact, accept_contact
from cherish.outbox.actions import queue_email
from cherish.outreach.errors import OutreachError
from cherish.outreach.models import (
    ChurnScore,
    FollowUp,
    FollowUpAnswer,
    FollowUpRule,
    FollowUpStatus,
    MomentSent,
    UsualContact,
)
from cherish.staff.models import Staff

# Transactions older than this when a rule first sees them are not asked about any more.
SCHEDULE_LOOKBACK = dt.timedelta(days=7)
# A follow-up that could not go out for this long (quiet hours, outages) is dropped: asking
# "did your delivery arrive?" three weeks later reads like we were not paying attention.
STALE_AFTER = dt.timedelta(days=14)
SEND_BATCH = 500
ANSWER_TOKEN_PURPOSE = "follow-up-answer"
ANSWER_TOKEN_MAX_AGE = 60 * 24 * 3600


def customer_zone(customer: Customer) -> ZoneInfo:
    try:
        return ZoneInfo(customer.time_zone or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def email_of(customer: Customer) -> str:
    point = (
        ContactPoint.objects.filter(customer=customer, kind=ContactKind.EMAIL)
        .order_by("id")
        .values_list("value", flat=True)
        .first()
    )
    return point or ""


def can_contact(customer: Customer) -> bool:
    return not (
        customer.opted_out
        or customer.erased_at is not None
        or customer.merged_into_id is not None
        or customer.status == RelationshipStatus.LEFT
    )


def usual_contact(customer: Customer, *, exclude_case: Case | None = None) -> Staff | None:
    """The staff member who owns the customer's most recent case: their usual contact."""
    qs = Case.objects.filter(customer=customer, owner__isnull=False)
    if exclude_case is not None:
        qs = qs.exclude(pk=exclude_case.pk)
    case = qs.select_related("owner").order_by("-created_at", "-id").first()
    return case.owner if case else None


USUAL_CONTACT_BATCH = 2000


def refresh_usual_contacts() -> dict[str, int]:
    """Store every customer's usual contact (``usual_contact``'s answer) for the moments page,
    with the month and day they became a customer (``UsualContact.since_md``).

    One pass over the cases that have an owner, newest first per customer; only the rows that
    differ from what is stored are written, in short transactions of USUAL_CONTACT_BATCH rows,
    so a second run with nothing changed writes nothing. Safe to run twice at once: each
    write is an upsert or a delete of rows that were already gone. Returns the counts of rows
    added or changed and removed.
    """
    latest = (
        Case.objects.filter(owner__isnull=False)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("customer_id")],
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank=1)
        .values_list("customer_id", "owner_id")
    )
    owners: dict[int, int] = dict(latest.iterator(chunk_size=10_000))
    # Each customer's month and day of becoming one, copied beside the usual contact for the
    # moments page's index (UsualContact.since_md): one more plain read of the customers.
    since = dict(
        Customer.objects.filter(since_md__isnull=False)
        .values_list("pk", "since_md")
        .iterator(chunk_size=10_000)
    )
    wanted = {
        customer_id: (staff_id, since.get(customer_id)) for customer_id, staff_id in owners.items()
    }
    stored: dict[int, tuple[int, int | None]] = {
        customer_id: (staff_id, since_md)
        for customer_id, staff_id, since_md in UsualContact.objects.values_list(
            "customer_id", "staff_id", "since_md"
        )
    }
    changed = [
        UsualContact(customer_id=customer_id, staff_id=staff_id, since_md=since_md)
        for customer_id, (staff_id, since_md) in wanted.items()
        if stored.get(customer_id) != (staff_id, since_md)
    ]
    gone = [customer_id for customer_id in stored if customer_id not in wanted]
    for start in range(0, len(changed), USUAL_CONTACT_BATCH):
        with transaction.atomic():
            UsualContact.objects.bulk_create(
                changed[start : start + USUAL_CONTACT_BATCH],
                update_conflicts=True,
                unique_fields=["customer"],
                update_fields=["staff", "since_md"],
            )
    for start in range(0, len(gone), USUAL_CONTACT_BATCH):
        UsualContact.objects.filter(
            customer_id__in=gone[start : start + USUAL_CONTACT_BATCH]
        ).delete()
    return {"changed": len(changed), "removed": len(gone)}


# ---------------------------------------------------------------- follow-ups


def schedule_follow_ups(*, at: dt.datetime | None = None) -> int:
    """Create one scheduled follow-up per active rule and recent matching transaction.

    Only transactions of the last week (plus the rule's delay) are considered, so a newly
    added rule does not ask about last year's orders. Idempotent: a (rule, transaction)
    pair is scheduled at most once. Returns the number of follow-ups created.
    """
    at = at or now()
    created = 0
    for rule in FollowUpRule.objects.filter(is_active=True):
        delay = dt.timedelta(days=rule.delay_days)
        candidates = (
            Transaction.objects.filter(
                kind=rule.transaction_kind,
                occurred_at__gte=at - delay - SCHEDULE_LOOKBACK,
                occurred_at__lte=at,
            )
            .exclude(status__in=NON_VALUE_STATUSES)
            .exclude(follow_ups__rule=rule)
            .values_list("pk", "customer_id", "occurred_at")
        )
        batch = [
            FollowUp(
                rule=rule,
                customer_id=customer_id,
                transaction_id=pk,
                scheduled_for=occurred_at + delay,
            )
            for pk, customer_id, occurred_at in candidates.iterator(chunk_size=2000)
        ]
        for start in range(0, len(batch), 1000):
            FollowUp.objects.bulk_create(batch[start : start + 1000], ignore_conflicts=True)
        created += len(batch)
    return created


def in_quiet_hours(local: dt.time, start: dt.time, end: dt.time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # wraps past midnight


def end_of_quiet_hours(at: dt.datetime, rule: FollowUpRule, zone: ZoneInfo) -> dt.datetime:
    local = at.astimezone(zone)
    end = local.replace(
        hour=rule.quiet_hours_end.hour,
        minute=rule.quiet_hours_end.minute,
        second=0,
        microsecond=0,
    )
    if end <= local:
        end += dt.timedelta(days=1)
    return end.astimezone(dt.UTC)


def answer_url(follow_up: FollowUp, answer: str) -> str:
    token = make_token(ANSWER_TOKEN_PURPOSE, {"f": follow_up.pk, "a": answer})
    return settings.SITE_URL + reverse("outreach:answer", args=[token])


def read_answer_token(token: str) -> tuple[int, str] | None:
    data = read_token(ANSWER_TOKEN_PURPOSE, token, max_age=ANSWER_TOKEN_MAX_AGE)
    if not data or data.get("a") not in FollowUpAnswer.values:
        return None
    pk = data.get("f")
    return (pk, str(data["a"])) if isinstance(pk, int) else None


def _skip(follow_up: FollowUp, reason: str) -> FollowUp:
    follow_up.status = FollowUpStatus.SKIPPED
    follow_up.skip_reason = reason
    follow_up.save(update_fields=["status", "skip_reason"])
    return follow_up


@transaction.atomic
def send_follow_up(follow_up: FollowUp, *, at: dt.datetime | None = None) -> FollowUp:
    """Ask the follow-up question now, unless a rule says not to.

    Skips (status skipped, with the reason) when the customer opted out, left, was erased or
    merged, has no email address, has an open complaint (about this transaction or any
    other: we answer that first), or has reached the rule's frequency cap. During the
    customer's quiet hours it is moved to the end of them instead. Queues one email with
    three one-click answer links. Writes follow_up.sent on the customer.
    """
    at = at or now()
    follow_up = (
        FollowUp.objects.select_for_update()
        .select_related("rule", "customer", "transaction")
        .get(pk=follow_up.pk)
    )
    if follow_up.status != FollowUpStatus.SCHEDULED:
        return follow_up
    rule, customer = follow_up.rule, follow_up.customer
    if not can_contact(customer):
        return _skip(follow_up, "opted_out" if customer.opted_out else "not_contactable")
    if at - follow_up.scheduled_for > STALE_AFTER:
        return _skip(follow_up, "too_late")
    open_complaints = Case.objects.filter(customer=customer, is_open=True, kind=Kind.COMPLAINT)
    if open_complaints.filter(order_reference=follow_up.transaction.external_id).exists():
        return _skip(follow_up, "open_complaint_same_transaction")
    if open_complaints.exists():
        return _skip(follow_up, "open_complaint")
    zone = customer_zone(customer)
    if in_quiet_hours(at.astimezone(zone).time(), rule.quiet_hours_start, rule.quiet_hours_end):
        follow_up.scheduled_for = end_of_quiet_hours(at, rule, zone)
        follow_up.save(update_fields=["scheduled_for"])
        return follow_up
    recent = FollowUp.objects.filter(
        customer=customer,
        status=FollowUpStatus.SENT,
        sent_at__gt=at - dt.timedelta(days=rule.frequency_days),
    ).count()
    if recent >= rule.frequency_cap:
        return _skip(follow_up, "frequency_cap")
    address = email_of(customer)
    if not address:
        return _skip(follow_up, "no_email")
    with language_of(customer.language) as language:
        links = "\n".join(
            f"  {label}: {answer_url(follow_up, value)}" for value, label in FollowUpAnswer.choices
        )
        greeting = (
            gettext("Dear %(name)s,") % {"name": customer.name}
            if customer.name
            else gettext("Hello,")
        )
        kind = follow_up.transaction.get_kind_display()
        # English writes "your order"; German keeps the noun's capital ("Ihre Bestellung").
        what = follow_up.transaction.description or (kind.lower() if language == "en" else kind)
        about = gettext("About your %(what)s (%(reference)s): %(question)s") % {
            "what": what,
            "reference": follow_up.transaction.external_id,
            "question": rule.question,
        }
        text = (
            f"{greeting}\n\n{about}\n\n"
            + gettext("One click is enough:")
            + f"\n{links}\n\n"
            + gettext("If anything was not right, we will call or write to you personally.")
            + f"\n\n{settings.CHERISH_ORG_NAME}"
        )
    email = queue_email(
        to=address,
        subject=rule.question,
        text=text,
        headers={"Auto-Submitted": "auto-generated"},
        is_automatic=True,
    )
    follow_up.status = FollowUpStatus.SENT
    follow_up.sent_at = at
    follow_up.sent_to = address
    follow_up.email_pk = email.pk
    follow_up.save(update_fields=["status", "sent_at", "sent_to", "email_pk"])
    record_customer_event(
        customer,
        "follow_up.sent",
        by=None,
        follow_up_id=follow_up.pk,
        rule_id=rule.pk,
        transaction=follow_up.transaction.external_id,
    )
    return follow_up


def send_due_follow_ups(*, at: dt.datetime | None = None) -> dict[str, int]:
    """Send (or skip, or postpone) every follow-up that is due. Safe to run twice."""
    at = at or now()
    counts: dict[str, int] = {}
    due = list(
        FollowUp.objects.filter(status=FollowUpStatus.SCHEDULED, scheduled_for__lte=at)
        .order_by("scheduled_for", "id")
        .values_list("pk", flat=True)[:SEND_BATCH]
    )
    for pk in due:
        result = send_follow_up(FollowUp(pk=pk), at=at)
        key = result.skip_reason if result.status == FollowUpStatus.SKIPPED else result.status
        counts[key] = counts.get(key, 0) + 1
    return counts


@transaction.atomic
def answer_follow_up(follow_up: FollowUp, *, answer: str, comment: str = "") -> FollowUp:
    """Record the customer's answer. "Not quite" or "no" opens exactly one complaint case.

    The case comes through the one door, accept_contact (channel web, the transaction as order
    reference), so it is owned, triaged and acknowledged like any other complaint. Answering
    again changes the recorded answer but never opens a second case. Writes
    follow_up.answered on the customer (and on the case when one is opened).
    """
    if answer not in FollowUpAnswer.values:
        raise OutreachError(
            gettext("Choose one of the answers."), code="invalid_answer", field="answer"
        )
    follow_up = (
        FollowUp.objects.select_for_update()
        .select_related("customer", "transaction", "rule")
        .get(pk=follow_up.pk)
    )
    if follow_up.sent_at is None:
        raise OutreachError(gettext("This question was never sent."), code="not_sent")
    at = now()
    comment = comment.strip()[:5000]
    follow_up.answer = answer
    follow_up.answered_at = at
    if comment:
        follow_up.answer_comment = comment
    fields = ["answer", "answered_at", "answer_comment"]
    if answer != FollowUpAnswer.YES and follow_up.case_id is None:
        customer = follow_up.customer
        with translation.override(settings.LANGUAGE_CODE):  # words for staff, not the page's
            label = str(FollowUpAnswer(answer).label).lower()
        text = (
            f"Asked “{follow_up.rule.question}” about {follow_up.transaction.external_id}, "
            f"the customer answered “{label}”."
        )
        if comment:
            text += f"\n\n{comment}"
        result = accept_contact(
            Contact(
                channel=Channel.WEB,
                text=text,
                name=customer.name,
                email=follow_up.sent_to,
                external_id=customer.external_id or "",
                subject=f"Follow-up: {label} about {follow_up.transaction.external_id}"[:200],
                order_reference=follow_up.transaction.external_id,
                kind=Kind.COMPLAINT,
            )
        )
        follow_up.case = result.case
        fields.append("case")
        record_case_event(
            result.case, "follow_up.answered", by=None, follow_up_id=follow_up.pk, answer=answer
        )
    follow_up.save(update_fields=fields)
    record_customer_event(
        follow_up.customer,
        "follow_up.answered",
        by=None,
        follow_up_id=follow_up.pk,
        answer=answer,
        case=follow_up.case.reference if follow_up.case else "",
    )
    return follow_up


# ---------------------------------------------------------------- moments


@transaction.atomic
def send_moment_note(
    customer: Customer,
    *,
    moment_key: str,
    year: int,
    subject: str,
    text: str,
    by: Staff,
) -> MomentSent:
    """Send a personal note for a moment in the staff member's own name.

    Refuses when the customer may not be contacted ('opted_out'), has no email address
    ('no_email'), or someone already sent a note for this moment this year ('already_sent').
    Writes moment.sent on the customer; queues the email.
    """
    if not can_contact(customer):
        raise OutreachError(
            gettext("This customer asked not to be contacted proactively."), code="opted_out"
        )
    subject, text = subject.strip(), text.strip()
    if not subject or not text:
        raise OutreachError(gettext("Write a subject and a note."), code="empty_note", field="text")
    address = email_of(customer)
    if not address:
        raise OutreachError(gettext("This customer has no email address."), code="no_email")
    try:
        with transaction.atomic():
            sent = MomentSent.objects.create(
                customer=customer,
                moment_key=moment_key,
                year=year,
                sent_by=by,
                sent_at=now(),
                subject=subject[:200],
            )
    except IntegrityError:
        raise OutreachError(
            gettext("A note for this moment was already sent this year."), code="already_sent"
        ) from None
    signature = by.signature.strip() or by.display_name
    email = queue_email(
        to=address, subject=subject[:200], text=f"{text}\n\n{signature}", from_name=by.display_name
    )
    sent.email_pk = email.pk
    sent.save(update_fields=["email_pk"])
    record_customer_event(customer, "moment.sent", by=by, moment=moment_key, year=year)
    return sent


# ---------------------------------------------------------------- outreach cases


@transaction.atomic
def open_outreach_case(
    customer: Customer, *, by: Staff, subject: str, note: str, kind_of_outreach: str
) -> Case:
    """Open a phone case to reach out to the customer, owned by their usual contact.

    The customer is known, so the case is opened directly on them (the intake path would
    match by contact points and could create a stranger for a customer without any).
    Refuses for customers who may not be contacted ('opted_out'). Writes the events of
    open_case and reassign_case, plus outreach.started on the case and the customer.
    """
    if customer.opted_out or customer.erased_at is not None or customer.merged_into_id:
        raise OutreachError(
            gettext("This customer asked not to be contacted proactively."), code="opted_out"
        )
    case, _ = case_actions.open_case(
        customer,
        text=note,
        channel=Channel.PHONE,
        kind=Kind.INQUIRY,
        subject=subject,
        by=by,
    )
    owner = usual_contact(customer, exclude_case=case) or by
    if case.owner_id != owner.pk:
        case_actions.reassign_case(
            case,
            to=owner,
            note=f"You are {customer}'s usual contact. {note}",
            by=by,
        )
    record_case_event(case, "outreach.started", by=by, kind=kind_of_outreach)
    record_customer_event(
        customer, "outreach.started", by=by, kind=kind_of_outreach, case=case.reference
    )
    return case


@transaction.atomic
def reach_out_from_radar(customer: Customer, *, by: Staff) -> Case:
    """One click on the radar: an outreach case carrying the churn reasons.

    Clicking again while that case is open returns the same case.
    """
    score = ChurnScore.objects.select_for_update().filter(customer=customer).first()
    if score and score.outreach_case_id:
        existing = Case.objects.filter(pk=score.outreach_case_id, is_open=True).first()
        if existing is not None:
            return existing
    reasons = "; ".join(score.reasons) if score and score.reasons else "no recent signals"
    case = open_outreach_case(
        customer,
        by=by,
        subject="Reach out: at risk of leaving quietly",
        note=f"The churn radar flagged this customer: {reasons}. Call them and listen.",
        kind_of_outreach="radar",
    )
    if score is not None:
        score.outreach_case = case
        score.save(update_fields=["outreach_case"])
    return case


@transaction.atomic
def start_win_back(customer: Customer, *, by: Staff) -> Case:
    """Open a win-back outreach case for a customer who left.

    Refuses when the customer has not left ('not_left') or left for a reason that rules out
    asking them back, such as death or moving away ('no_win_back'). Clicking again (a double
    click, a second colleague) while a win-back case of theirs is open returns that case.
    """
    # One at a time per customer (PostgreSQL; SQLite's writes already queue), so two clicks
    # cannot both find no open win-back and open two.
    list(Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk"))
    open_already = (
        Case.objects.filter(
            customer=customer,
            is_open=True,
            events__type="outreach.started",
            events__data__kind="win_back",
        )
        .order_by("-id")
        .first()
    )
    if open_already is not None:
        return open_already
    if customer.status != RelationshipStatus.LEFT:
        raise OutreachError(gettext("Only customers who left can be won back."), code="not_left")
    reason = LeaveReason.objects.filter(customer=customer).first()
    if reason is None or not reason.allows_win_back:
        raise OutreachError(
            gettext("This customer left for a reason that rules out a win-back call."),
            code="no_win_back",
        )
    return open_outreach_case(
        customer,
        by=by,
        subject="Win back: customer who left",
        note=(
            f"They left: {reason.get_reason_display().lower()}."
            + (f" {reason.note}" if reason.note else "")
            + " Ask what would make them come back."
        ),
        kind_of_outreach="win_back",
    )
