"""The managers' weekly digest: headline figures with their change, the week's best compliment
and hardest complaint, and the commitments now overdue. Sent through the outbox on Monday
mornings (``scorecard_tick``), once per manager per week.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext

from cherish.care.models import Commitment, CommitmentStatus
from cherish.core.clock import now
from cherish.feedback.models import Compliment
from cherish.outbox.actions import queue_email
from cherish.scorecard import figures
from cherish.scorecard.models import CaseFact, DigestSent
from cherish.staff.models import Role, Staff

HEADLINES = (
    "complaints",
    "csat",
    "nps",
    "recovery_rate",
    "within_expectation",
    "committed_on_time",
    "repeat_rate",
)
SEND_FROM_HOUR = 7  # UTC, Monday


@dataclass(frozen=True)
class Headline:
    figure: figures.Figure
    value: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return round(self.value - self.previous, 1)


def digest_context(week: dt.date, *, at: dt.datetime) -> dict[str, Any]:
    """What the digest for the week starting ``week`` (a Monday) says."""
    period = figures.PERIODS["week"]
    ctx = figures.context()
    points = figures.series(figures.Filters(), period, week)
    (_, before), (_, this) = points[-2], points[-1]
    headlines = [
        Headline(
            figures.BY_KEY[key],
            figures.compute(figures.BY_KEY[key], this, ctx),
            figures.compute(figures.BY_KEY[key], before, ctx),
        )
        for key in HEADLINES
    ]
    start = dt.datetime.combine(week, dt.time(), tzinfo=dt.UTC)
    end = start + dt.timedelta(days=7)
    compliment = (
        Compliment.objects.filter(created_at__gte=start, created_at__lt=end)
        .select_related("staff")
        .order_by("-created_at")
        .first()
    )
    hardest = (
        CaseFact.objects.filter(closed_week=week, kind="complaint")
        .select_related("case")
        .order_by("-contacts", "-owners", "-resolution_days", "case_id")
        .first()
    )
    overdue = list(
        Commitment.objects.filter(status=CommitmentStatus.OPEN, due_at__lt=at)
        .select_related("case", "owner")
        .order_by("due_at")[:10]
    )
    return {
        "week": week,
        "week_end": week + dt.timedelta(days=6),
        "headlines": headlines,
        "compliment": compliment,
        "hardest": hardest.case if hardest else None,
        "hardest_fact": hardest,
        "overdue": overdue,
        "overdue_count": Commitment.objects.filter(
            status=CommitmentStatus.OPEN, due_at__lt=at
        ).count(),
    }


def managers() -> list[Staff]:
    return list(
        Staff.objects.filter(role=Role.MANAGER, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
    )


def send_due_digests(*, at: dt.datetime | None = None) -> int:
    """On Monday from 07:00 UTC, send last week's digest to every manager not yet sent it."""
    at = at or now()
    if at.weekday() != 0 or at.hour < SEND_FROM_HOUR:
        return 0
    week = figures.monday(at.date()) - dt.timedelta(days=7)
    recipients = [
        s for s in managers() if not DigestSent.objects.filter(week=week, staff=s).exists()
    ]
    if not recipients:
        return 0
    context = digest_context(week, at=at)
    sent = 0
    for staff in recipients:
        try:
            with transaction.atomic():
                sent_row = DigestSent.objects.create(week=week, staff=staff, sent_at=at)
                email = queue_email(
                    to=staff.user.email,
                    subject=gettext("Cherish weekly digest, week of %(date)s")
                    % {"date": f"{week:%d %b %Y}"},
                    text=render_to_string("scorecard/digest.txt", {**context, "staff": staff}),
                    html=render_to_string("scorecard/digest.html", {**context, "staff": staff}),
                    is_automatic=True,
                )
                sent_row.email_pk = email.pk
                sent_row.save(update_fields=["email_pk"])
        except IntegrityError:  # another ticker sent it a moment ago
            continue
        sent += 1
    return sent
