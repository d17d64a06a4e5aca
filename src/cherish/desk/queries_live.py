"""Reads for the desk's live parts: notifications, unread cases, presence, stale views.

Each costs a fixed number of queries whatever the number of rows it returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext

from cherish.cases.access import visible_cases
from cherish.cases.models import Case, CaseEvent, Message
from cherish.core.clock import now
from cherish.desk.models import Activity, CaseRead, Notification, NotificationKind, Presence
from cherish.staff.models import Staff

# A viewer whose page has not beaten for this long has left (the page beats every 10 s).
PRESENCE_TIMEOUT = dt.timedelta(seconds=30)
PAGE_SIZE = 50


def describe(notification: Notification) -> str:
    """One sentence for the list and the email, worded from the event when shown (so an
    erased customer's words are gone here too)."""
    event = notification.event
    data = event.data
    case = notification.case
    reference = case.reference
    actor = event.actor.display_name if event.actor else gettext("Cherish")
    kind = notification.kind
    if kind == NotificationKind.CUSTOMER_REPLIED:
        who = case.customer.name or gettext("The customer")
        excerpt = str(data.get("excerpt", ""))[:140]
        return gettext("%(who)s wrote on %(case)s: “%(excerpt)s”") % {
            "who": who,
            "case": reference,
            "excerpt": excerpt,
        }
    if kind == NotificationKind.ASSIGNED:
        return gettext("%(case)s was assigned to you.") % {"case": reference}
    if kind == NotificationKind.HANDED_OVER:
        return gettext("%(actor)s handed %(case)s to you.") % {"actor": actor, "case": reference}
    if kind == NotificationKind.ASKED_TO_HELP:
        return gettext("%(actor)s asked you to help on %(case)s.") % {
            "actor": actor,
            "case": reference,
        }
    if kind == NotificationKind.MENTIONED:
        return gettext("%(actor)s mentioned you in a note on %(case)s.") % {
            "actor": actor,
            "case": reference,
        }
    if kind == NotificationKind.APPROVAL_WAITING:
        return gettext(
            "%(actor)s asks you to approve a gesture of %(value)s %(currency)s on %(case)s."
        ) % {
            "actor": actor,
            "value": data.get("value", ""),
            "currency": data.get("currency", ""),
            "case": reference,
        }
    if kind == NotificationKind.GESTURE_DECIDED:
        values = {
            "actor": actor,
            "value": data.get("value", ""),
            "currency": data.get("currency", ""),
            "case": reference,
        }
        if event.type == "gesture.approved":
            return (
                gettext("%(actor)s approved your gesture of %(value)s %(currency)s on %(case)s.")
                % values
            )
        return (
            gettext("%(actor)s declined your gesture of %(value)s %(currency)s on %(case)s.")
            % values
        )
    if kind == NotificationKind.COMMITMENT_DUE:
        return gettext("A promise on %(case)s is due soon.") % {"case": reference}
    if kind == NotificationKind.COMMITMENT_OVERDUE:
        return gettext("A promise on %(case)s is overdue.") % {"case": reference}
    if kind == NotificationKind.TARGET_WARNING:
        return gettext("%(case)s is about to breach its target.") % {"case": reference}
    if kind == NotificationKind.TARGET_BREACHED:
        return gettext("%(case)s breached its target.") % {"case": reference}
    return reference


def _notifications(staff: Staff) -> QuerySet[Notification]:
    """``staff``'s notifications about cases they may still see (a case handed to another
    team since is not theirs to read about any more)."""
    return Notification.objects.filter(staff=staff).filter(
        Exists(visible_cases(staff).filter(pk=OuterRef("case_id")))
    )


def count_unread(staff: Staff) -> int:
    return _notifications(staff).filter(read_at__isnull=True).count()


@dataclass(frozen=True, slots=True)
class NotificationRow:
    pk: int
    text: str
    kind_label: str
    case_reference: str
    created_at: dt.datetime
    is_unread: bool


@dataclass(frozen=True, slots=True)
class NotificationPage:
    rows: list[NotificationRow]
    unread: int
    page: int
    has_next: bool


def notification_page(
    staff: Staff, *, page: int = 1, unread_only: bool = False
) -> NotificationPage:
    """One page of ``staff``'s notifications, newest first (2 queries)."""
    rows = _notifications(staff)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    start = (max(page, 1) - 1) * PAGE_SIZE
    found = list(
        rows.select_related("event", "event__actor", "case", "case__customer").order_by("-id")[
            start : start + PAGE_SIZE + 1
        ]
    )
    labels = dict(NotificationKind.choices)
    return NotificationPage(
        rows=[
            NotificationRow(
                pk=n.pk,
                text=describe(n),
                kind_label=str(labels.get(n.kind, n.kind)),
                case_reference=n.case.reference,
                created_at=n.created_at,
                is_unread=n.read_at is None,
            )
            for n in found[:PAGE_SIZE]
        ],
        unread=count_unread(staff),
        page=max(page, 1),
        has_next=len(found) > PAGE_SIZE,
    )


def cases_with_news(staff: Staff, cases: Sequence[Case]) -> set[int]:
    """Of ``cases``, the ids of those with news for ``staff`` (2 queries for any number):
    the customer wrote since they last had the case open, or a notification about it is
    unread. Needs ``last_inbound_at`` on each case (the inbox row has it)."""
    ids = [case.pk for case in cases]
    if not ids:
        return set()
    read = dict(
        CaseRead.objects.filter(staff=staff, case_id__in=ids).values_list("case_id", "read_at")
    )
    news = {
        case.pk
        for case in cases
        if case.last_inbound_at is not None
        and (case.pk not in read or read[case.pk] < case.last_inbound_at)
    }
    news.update(
        Notification.objects.filter(staff=staff, case_id__in=ids, read_at__isnull=True).values_list(
            "case_id", flat=True
        )
    )
    return news


def present_on_case(case: Case, *, besides: Staff) -> list[Presence]:
    """Who else has ``case`` open now, replying first (1 query)."""
    return list(
        Presence.objects.filter(case=case, seen_at__gte=now() - PRESENCE_TIMEOUT)
        .exclude(staff=besides)
        .select_related("staff")
        .order_by("-activity", "staff__display_name")
    )


@dataclass(frozen=True, slots=True)
class CaseViewState:
    """What opening a case page must know about the viewer's own marks, read in one query
    with who else is on the case, so the page writes only what changed (a read path that
    takes the write lock on every view would queue every page behind intake)."""

    present: list[Presence]  # others with the case open now, replying first
    read_is_current: bool  # their CaseRead is newer than anything on the case
    has_unread_notifications: bool
    presence_is_fresh: bool  # their own "viewing" beat is recent enough to stand


def case_view_state(staff: Staff, case: Case, *, fresh_seconds: int) -> CaseViewState:
    """The viewer's marks on ``case`` and who else is here (1 query, plain SQL: the ORM
    spent more CPU building this than SQLite spends running it).

    The read mark is current when it exists and no event (a message, a handover, a due
    promise) and no inbound message came after it; the presence beat is fresh when it says
    "viewing" and is younger than ``fresh_seconds``.
    """
    at = now()
    adapt = connection.ops.adapt_datetimefield_value
    inbound = ""
    params: list[Any] = [staff.pk, case.pk]
    if case.last_inbound_at is not None:
        inbound = " AND r.read_at >= %s"
        params.append(adapt(case.last_inbound_at))
    params += [
        staff.pk,
        case.pk,
        adapt(at - dt.timedelta(seconds=fresh_seconds)),
        case.pk,
        adapt(at - PRESENCE_TIMEOUT),
    ]
    sql = f"""
        SELECT
          (SELECT COUNT(*) FROM {CaseRead._meta.db_table} r
            WHERE r.staff_id = %s AND r.case_id = %s{inbound}
              AND NOT EXISTS (SELECT 1 FROM {CaseEvent._meta.db_table} e
                              WHERE e.case_id = r.case_id AND e.created_at > r.read_at)),
          (SELECT COUNT(*) FROM (SELECT 1 FROM {Notification._meta.db_table} n
            WHERE n.staff_id = %s AND n.case_id = %s AND n.read_at IS NULL LIMIT 1) unread),
          CASE WHEN p.seen_at >= %s AND p.activity = 'viewing' THEN 1 ELSE 0 END,
          p.staff_id, s.display_name, p.activity
        FROM (SELECT 1 AS one) anchor
        LEFT JOIN {Presence._meta.db_table} p ON p.case_id = %s AND p.seen_at >= %s
        LEFT JOIN {Staff._meta.db_table} s ON s.id = p.staff_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    read_is_current = bool(rows[0][0])
    has_unread = bool(rows[0][1])
    fresh = False
    present = []
    for _, _, is_fresh, staff_id, name, activity in rows:
        if staff_id is None:
            continue
        if staff_id == staff.pk:
            fresh = bool(is_fresh)
            continue
        present.append(Presence(staff=Staff(pk=staff_id, display_name=name), activity=activity))
    # Replying first, then by name (as present_on_case orders them).
    present.sort(key=lambda row: (row.activity != Activity.REPLYING, row.staff.display_name))
    return CaseViewState(
        present=present,
        read_is_current=read_is_current,
        has_unread_notifications=has_unread,
        presence_is_fresh=fresh,
    )


def last_message_id(case: Case) -> int:
    """The newest message on ``case`` (0 if none): what a page shows as "seen" (1 query)."""
    return (
        Message.objects.filter(case_id=case.pk).order_by("-id").values_list("id", flat=True).first()
        or 0
    )


def messages_since(case: Case, seen: int, *, besides: Staff) -> list[Message]:
    """Messages on ``case`` newer than ``seen`` that ``besides`` did not write: what makes a
    view stale. The customer's, colleagues' replies and notes, and automatic mail count."""
    return list(
        Message.objects.filter(case_id=case.pk, pk__gt=seen)
        .filter(Q(author__isnull=True) | ~Q(author=besides))
        .select_related("author")
        .order_by("id")
    )


def parse_seen(value: str | None) -> int | None:
    """The ``seen_message`` a form carried, or None when it carried none (an old page, an
    API-like client): then there is nothing to compare against and nothing is stopped."""
    if value is None or not value.strip().isdigit():
        return None
    return int(value)
