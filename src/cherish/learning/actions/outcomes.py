"""What learning sends or collects on a schedule: the weekly "what our customers told us"
report, and recognition collected from customer outcomes.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string

from cherish.cases.models import CaseEvent
from cherish.core.clock import now
from cherish.feedback.models import Compliment
from cherish.learning import queries
from cherish.learning.models import (
    Cursor,
    WeeklyReport,
)
from cherish.outbox.actions import queue_email
from cherish.staff.actions import recognise
from cherish.staff.models import RecognitionKind, Role, Staff, Team

# ---------------------------------------------------------------- weekly report


def report_recipients() -> list[str]:
    """Managers (by role, or as a team's manager) with an email address."""
    staff = Staff.objects.filter(user__is_active=True).exclude(user__email="")
    managers = staff.filter(role=Role.MANAGER) | staff.filter(
        pk__in=Team.objects.exclude(manager=None).values("manager_id")
    )
    return sorted({s.user.email for s in managers.select_related("user")})


def send_weekly_report(*, at: dt.datetime | None = None) -> WeeklyReport | None:
    """Email the week's "what our customers told us" report to managers, once per week
    (weeks start on Monday, UTC). Returns None when this week's was already sent, or when
    there is nothing to report yet (no empty reports: the next tick tries again)."""
    at = at or now()
    week_start = (at - dt.timedelta(days=at.weekday())).date()
    if WeeklyReport.objects.filter(week_start=week_start).exists():
        return None
    report = queries.weekly_report(at=at)
    if not (report.rising or report.due or report.worked):
        return None
    recipients = report_recipients()
    text = render_to_string(
        "learning/email/weekly_report.txt",
        {"report": report, "org_name": settings.CHERISH_ORG_NAME, "site_url": settings.SITE_URL},
    )
    with transaction.atomic():
        row, created = WeeklyReport.objects.get_or_create(
            week_start=week_start, defaults={"sent_at": at, "recipients": len(recipients)}
        )
        if not created:
            return None
        for address in recipients:
            queue_email(
                to=address,
                subject=f"What our customers told us, week of {week_start:%-d %B}",
                text=text,
                is_automatic=True,
            )
    return row


# ---------------------------------------------------------------- recognition from outcomes

# Case events that credit a staff member: (event type, how the staff member is found, kind).
RECOGNISED_EVENTS = {
    "compliment.credited": RecognitionKind.COMPLIMENT,
    "commitment.kept": RecognitionKind.COMMITMENT_KEPT,
    "follow_up.recorded": RecognitionKind.RECOVERY,
}


def collect_recognition(*, limit: int = 5000) -> int:
    """Credit staff for customer outcomes recorded since the last run: compliments naming
    them, promises kept, complaints followed up to a satisfied customer, and praise in
    survey answers (feedback's compliments). Idempotent: each outcome counts once."""
    cursor, _ = Cursor.objects.get_or_create(name="recognition-events")
    rows = list(
        CaseEvent.objects.filter(pk__gt=cursor.last_id, type__in=list(RECOGNISED_EVENTS))
        .select_related("case")
        .order_by("pk")[:limit]
    )
    staff_ids = {r.data.get("staff_id") or r.actor_id for r in rows}
    staff = Staff.objects.in_bulk([s for s in staff_ids if s])
    added = 0
    for event in rows:
        kind = RECOGNISED_EVENTS[event.type]
        if event.type == "follow_up.recorded" and event.data.get("outcome") != "satisfied":
            continue
        person = staff.get(event.data.get("staff_id") or event.actor_id)
        if person is None:
            continue
        message = event.data.get("note", "") if kind != RecognitionKind.COMPLIMENT else ""
        if recognise(
            person,
            kind=kind,
            message=message,
            case_reference=event.case.reference,
            source_key=f"event:{event.pk}",
            at=event.created_at,
        ):
            added += 1
    if rows:
        Cursor.objects.filter(pk=cursor.pk).update(last_id=rows[-1].pk)
    survey_cursor, _ = Cursor.objects.get_or_create(name="recognition-survey")
    compliments = list(
        Compliment.objects.filter(pk__gt=survey_cursor.last_id)
        .select_related("staff")
        .order_by("pk")[:limit]
    )
    for compliment in compliments:
        if recognise(
            compliment.staff,
            kind=RecognitionKind.SATISFACTION,
            message=compliment.text,
            source_key=f"survey:{compliment.pk}",
            at=compliment.created_at,
        ):
            added += 1
    if compliments:
        Cursor.objects.filter(pk=survey_cursor.pk).update(last_id=compliments[-1].pk)
    return added
