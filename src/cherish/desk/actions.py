"""Every change the desk makes: notifications, read marks, presence, preferences.

How notifications come to be
----------------------------
A notification is *derived* from the case events that every action already writes in its own
transaction (a customer's message, a handoff, a mention, an approval request, a clock
warning), not written by the app where the thing happens. So the apps below the desk never
import it (import-linter's layers), no action can forget to notify, and a notification can
never exist for a change that was rolled back.

``sync_notifications(staff)`` derives them for one person, from a per-person watermark
(``DeskState.last_event_id``): it runs when their navigation badge polls, when they open the
notifications page, and on the periodic ``desk_tick`` for people who asked for email (who
may not be looking). It costs the same few queries however many events happened (the
watermark, the newest settled event, one bounded read of the events relevant to this person,
the notifications already made from them, when they last opened those cases, one bulk
insert, one update), which is why it can
run on every poll. Deriving at read time was chosen over a fan-out task per event: a fan-out
would need a worker to be running for the badge to move, and a task per event per follower
in the queue; the watermark keeps each read proportional to what happened to this person.

Event ids are handed out when a row is inserted, not when its transaction commits, so on
PostgreSQL an event with a smaller id can become visible after a larger one. The watermark
therefore only moves past events older than ``SETTLE``; younger ones are read again on the
next poll and the unique (staff, event) constraint keeps that from notifying twice.

Whether a customer's message concerns someone (they own or follow the case) is decided when
it is read, not when it was written: a case handed to you a few seconds after the customer
wrote still tells you they wrote. Someone back after a long absence pays for one longer read
(the events since their watermark, narrowed by type, at most BATCH relevant ones), after
which their watermark is near now again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

from cherish.care.models import Collaborator
from cherish.cases.access import visible_cases
from cherish.cases.models import Case, CaseEvent
from cherish.core.clock import now
from cherish.desk.models import (
    Activity,
    CaseRead,
    DeskState,
    Notification,
    NotificationKind,
    Presence,
)
from cherish.desk.queries_live import describe
from cherish.outbox.actions import queue_email
from cherish.staff.models import Staff

SETTLE = dt.timedelta(seconds=60)
SETTLE_SCAN = 500
# Events read per sync at most; a person further behind catches up over the next polls.
BATCH = 500

# Event type -> (notification kind, the data keys naming the person it is for). A breach
# names "notified_id" since the lead may be missing (then the owner hears); older breach
# events name only "lead_id".
_ADDRESSED: dict[str, tuple[str, tuple[str, ...]]] = {
    "case.owner_assigned": (NotificationKind.ASSIGNED, ("owner_id",)),
    "case.owner_changed": (NotificationKind.HANDED_OVER, ("owner_id",)),
    "collaborator.added": (NotificationKind.ASKED_TO_HELP, ("staff_id",)),
    "gesture.requested": (NotificationKind.APPROVAL_WAITING, ("approver_id",)),
    "gesture.approved": (NotificationKind.GESTURE_DECIDED, ("requested_by_id",)),
    "gesture.declined": (NotificationKind.GESTURE_DECIDED, ("requested_by_id",)),
    "commitment.due_soon": (NotificationKind.COMMITMENT_DUE, ("owner_id",)),
    "commitment.overdue": (NotificationKind.COMMITMENT_OVERDUE, ("notified_id",)),
    "commitment.escalated": (NotificationKind.COMMITMENT_OVERDUE, ("lead_id",)),
    "care.target_warning": (NotificationKind.TARGET_WARNING, ("notified_id",)),
    "care.target_breached": (NotificationKind.TARGET_BREACHED, ("notified_id", "lead_id")),
}
MENTION = "staff.mentioned"
MESSAGE = "message.added"
# A gesture decision settles the decider's own "approval waiting" on that case.
DECIDED = ("gesture.approved", "gesture.declined")


def _settled_event_id(at: dt.datetime) -> int:
    """The newest event older than SETTLE (0 if none), from the newest SETTLE_SCAN events
    read backwards along the primary key: a filter on the time would let the database pick
    a time index and read millions of rows. When all of those are younger (a desk writing
    more than SETTLE_SCAN events a minute), the one before the oldest is taken, so the
    watermark keeps up; only there could an event committed a minute late be passed over."""
    cutoff = at - SETTLE
    newest = list(CaseEvent.objects.order_by("-id").values_list("id", "created_at")[:SETTLE_SCAN])
    for event_id, created_at in newest:
        if created_at < cutoff:
            return int(event_id)
    return int(newest[-1][0]) - 1 if len(newest) == SETTLE_SCAN else 0


def _relevant_events(staff: Staff, after: int) -> list[CaseEvent]:
    """Events after the watermark that may concern ``staff``, oldest first, at most BATCH.

    The addressed kinds and the customer's messages are narrowed in SQL; a mention names a
    list of people, which is checked in Python (JSON containment differs per database).
    """
    follows = Collaborator.objects.filter(case=OuterRef("case_id"), staff=staff)
    addressed = Q()
    for type_, (_, keys) in _ADDRESSED.items():
        for key in keys:
            addressed |= Q(type=type_, **{f"data__{key}": staff.pk})
    customer_wrote = Q(type=MESSAGE, data__direction="in") & (
        Q(case__owner=staff) | Exists(follows)
    )
    own_decision = Q(type__in=DECIDED, actor=staff)
    return list(
        CaseEvent.objects.filter(pk__gt=after)
        .filter(addressed | customer_wrote | Q(type=MENTION) | own_decision)
        # Correlated, so only the events in the id range are checked against the boundary
        # (an IN over every case the person may see would read them all).
        .filter(Exists(visible_cases(staff).filter(pk=OuterRef("case_id"))))
        .exclude(Q(actor=staff) & ~own_decision)
        .select_related("case", "case__customer", "actor")
        .order_by("id")[:BATCH]
    )


def notification_kind(event: CaseEvent, staff: Staff) -> str | None:
    """Which notification ``event`` means for ``staff``, or None: not theirs to hear about."""
    if event.actor_id == staff.pk:
        return None
    if event.type == MESSAGE:
        return NotificationKind.CUSTOMER_REPLIED if event.data.get("direction") == "in" else None
    if event.type == MENTION:
        return NotificationKind.MENTIONED if staff.pk in event.data.get("staff_ids", []) else None
    addressed = _ADDRESSED.get(event.type)
    if addressed and any(event.data.get(key) == staff.pk for key in addressed[1]):
        return addressed[0]
    return None


def _state_for_update(staff: Staff, at: dt.datetime) -> DeskState:
    state = DeskState.objects.select_for_update().filter(staff=staff).first()
    if state is None:
        # A newcomer starts from now: the desk's history is not news to them.
        state, _ = DeskState.objects.get_or_create(
            staff=staff, defaults={"last_event_id": _settled_event_id(at)}
        )
    return state


@transaction.atomic
def sync_notifications(staff: Staff) -> list[Notification]:
    """Derive ``staff``'s notifications from the case events since their watermark.

    Creates one Notification per relevant event (never two for one event and person; read
    already when the person has opened the case since), moves the watermark, and, for people
    who asked for email, queues one email per new unread notification through the outbox.
    Returns the notifications it created. Writes no case event. See the module docstring for
    why this derives rather than fans out.
    """
    at = now()
    state = _state_for_update(staff, at)
    settled = _settled_event_id(at)
    events = _relevant_events(staff, state.last_event_id)
    found = [(event, kind) for event in events if (kind := notification_kind(event, staff))]
    known = set(
        Notification.objects.filter(staff=staff, event__in=[e for e, _ in found]).values_list(
            "event_id", flat=True
        )
    )
    # What happened before they last opened the case, they have seen: made read, not mailed.
    opened = dict(
        CaseRead.objects.filter(staff=staff, case_id__in={e.case_id for e, _ in found}).values_list(
            "case_id", "read_at"
        )
    )
    new = []
    for event, kind in found:
        if event.pk in known:
            continue
        seen = event.case_id in opened and event.created_at <= opened[event.case_id]
        new.append(
            Notification(
                staff=staff,
                case=event.case,
                event=event,
                kind=kind,
                created_at=event.created_at,
                read_at=at if seen else None,
                emailed_at=at if state.email_notifications and not seen else None,
            )
        )
    unseen = [n for n in new if n.read_at is None]
    if new:
        Notification.objects.bulk_create(new, ignore_conflicts=True)
    decided = {e.case_id for e in events if e.type in DECIDED and e.actor_id == staff.pk}
    if decided:
        Notification.objects.filter(
            staff=staff,
            case_id__in=decided,
            kind=NotificationKind.APPROVAL_WAITING,
            read_at__isnull=True,
        ).update(read_at=at)
    watermark = min(settled, events[-1].pk) if len(events) == BATCH else settled
    if watermark > state.last_event_id:
        state.last_event_id = watermark
        state.save(update_fields=["last_event_id"])
    if state.email_notifications and unseen:
        _email(staff, unseen)
    return new


def _email(staff: Staff, notifications: Iterable[Notification]) -> None:
    address = staff.user.email
    if not address:
        return
    base = str(getattr(settings, "SITE_URL", "")).rstrip("/")
    for notification in notifications:
        line = describe(notification)
        url = base + reverse("cases:detail", args=[notification.case.reference])
        queue_email(
            to=address,
            subject=f"[Cherish] {line}"[:200],
            text=f"{line}\n\n{url}\n\n"
            "You get these emails because you asked for them on your notifications page.\n",
            is_automatic=True,
        )


@transaction.atomic
def mark_notifications_read(staff: Staff, *, ids: Iterable[int] | None = None) -> int:
    """Mark ``staff``'s unread notifications read: all of them, or those with ``ids``.

    Returns how many changed. Another person's notifications are never touched.
    """
    rows = Notification.objects.filter(staff=staff, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=now())


@transaction.atomic
def mark_case_read(staff: Staff, case: Case) -> None:
    """``staff`` has seen ``case`` as it is now: its inbox mark and its notifications clear."""
    at = now()
    # One upsert, so opening a case costs the same the first time and every time after.
    CaseRead.objects.bulk_create(
        [CaseRead(staff=staff, case=case, read_at=at)],
        update_conflicts=True,
        unique_fields=["staff", "case"],
        update_fields=["read_at"],
    )
    Notification.objects.filter(staff=staff, case=case, read_at__isnull=True).update(read_at=at)


@transaction.atomic
def set_notification_email(staff: Staff, *, enabled: bool) -> DeskState:
    """Turn email copies of ``staff``'s notifications on or off (from now on)."""
    state = _state_for_update(staff, now())
    if state.email_notifications != enabled:
        state.email_notifications = enabled
        state.save(update_fields=["email_notifications"])
    return state


def beat_presence(staff: Staff, case: Case, *, replying: bool) -> None:
    """Record that ``staff`` has ``case`` open now (and whether they are writing a reply).

    One upsert per heartbeat (a row in the database: every web process sees it).
    """
    activity = Activity.REPLYING if replying else Activity.VIEWING
    Presence.objects.bulk_create(
        [Presence(staff=staff, case=case, activity=activity, seen_at=now())],
        update_conflicts=True,
        unique_fields=["staff", "case"],
        update_fields=["activity", "seen_at"],
    )


def record_case_view(
    staff: Staff,
    case: Case,
    *,
    read: bool = True,
    notifications: bool = True,
    presence: bool = True,
) -> None:
    """``staff`` opened ``case``: what ``mark_case_read`` and ``beat_presence`` write, in one
    short transaction of plain upserts, and only the parts asked for (the page asks only for
    what changed: see ``queries_live.case_view_state``). Nothing asked, nothing written.
    """
    if not (read or notifications or presence):
        return
    at = connection.ops.adapt_datetimefield_value(now())
    with transaction.atomic(), connection.cursor() as cursor:
        if read:
            cursor.execute(
                f"INSERT INTO {CaseRead._meta.db_table} (staff_id, case_id, read_at)"
                " VALUES (%s, %s, %s) ON CONFLICT (staff_id, case_id)"
                " DO UPDATE SET read_at = excluded.read_at",
                [staff.pk, case.pk, at],
            )
        if notifications:
            cursor.execute(
                f"UPDATE {Notification._meta.db_table} SET read_at = %s"
                " WHERE staff_id = %s AND case_id = %s AND read_at IS NULL",
                [at, staff.pk, case.pk],
            )
        if presence:
            cursor.execute(
                f"INSERT INTO {Presence._meta.db_table} (staff_id, case_id, activity, seen_at)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (staff_id, case_id)"
                " DO UPDATE SET activity = excluded.activity, seen_at = excluded.seen_at",
                [staff.pk, case.pk, Activity.VIEWING.value, at],
            )
