"""Demo data for the care workflow, called by ``cherish demo`` after the cases exist.

Puts a realistic share of the demo complaints into later stages with what each stage records
(fair outcome, assessment, commitments, gestures, resolution, +1, follow-up), sets business
hours, holidays and authority limits, and runs the clock check once so the due page has
warnings. Everything goes through care actions; only timestamps are moved back afterwards so
the history reads in order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import random
from decimal import Decimal
from typing import Any

from django.apps import apps as django_apps
from django.db import transaction

from cherish.care import actions
from cherish.care.errors import CareError
from cherish.care.models import (
    AuthorityLimit,
    BusinessHours,
    CareState,
    Commitment,
    GestureType,
    Holiday,
    WorkingDay,
)
from cherish.care.tasks import check_clocks, check_commitments
from cherish.cases.models import Case, CaseEvent, Kind, Stage
from cherish.core.clock import now
from cherish.core.errors import CherishError
from cherish.staff.models import Role, Staff, Team

LATER = [
    Stage.RESPONDING,
    Stage.RECOVERING,
    Stage.PLUS_ONE,
    Stage.FOLLOWING_UP,
    Stage.WAITING_ON_CUSTOMER,
    Stage.CLOSED,
]
FAIR = [
    "A replacement before the weekend, and someone to call me when it's on its way.",
    "My money back, including the delivery charge.",
    "Honestly, just an apology and for this not to happen again.",
    "Fix it properly this time and cover the cost of the repair I had to pay for.",
    "Cancel the contract without the exit fee.",
    "Refund the duplicate payment and the overdraft charge it caused.",
]
RESOLUTIONS = [
    "Replacement sent by next-day courier; old item collected at the same time.",
    "Full refund issued, including delivery; confirmation emailed.",
    "Engineer revisited, fixed the leak and tested it with the customer.",
    "Contract cancelled without exit fee; written confirmation sent.",
    "Duplicate payment refunded and the bank charge covered.",
]
PLUS_ONES = [
    "Handwritten apology card and a voucher for the next order.",
    "Free delivery for a year.",
    "Upgraded the replacement to the newer model at no cost.",
    "A bunch of flowers delivered with the replacement.",
]
PROMISES = [
    ("Call you with the courier's delivery slot", "call"),
    ("Email you the refund confirmation", "email"),
    ("Visit to check the installation", "visit"),
    ("Call you back after speaking to the warehouse", "call"),
]
BANK_HOLIDAYS = [(1, 1, "New Year's Day"), (12, 25, "Christmas Day"), (12, 26, "Boxing Day")]


def seed_defaults() -> None:
    """(Re)create the defaults that migration 0002 seeds; idempotent (get_or_create).

    For databases flushed after migrating (transactional tests) and for the demo.
    """
    module = importlib.import_module("cherish.care.migrations.0002_seed_care_defaults")
    module.seed(django_apps, None)


def _hours(team: Team | None, *, zone: str, days: dict[int, tuple[str, str]]) -> None:
    hours, created = BusinessHours.objects.get_or_create(team=team, defaults={"time_zone": zone})
    if created or not hours.days.exists():
        for weekday, (start, end) in days.items():
            WorkingDay.objects.create(
                hours=hours,
                weekday=weekday,
                start=dt.time.fromisoformat(start),
                end=dt.time.fromisoformat(end),
            )


def _policy(staff: list[Staff]) -> None:
    weekdays = dict.fromkeys(range(5), ("09:00", "17:00"))
    for team in Team.objects.all():
        if team.name == "Customer Care":
            _hours(
                team,
                zone="Europe/London",
                days={**dict.fromkeys(range(5), ("08:00", "18:00")), 5: ("09:00", "13:00")},
            )
        else:
            _hours(team, zone="Europe/London", days=weekdays)
    year = now().year
    for y in (year, year + 1):
        for month, day, name in BANK_HOLIDAYS:
            Holiday.objects.get_or_create(
                team=None, date=dt.date(y, month, day), defaults={"name": name}
            )
    AuthorityLimit.objects.get_or_create(
        role=Role.AGENT,
        staff=None,
        gesture_type=None,
        defaults={"per_gesture": Decimal("50"), "per_month": Decimal("1500"), "currency": "GBP"},
    )
    AuthorityLimit.objects.get_or_create(
        role=Role.LEAD,
        staff=None,
        gesture_type=None,
        defaults={"per_gesture": Decimal("250"), "per_month": Decimal("2000"), "currency": "GBP"},
    )
    newcomer = next((s for s in staff if s.role == Role.AGENT and s.user.username == "ben"), None)
    if newcomer is not None:
        AuthorityLimit.objects.get_or_create(
            staff=newcomer,
            gesture_type=GestureType.objects.filter(key="refund").first(),
            defaults={"per_gesture": Decimal("25"), "per_month": Decimal("150"), "currency": "GBP"},
        )


def _retime(case: Case, first_event_id: int) -> None:
    """Spread the events this loader wrote over the case's own lifetime, in order."""
    case.refresh_from_db()
    end = case.closed_at or now()
    start = case.created_at + dt.timedelta(hours=1)
    rows = list(CaseEvent.objects.filter(case=case, pk__gt=first_event_id).order_by("id"))
    if not rows:
        return
    step = max((end - start) / (len(rows) + 1), dt.timedelta(minutes=1))
    for position, row in enumerate(rows, start=1):
        row.created_at = min(start + step * position, now())
    CaseEvent.objects.bulk_update(rows, ["created_at"])
    stamps = {row.type: row.created_at for row in rows}
    fields = {
        "fair_outcome_at": stamps.get("fair_outcome.recorded"),
        "resolved_at": stamps.get("resolution.recorded"),
        "plus_one_at": stamps.get("plus_one.recorded"),
        "follow_up_at": stamps.get("follow_up.recorded"),
        "assessed_at": stamps.get("assessment.recorded"),
        "waiting_since": stamps.get("waiting.started"),
    }
    CareState.objects.filter(case=case).update(**{k: v for k, v in fields.items() if v})


def _work(case: Case, rng: random.Random, lead: Staff | None) -> None:
    owner = case.owner
    if owner is None:
        return
    stage = case.stage
    first_event = CaseEvent.objects.filter(case=case).order_by("-id").values_list("id", flat=True)
    before = first_event.first() or 0
    at = now()
    refund = GestureType.objects.get(key="refund")
    plus_types = list(
        GestureType.objects.filter(key__in=["voucher", "free_extra", "personal_note"])
    )
    actions.assess_case(
        case,
        severity=rng.choice(["normal", "normal", "high", "low", "critical"]),
        complexity=rng.choice(["simple", "moderate", "complex"]),
        impact=rng.choice(["low", "medium", "high"]),
        needs_immediate_action=rng.random() < 0.1,
        by=owner,
    )
    index = LATER.index(Stage(stage)) if stage in LATER else -1
    if index >= 0:
        actions.record_fair_outcome(case, text=rng.choice(FAIR), by=owner)
        what, how = rng.choice(PROMISES)
        if case.is_open:
            due = at + dt.timedelta(hours=rng.choice([-20, -3, 2, 5, 26, 50]))
            commitment = actions.record_commitment(
                case, what=what, due_at=max(due, at + dt.timedelta(minutes=5)), how=how, by=owner
            )
            if due < at:
                Commitment.objects.filter(pk=commitment.pk).update(due_at=due)
        else:
            commitment = actions.record_commitment(
                case, what=what, due_at=at + dt.timedelta(hours=1), how=how, by=owner
            )
            if rng.random() < 0.12:
                actions.break_commitment(commitment, by=owner, reason="Courier strike; rebooked.")
            else:
                actions.keep_commitment(commitment, by=owner)
    if index >= 1 and stage != Stage.WAITING_ON_CUSTOMER:
        if rng.random() < 0.5:
            value = Decimal(rng.choice([10, 15, 20, 35, 45, 80, 120]))
            try:
                gesture = actions.grant_gesture(
                    case,
                    gesture_type=refund,
                    value=value,
                    currency="GBP",
                    by=owner,
                    description="Refund of the delivery charge",
                    reason="Missed delivery twice",
                )
                if lead and gesture.status == "pending_approval" and rng.random() < 0.5:
                    actions.decide_gesture(
                        gesture,
                        approve=rng.random() < 0.8,
                        by=lead,
                        reason="Agreed — long-standing customer",
                    )
            except CherishError:
                pass  # a random gesture may exceed the agent's limit: the demo skips it
        actions.record_resolution(case, text=rng.choice(RESOLUTIONS), by=owner)
    if index >= 2 and stage != Stage.WAITING_ON_CUSTOMER:
        try:
            actions.grant_gesture(
                case,
                gesture_type=rng.choice(plus_types),
                value=Decimal(rng.choice([0, 10, 20])),
                currency="GBP",
                by=owner,
                description=rng.choice(PLUS_ONES),
                plus_one=True,
            )
        except CareError:
            actions.record_plus_one(case, text=rng.choice(PLUS_ONES), by=owner)
    if stage == Stage.CLOSED:
        outcome = rng.choice(["satisfied"] * 6 + ["partly", "not_satisfied", "no_answer"])
        note = "Left a voicemail twice." if outcome == "no_answer" else "Thanked us."
        actions.record_follow_up(case, outcome=outcome, note=note, by=owner)
    if stage == Stage.WAITING_ON_CUSTOMER and case.is_open:
        # The spine's demo moved the stage directly; pause the clock properly.
        CareState.objects.update_or_create(
            case=case, defaults={"waiting_since": at, "stage_before_wait": Stage.RESPONDING}
        )
    _retime(case, before)


def load_demo(
    *, cases: list[Case], staff: list[Staff], rng: random.Random, **_: Any
) -> dict[str, int]:
    """Give the demo complaints their care history. Returns counts for the demo command."""
    seed_defaults()
    _policy(staff)
    lead = next((s for s in staff if s.role == Role.LEAD), None)
    complaints = [c for c in cases if c.kind == Kind.COMPLAINT]
    worked = 0
    for case in complaints:
        case.refresh_from_db()
        if case.stage == Stage.RECEIVED:
            continue
        with transaction.atomic():
            _work(case, rng, lead)
        worked += 1
    open_complaints = [c for c in complaints if c.is_open and c.owner is not None]
    for case in open_complaints[:3]:
        with transaction.atomic(), contextlib.suppress(CareError):
            actions.wait_on_customer(case, by=case.owner, reason="Asked for photos")
    by_customer: dict[int, list[Case]] = {}
    for case in complaints:
        by_customer.setdefault(case.customer_id, []).append(case)
    pairs = [group for group in by_customer.values() if len(group) >= 2]
    if pairs:
        keep, duplicate = pairs[0][0], pairs[0][1]
        with contextlib.suppress(CareError):
            actions.merge_cases(duplicate, into=keep, by=keep.owner)
        if len(pairs) > 1:
            with contextlib.suppress(CareError):
                actions.link_cases(pairs[1][0], other=pairs[1][1], by=pairs[1][0].owner)
    closed = [c for c in complaints if not c.is_open]
    if closed:
        actions.record_escalation(
            closed[0],
            body="ombudsman",
            body_name="The Retail Ombudsman",
            escalated_on=now().date() - dt.timedelta(days=20),
            reference="RO-2291",
            by=closed[0].owner,
        )
    clocks = check_clocks()
    commitments = check_commitments()
    return {"worked": worked, **clocks, **commitments}
