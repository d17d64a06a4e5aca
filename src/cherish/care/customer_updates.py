"""Keeping the customer informed without being asked: short status updates by email.

While a case is open the customer hears from us at an interval set per kind and severity
(care.StatusUpdateInterval, else settings.CHERISH_STATUS_UPDATE_HOURS), counted from our
last word to them (the acknowledgement, a reply, an earlier update), and whenever one of our
commitments to them is made, kept or broken. Each update is in the customer's language and
in their words ("We are looking into it"), never our internal stage names, and goes through
the outbox. Never twice for one interval or one commitment change (unique rows in
care.StatusUpdate), never after the case closed, never to an erased customer, and not while
we are waiting for the customer's own answer.

Same role as care/actions.py (split out, like acknowledgement.py): one transaction per
update, events through the case spine.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext, gettext_lazy

from cherish.care.models import Commitment, StatusUpdate, StatusUpdateInterval
from cherish.cases.events import record_case_event
from cherish.cases.models import Case, CaseEvent, Direction, Message, Stage
from cherish.cases.outgoing import CUSTOMER_STAGE_NAMES, customer_email, portal_url
from cherish.core import i18n
from cherish.core.clock import now
from cherish.outbox.actions import queue_email
from cherish.staff.models import Staff

BATCH = 500
UPDATE_EVENT = "customer.status_update_sent"
COMMITMENT_EVENTS = ("commitment.made", "commitment.kept", "commitment.broken")
# Commitment changes older than this are history, not news.
COMMITMENT_LOOKBACK = dt.timedelta(days=2)

# What is happening, in one sentence from the customer's side of the counter.
STAGE_SENTENCES = {
    Stage.RECEIVED: gettext_lazy("We have your message and will look into it shortly."),
    Stage.ACKNOWLEDGED: gettext_lazy("%(owner)s has your message and is looking after it."),
    Stage.LISTENING: gettext_lazy("%(owner)s is finding out exactly what happened."),
    Stage.RESPONDING: gettext_lazy("%(owner)s is preparing an answer for you."),
    Stage.RECOVERING: gettext_lazy("%(owner)s is putting things right for you."),
    Stage.PLUS_ONE: gettext_lazy("We have put things right."),
    Stage.FOLLOWING_UP: gettext_lazy(
        "We have put things right, and %(owner)s will check with you that all is well."
    ),
}


def interval_for(case: Case, overrides: dict[tuple[str, str], int] | None = None) -> int:
    """Hours between unasked updates for this case's kind and severity; 0 means none."""
    if overrides is None:
        overrides = intervals()
    if (case.kind, case.severity) in overrides:
        return overrides[(case.kind, case.severity)]
    defaults: dict[str, dict[str, int]] = settings.CHERISH_STATUS_UPDATE_HOURS
    return int(defaults.get(case.kind, {}).get(case.severity, 0))


def intervals() -> dict[tuple[str, str], int]:
    return {(row.kind, row.severity): row.every_hours for row in StatusUpdateInterval.objects.all()}


def _zone(case: Case) -> ZoneInfo:
    try:
        return ZoneInfo(case.customer.time_zone or settings.TIME_ZONE)
    except (KeyError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def _when(moment: dt.datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{i18n.format_day(local.date())}, {local:%H:%M}"


def _owner_name(case: Case) -> str:
    return case.owner.first_name if case.owner else gettext("Our care team")


def _promises(case: Case, zone: ZoneInfo) -> list[str]:
    open_ones = Commitment.objects.filter(case=case, status="open").order_by("due_at", "id")
    return [
        gettext("%(what)s, by %(when)s") % {"what": c.what, "when": _when(c.due_at, zone)}
        for c in open_ones
    ]


def _greeting(case: Case) -> str:
    if case.customer.name:
        return gettext("Dear %(name)s,") % {"name": case.customer.name}
    return gettext("Hello,")


def _signature(case: Case) -> str:
    owner = case.owner.display_name if case.owner else ""
    return "\n".join(part for part in (owner, settings.CHERISH_ORG_NAME) if part)


def status_update_text(case: Case) -> tuple[str, str]:
    """(subject, text) of an interval update, in the active language."""
    zone = _zone(case)
    owner = _owner_name(case)
    stage = str(CUSTOMER_STAGE_NAMES.get(case.stage, ""))
    sentence = str(STAGE_SENTENCES.get(Stage(case.stage), "")) % {"owner": owner}
    lines = [
        _greeting(case),
        "",
        gettext("A short update on your case %(reference)s: %(stage)s.")
        % {"reference": case.reference, "stage": stage},
        "",
        sentence,
    ]
    promises = _promises(case, zone)
    if promises:
        lines += ["", gettext("What we have promised you:"), *[f"  - {p}" for p in promises]]
    lines += [
        "",
        gettext(
            "You do not need to do anything. If there is something you would like to add, "
            "simply reply to this email."
        ),
        "",
        gettext("See your case: %(link)s") % {"link": portal_url(case)},
        "",
        _signature(case),
    ]
    subject = gettext("An update on your case %(reference)s") % {"reference": case.reference}
    return subject, "\n".join(lines)


def commitment_update_text(case: Case, events: list[CaseEvent]) -> tuple[str, str]:
    """(subject, text) telling the customer what changed in our promises, active language."""
    zone = _zone(case)
    owner = _owner_name(case)
    ids = [e.data.get("commitment_id") for e in events]
    commitments = {c.pk: c for c in Commitment.objects.filter(pk__in=ids)}
    news = []
    for event in events:
        commitment = commitments.get(event.data.get("commitment_id"))
        if commitment is None:
            continue
        values = {"owner": owner, "what": commitment.what, "when": _when(commitment.due_at, zone)}
        if event.type == "commitment.made":
            text = gettext("%(owner)s has promised you: %(what)s, by %(when)s.") % values
        elif event.type == "commitment.kept":
            text = gettext("Done: %(what)s.") % values
        else:
            text = (
                gettext(
                    "We could not keep our promise: %(what)s. We are sorry. %(owner)s will "
                    "get in touch with you about what happens now."
                )
                % values
            )
        news.append(f"  - {text}")
    lines = [
        _greeting(case),
        "",
        gettext("News about what we promised you on case %(reference)s:")
        % {"reference": case.reference},
        "",
        *news,
        "",
        gettext("See your case: %(link)s") % {"link": portal_url(case)},
        "",
        _signature(case),
    ]
    subject = gettext("An update on your case %(reference)s") % {"reference": case.reference}
    return subject, "\n".join(lines)


def handoff_message(case: Case, *, to: Staff, why: str = "") -> str:
    """What the customer reads when their case is handed on (care.warm_handoff), in their
    language: who looks after them now, and that they need not explain it all again."""
    with i18n.language_of(case.customer.language):
        first = (case.customer.name or "").split(" ")[0]
        greeting = gettext("Hello %(name)s,") % {"name": first} if first else gettext("Hello,")
        values = {"name": to.display_name, "reference": case.reference, "why": why.strip()}
        values["why"] = values["why"].rstrip(".")
        now_with = (
            gettext("%(name)s is now looking after your case %(reference)s — %(why)s.") % values
            if values["why"]
            else gettext("%(name)s is now looking after your case %(reference)s.") % values
        )
        told = gettext(
            "%(first_name)s has everything you have told us so far, so you will not need to "
            "explain it again."
        ) % {"first_name": to.first_name}
    return "\n".join([greeting, "", now_with, told])


def _can_write_to(case: Case) -> str:
    """The customer's address when an update may go out now, else ""."""
    if not case.is_open or case.customer.erased_at is not None:
        return ""
    return customer_email(case)


def _queue(case: Case, to: str, subject: str, text: str) -> int:
    email = queue_email(
        to=to,
        subject=subject,
        text=text,
        from_name=settings.CHERISH_ORG_NAME,
        headers={"Auto-Submitted": "auto-generated"},
        is_automatic=True,
        case_pk=case.pk,
        case_reference=case.reference,
    )
    return int(email.pk)


def last_word_to_customer(case: Case) -> dt.datetime:
    """When we last wrote to the customer on this case (a message or an update), or when the
    case opened."""
    last_message = Message.objects.filter(case=case, direction=Direction.OUTBOUND).aggregate(
        at=Max("created_at")
    )["at"]
    last_update = StatusUpdate.objects.filter(case=case).aggregate(at=Max("sent_at"))["at"]
    return max(at for at in (case.created_at, last_message, last_update) if at is not None)


def send_status_update(case_id: int, *, at: dt.datetime | None = None) -> StatusUpdate | None:
    """Send the interval update on this case when one is due now; None when not.

    Due when the case is open and not waiting on the customer, its kind and severity have an
    interval, and that long has passed since our last word to the customer. At most one per
    interval (unique case and period). Writes customer.status_update_sent; queues the email.
    """
    at = at or now()
    try:
        with transaction.atomic():
            case = (
                Case.objects.select_for_update(of=("self",))
                .select_related("customer", "owner")
                .filter(pk=case_id)
                .first()
            )
            if case is None or case.stage == Stage.WAITING_ON_CUSTOMER:
                return None
            hours = interval_for(case)
            to = _can_write_to(case) if hours else ""
            if not to:
                return None
            every = dt.timedelta(hours=hours)
            if at - last_word_to_customer(case) < every:
                return None
            period = int((at - case.created_at) / every)
            with i18n.language_of(case.customer.language):
                subject, text = status_update_text(case)
            update = StatusUpdate.objects.create(case=case, period=period, sent_at=at)
            update.email_pk = _queue(case, to, subject, text)
            update.save(update_fields=["email_pk"])
            record_case_event(case, UPDATE_EVENT, by=None, reason="interval", period=period)
            return update
    except IntegrityError:  # another worker sent this period's update a moment ago
        return None


def send_commitment_update(case_id: int, *, at: dt.datetime | None = None) -> StatusUpdate | None:
    """Tell the customer about commitments made, kept or broken since we last told them, in
    one email; None when there is nothing new or nobody to tell. Each change is told once
    (one StatusUpdate per event). Writes customer.status_update_sent; queues the email."""
    at = at or now()
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("customer", "owner")
            .filter(pk=case_id)
            .first()
        )
        if case is None:
            return None
        told = StatusUpdate.objects.filter(case=case, event__isnull=False).values("event_id")
        events = list(
            CaseEvent.objects.filter(
                case=case, type__in=COMMITMENT_EVENTS, created_at__gte=at - COMMITMENT_LOOKBACK
            )
            .exclude(pk__in=told)
            .order_by("created_at", "id")
        )
        to = _can_write_to(case) if events else ""
        if not to:
            return None
        with i18n.language_of(case.customer.language):
            subject, text = commitment_update_text(case, events)
        email_pk = _queue(case, to, subject, text)
        first = None
        for event in events:
            update = StatusUpdate.objects.create(
                case=case, event=event, email_pk=email_pk, sent_at=at
            )
            first = first or update
        record_case_event(
            case, UPDATE_EVENT, by=None, reason="commitment", events=[e.pk for e in events]
        )
        return first


def send_due_updates(*, at: dt.datetime | None = None) -> dict[str, int]:
    """Every update due now: commitment news first, then interval updates. Idempotent; run
    by `cherish customer_updates` (every minute under `cherish serve`)."""
    at = at or now()
    counts = {"commitment_updates": 0, "interval_updates": 0}
    told = StatusUpdate.objects.filter(event__isnull=False).values("event_id")
    news_cases = (
        CaseEvent.objects.filter(
            type__in=COMMITMENT_EVENTS, created_at__gte=at - COMMITMENT_LOOKBACK
        )
        .exclude(pk__in=told)
        .values_list("case_id", flat=True)
        .distinct()
    )
    for case_id in list(news_cases):
        if send_commitment_update(case_id, at=at) is not None:
            counts["commitment_updates"] += 1
    overrides = intervals()
    shortest = min(
        [h for h in overrides.values() if h]
        + [
            h
            for by_severity in settings.CHERISH_STATUS_UPDATE_HOURS.values()
            for h in by_severity.values()
            if h
        ],
        default=0,
    )
    if not shortest:
        return counts
    candidates = (
        Case.objects.open()
        .filter(created_at__lte=at - dt.timedelta(hours=shortest))
        .exclude(stage=Stage.WAITING_ON_CUSTOMER)
    )
    last_id = 0
    while True:
        batch = list(
            candidates.filter(pk__gt=last_id)
            .order_by("pk")
            .only("pk", "kind", "severity", "created_at")[:BATCH]
        )
        if not batch:
            break
        last_id = batch[-1].pk
        for case_id in _due_in(batch, overrides, at):
            if send_status_update(case_id, at=at):
                counts["interval_updates"] += 1
    return counts


def _due_in(batch: list[Case], overrides: dict[tuple[str, str], int], at: dt.datetime) -> list[int]:
    """The cases of ``batch`` whose interval has passed since our last word to the customer,
    read in two queries for the whole batch; send_status_update checks again under a lock."""
    ids = [case.pk for case in batch]
    last_out = dict(
        Message.objects.filter(case_id__in=ids, direction=Direction.OUTBOUND)
        .values("case_id")
        .annotate(at=Max("created_at"))
        .values_list("case_id", "at")
    )
    last_update = dict(
        StatusUpdate.objects.filter(case_id__in=ids)
        .values("case_id")
        .annotate(at=Max("sent_at"))
        .values_list("case_id", "at")
    )
    due = []
    for case in batch:
        hours = interval_for(case, overrides)
        if not hours:
            continue
        last = max(
            moment
            for moment in (case.created_at, last_out.get(case.pk), last_update.get(case.pk))
            if moment is not None
        )
        if at - last >= dt.timedelta(hours=hours):
            due.append(case.pk)
    return due
