"""Build the scorecard's roll-ups from the domain apps' rows (reads them; writes only its own).

``compute_facts`` turns cases into ``CaseFact`` rows, a batch at a time (one query per source
table per batch). ``build_cube`` sums facts, survey answers, invitations and unanswered
problems into ``WeeklyCube`` cells for every combination of "this value" or "all" over the
four filter dimensions (16 groupings). ``rebuild`` does both from scratch; ``refresh`` redoes
the facts of recently changed cases and the weeks they touch.

A case counts in three weeks: the week it was received (received, first response, repeat),
the week it was closed (everything about how it was handled) and, for complaints, the week
its 90 days ended (still a customer?), so "this period" always has an answer.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Case as When_
from django.db.models import Count, DecimalField, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, TruncWeek

from cherish.care import tone
from cherish.care.clocks import owner_counts
from cherish.care.models import (
    GIVEN_STATUSES,
    CareState,
    Commitment,
    CommitmentStatus,
    FollowUpOutcome,
    Gesture,
    GestureStatus,
    TonePhrase,
)
from cherish.cases.models import Case, CaseEvent, Direction, Kind, Message
from cherish.core.clock import now
from cherish.customers.models import LeaveReason, RelationshipStatus, Transaction
from cherish.feedback.models import (
    Invitation,
    InvitationStatus,
    LoyaltyLevel,
    Measure,
    SurveyResponse,
)
from cherish.feedback.queries import expectation
from cherish.outreach.models import FollowUp, FollowUpAnswer
from cherish.scorecard.models import (
    ALL,
    MONEY_SUMS,
    NO_VALUE,
    RESOLUTION_BUCKETS,
    Assumptions,
    CaseFact,
    RollupState,
    WeeklyCube,
)

DIMENSIONS = ("team", "channel", "kind", "topic")
REPEAT_WINDOW = dt.timedelta(days=90)
VALUE_WINDOW = dt.timedelta(days=365)
BATCH = 2000
FULL_REBUILD_EVERY = dt.timedelta(hours=24)
FOLLOW_UP_DONE = (
    FollowUpOutcome.SATISFIED,
    FollowUpOutcome.PARTLY,
    FollowUpOutcome.NOT_SATISFIED,
    FollowUpOutcome.NO_ANSWER,
)
UTC = dt.UTC


def week_of(at: dt.datetime | dt.date) -> dt.date:
    """The Monday (UTC) of the week ``at`` falls in."""
    day = at.astimezone(UTC).date() if isinstance(at, dt.datetime) else at
    return day - dt.timedelta(days=day.weekday())


def assumptions() -> Assumptions:
    return Assumptions.objects.filter(pk=1).first() or Assumptions(pk=1)


def dim(value: object) -> str:
    text = "" if value is None else str(value)
    return text or NO_VALUE


# --- facts ---------------------------------------------------------------------------------


def _tone_patterns() -> list[tuple[str, str]]:
    return list(TonePhrase.objects.filter(active=True).values_list("phrase", "suggestion"))


def compute_facts(case_ids: Sequence[int], *, at: dt.datetime) -> list[CaseFact]:
    """The facts of these cases as of ``at`` (unsaved rows), one query per source table."""
    keep_days = dt.timedelta(days=assumptions().active_after_days)
    cases = list(
        Case.objects.filter(pk__in=case_ids).values(
            "id",
            "customer_id",
            "owner_id",
            "team_id",
            "kind",
            "channel",
            "triage",
            "created_at",
            "closed_at",
            "is_open",
            "first_response_at",
        )
    )
    if not cases:
        return []
    ids = [c["id"] for c in cases]
    customer_ids = {c["customer_id"] for c in cases}

    contacts = dict(
        Message.objects.filter(case_id__in=ids, direction=Direction.INBOUND)
        .values_list("case_id")
        .annotate(n=Count("pk"))
        .values_list("case_id", "n")
    )
    phrases = _tone_patterns()
    replies: dict[int, int] = defaultdict(int)
    tone_hits: dict[int, int] = defaultdict(int)
    for case_id, text in Message.objects.filter(
        case_id__in=ids, direction=Direction.OUTBOUND, is_automatic=False, author__isnull=False
    ).values_list("case_id", "body_text"):
        replies[case_id] += 1
        if phrases:
            tone_hits[case_id] += len(tone.tone_check(text, phrases))

    owner_events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for case_id, type_, data in (
        CaseEvent.objects.filter(
            case_id__in=ids, type__in=("case.owner_assigned", "case.owner_changed")
        )
        .order_by("id")
        .values_list("case_id", "type", "data")
    ):
        owner_events[case_id].append({"type": type_, "data": data})

    commitments: dict[int, list[tuple[str, dt.datetime, dt.datetime | None]]] = defaultdict(list)
    for case_id, status, due_at, kept_at in Commitment.objects.filter(case_id__in=ids).values_list(
        "case_id", "status", "due_at", "kept_at"
    ):
        commitments[case_id].append((status, due_at, kept_at))

    gestures: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for case_id, status, value in Gesture.objects.filter(
        case_id__in=ids, status__in=GIVEN_STATUSES
    ).values_list("case_id", "status", "value"):
        gestures[case_id].append((status, value))

    care = {
        case_id: (outcome, at_)
        for case_id, outcome, at_ in CareState.objects.filter(case_id__in=ids).values_list(
            "case_id", "follow_up_outcome", "follow_up_at"
        )
    }
    best_csat: dict[int, int] = {}
    for case_id, csat in SurveyResponse.objects.filter(
        case_id__in=ids, csat__isnull=False
    ).values_list("case_id", "csat"):
        best_csat[case_id] = max(best_csat.get(case_id, 0), csat or 0)

    complaints_of: dict[int, list[dt.datetime]] = defaultdict(list)
    for customer_id, created_at in Case.objects.filter(
        customer_id__in=customer_ids, kind=Kind.COMPLAINT
    ).values_list("customer_id", "created_at"):
        complaints_of[customer_id].append(created_at)
    purchases: dict[int, list[tuple[dt.datetime, Decimal]]] = defaultdict(list)
    for customer_id, occurred_at, amount in Transaction.objects.filter(
        customer_id__in=customer_ids
    ).values_list("customer_id", "occurred_at", "amount"):
        purchases[customer_id].append((occurred_at, amount))
    left_at: dict[int, dt.datetime] = {}
    for customer_id, recorded_at in LeaveReason.objects.filter(
        customer_id__in=customer_ids
    ).values_list("customer_id", "recorded_at"):
        left_at[customer_id] = min(left_at.get(customer_id, recorded_at), recorded_at)

    facts = []
    for c in cases:
        case_id = c["id"]
        created: dt.datetime = c["created_at"]
        closed: dt.datetime | None = c["closed_at"] if not c["is_open"] else None
        is_complaint = c["kind"] == Kind.COMPLAINT
        owners, repeats = owner_counts(owner_events.get(case_id, []))
        kept = [x for x in commitments.get(case_id, []) if x[0] == CommitmentStatus.KEPT]
        given = gestures.get(case_id, [])
        outcome, follow_up_at = care.get(case_id, ("", None))
        fact = CaseFact(
            case_id=case_id,
            customer_id=c["customer_id"],
            owner_id=c["owner_id"],
            team=dim(c["team_id"]),
            channel=dim(c["channel"]),
            kind=dim(c["kind"]),
            topic=dim(str((c["triage"] or {}).get("topic") or "")[:40]),
            created_at=created,
            created_week=week_of(created),
            closed_at=closed,
            closed_week=week_of(closed) if closed else None,
            first_response_s=(
                int((c["first_response_at"] - created).total_seconds())
                if c["first_response_at"]
                else None
            ),
            resolution_days=(closed - created).days if closed else None,
            owners=owners,
            repeats=repeats,
            contacts=contacts.get(case_id, 0),
            replies=replies.get(case_id, 0),
            tone_hits=tone_hits.get(case_id, 0),
            commitments=len(commitments.get(case_id, [])),
            commitments_kept=len(kept),
            commitments_on_time=sum(1 for _, due, kept_at in kept if kept_at and kept_at <= due),
            commitments_broken=sum(
                1 for x in commitments.get(case_id, []) if x[0] == CommitmentStatus.BROKEN
            ),
            gestures=len(given),
            gesture_value=sum((v for _, v in given), Decimal(0)),
            exceptions=sum(1 for s, _ in given if s == GestureStatus.APPROVED),
            follow_up_before_close=bool(
                closed and outcome in FOLLOW_UP_DONE and follow_up_at and follow_up_at <= closed
            ),
            repeat_complaint=is_complaint
            and any(
                created - REPEAT_WINDOW <= other < created
                for other in complaints_of.get(c["customer_id"], [])
            ),
            well_recovered=bool(
                closed
                and is_complaint
                and (outcome == FollowUpOutcome.SATISFIED or best_csat.get(case_id, 0) >= 4)
            ),
        )
        if is_complaint and created + keep_days <= at:
            fact.recovery_known = True
            end = created + keep_days
            fact.known_week = week_of(end)
            gone = left_at.get(c["customer_id"])
            fact.retained = (gone is None or gone > end) and any(
                created < when <= end for when, _ in purchases.get(c["customer_id"], [])
            )
            fact.value_at_stake = sum(
                (
                    amount
                    for when, amount in purchases.get(c["customer_id"], [])
                    if created - VALUE_WINDOW <= when < created
                ),
                Decimal(0),
            )
        facts.append(fact)
    return facts


def _batches(ids: Iterable[int], size: int = BATCH) -> Iterator[list[int]]:
    iterator = iter(ids)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def save_facts(case_ids: Iterable[int], *, at: dt.datetime) -> set[dt.date]:
    """Recompute and store the facts of these cases; returns the weeks whose cells changed."""
    weeks: set[dt.date] = set()
    for batch in _batches(case_ids):
        old = CaseFact.objects.filter(case_id__in=batch).values_list(
            "created_week", "closed_week", "known_week"
        )
        for row in old:
            weeks.update(w for w in row if w)
        facts = compute_facts(batch, at=at)
        for fact in facts:
            weeks.update(w for w in (fact.created_week, fact.closed_week, fact.known_week) if w)
        with transaction.atomic():
            CaseFact.objects.filter(case_id__in=batch).delete()
            CaseFact.objects.bulk_create(facts, batch_size=500)
    return weeks


# --- the cube -------------------------------------------------------------------------------


def _count_if(condition: Q) -> Sum:
    return Sum(When_(When(condition, then=Value(1)), default=Value(0)), output_field=IntegerField())


def _money_if(condition: Q, field: str) -> Coalesce:
    money = DecimalField(max_digits=16, decimal_places=2)
    return Coalesce(
        Sum(When_(When(condition, then=field), default=Value(Decimal(0))), output_field=money),
        Value(Decimal(0)),
        output_field=money,
    )


def _sum(field: str) -> Coalesce:
    return Coalesce(Sum(field), Value(0))


RECEIVED = {
    "received": Count("pk"),
    "complaints": _count_if(Q(kind=Kind.COMPLAINT)),
    "repeat_complaints": _count_if(Q(repeat_complaint=True)),
    "first_response_n": Count("first_response_s"),
    "first_response_s": _sum("first_response_s"),
}
KNOWN = {
    "recovery_known": Count("pk"),
    "retained": _count_if(Q(retained=True)),
    "value_retained": _money_if(Q(retained=True), "value_at_stake"),
}
CLOSED: dict[str, Any] = {
    "closed": Count("pk"),
    "closed_complaints": _count_if(Q(kind=Kind.COMPLAINT)),
    "one_owner": _count_if(Q(owners__lte=1)),
    "one_owner_no_repeat": _count_if(Q(owners__lte=1, repeats=0)),
    "contacts": _sum("contacts"),
    "replies": _sum("replies"),
    "tone_hits": _sum("tone_hits"),
    "commitments": _sum("commitments"),
    "commitments_kept": _sum("commitments_kept"),
    "commitments_on_time": _sum("commitments_on_time"),
    "commitments_broken": _sum("commitments_broken"),
    "gestures": _sum("gestures"),
    "gesture_value": _money_if(Q(gesture_value__gt=0), "gesture_value"),
    "exceptions": _sum("exceptions"),
    "follow_up_before_close": _count_if(Q(follow_up_before_close=True)),
    "well_recovered": _count_if(Q(well_recovered=True)),
    **{
        f"res_le_{n}": _count_if(Q(kind=Kind.COMPLAINT, resolution_days__lte=n))
        for n in RESOLUTION_BUCKETS
    },
}
ANSWERS: dict[str, Any] = {
    "responses": Count("pk"),
    "csat_n": Count("csat"),
    "csat_sum": _sum("csat"),
    "csat_satisfied": _count_if(Q(csat__gte=4)),
    "cared_n": Count("cared"),
    "cared_agree": _count_if(Q(cared__gte=4)),
    "nps_n": Count("nps"),
    "promoters": _count_if(Q(nps__gte=9)),
    "detractors": _count_if(Q(nps__lte=6)),
    "raving_n": Count("raving_fan"),
    "raving_yes": _count_if(Q(raving_fan=True)),
    **{f"loyalty_{level}": _count_if(Q(loyalty_level=level)) for level in LoyaltyLevel.values},
}


def _groupings() -> list[tuple[str, ...]]:
    return [
        tuple(d for d, keep in zip(DIMENSIONS, mask, strict=True) if keep)
        for mask in itertools.product((True, False), repeat=len(DIMENSIONS))
    ]


Cells = dict[tuple[dt.date, str, str, str, str], dict[str, Any]]


def _add(
    cells: Cells,
    rows: Iterable[dict[str, Any]],
    *,
    week_field: str,
    columns: dict[str, str],
    kept: tuple[str, ...],
    sums: Iterable[str],
) -> None:
    sums = list(sums)
    for row in rows:
        row = {k.removeprefix("s_"): v for k, v in row.items()}
        week = row[week_field]
        if isinstance(week, dt.datetime):
            week = week.date()
        key = (
            week,
            *(dim(row[columns[d]]) if d in kept else ALL for d in DIMENSIONS),
        )
        cell = cells.setdefault(key, {})  # type: ignore[arg-type]
        for name in sums:
            value = row[name] or 0
            cell[name] = cell.get(name, 0) + value


def _in_weeks(field: str, weeks: set[dt.date]) -> Q:
    condition = Q(pk__in=[])
    for week in weeks:
        start = dt.datetime.combine(week, dt.time(), tzinfo=UTC)
        condition |= Q(**{f"{field}__gte": start, f"{field}__lt": start + dt.timedelta(days=7)})
    return condition


def cube_cells(weeks: set[dt.date] | None = None, *, at: dt.datetime | None = None) -> Cells:
    """Every cube cell of ``weeks`` (all weeks when None) computed from facts and answers."""
    cells: Cells = {}
    fact_columns = {d: d for d in DIMENSIONS}
    answer_columns = {
        "team": "team_id",
        "channel": "case_channel",
        "kind": "case_kind",
        "topic": "topic",
    }
    invite_columns = {
        "team": "case__team_id",
        "channel": "case__channel",
        "kind": "case__kind",
        "topic": "case_topic",
    }
    answers = SurveyResponse.objects.annotate(week=TruncWeek("created_at", tzinfo=UTC))
    invitations = Invitation.objects.filter(
        status__in=(InvitationStatus.SENT, InvitationStatus.ANSWERED)
    ).annotate(
        week=TruncWeek("created_at", tzinfo=UTC),
        case_topic=KeyTextTransform("topic", "case__triage"),
    )
    if weeks is not None:
        answers = answers.filter(_in_weeks("created_at", weeks))
        invitations = invitations.filter(_in_weeks("created_at", weeks))
    for kept in _groupings():
        for week_field, sums in (
            ("created_week", RECEIVED),
            ("closed_week", CLOSED),
            ("known_week", KNOWN),
        ):
            facts: QuerySet[CaseFact] = CaseFact.objects.filter(**{f"{week_field}__isnull": False})
            if weeks is not None:
                facts = facts.filter(**{f"{week_field}__in": sorted(weeks)})
            rows = (
                facts.values(week_field, *kept)
                .annotate(**{f"s_{k}": v for k, v in sums.items()})
                .order_by()
            )
            _add(cells, rows, week_field=week_field, columns=fact_columns, kept=kept, sums=sums)
        answer_keys = [answer_columns[d] for d in kept]
        rows = (
            answers.values("week", *answer_keys)
            .annotate(**{f"s_{k}": v for k, v in ANSWERS.items()})
            .order_by()
        )
        _add(cells, rows, week_field="week", columns=answer_columns, kept=kept, sums=ANSWERS)
        invite_keys = [invite_columns[d] for d in kept]
        rows = (
            invitations.values("week", *invite_keys).annotate(s_invitations=Count("pk")).order_by()
        )
        _add(
            cells,
            rows,
            week_field="week",
            columns=invite_columns,
            kept=kept,
            sums=["invitations"],
        )
    for week, (known, retained) in silent_problems(weeks, at=at).items():
        cell = cells.setdefault((week, ALL, ALL, ALL, ALL), {})
        cell["silent_known"] = known
        cell["silent_retained"] = retained
    return cells


def silent_problems(
    weeks: set[dt.date] | None, *, at: dt.datetime | None = None
) -> dict[dt.date, tuple[int, int]]:
    """Per week its window ended: customers who told a follow-up something went wrong but
    opened no case (known, still a customer after the window)."""
    at = at or now()
    keep_days = dt.timedelta(days=assumptions().active_after_days)
    problems = list(
        FollowUp.objects.filter(
            answer__in=(FollowUpAnswer.NO, FollowUpAnswer.NOT_QUITE),
            case__isnull=True,
            answered_at__lte=at - keep_days,
        ).values_list("customer_id", "answered_at")
    )
    if not problems:
        return {}
    customer_ids = {c for c, _ in problems}
    purchases: dict[int, list[dt.datetime]] = defaultdict(list)
    for customer_id, occurred_at in Transaction.objects.filter(
        customer_id__in=customer_ids
    ).values_list("customer_id", "occurred_at"):
        purchases[customer_id].append(occurred_at)
    gone = dict(
        LeaveReason.objects.filter(customer_id__in=customer_ids).values_list(
            "customer_id", "recorded_at"
        )
    )
    out: dict[dt.date, tuple[int, int]] = {}
    for customer_id, answered_at in problems:
        if answered_at is None:
            continue
        end = answered_at + keep_days
        week = week_of(end)
        if weeks is not None and week not in weeks:
            continue
        left = gone.get(customer_id)
        kept = (left is None or left > end) and any(
            answered_at < when <= end for when in purchases.get(customer_id, [])
        )
        known, retained = out.get(week, (0, 0))
        out[week] = (known + 1, retained + int(kept))
    return out


def _write_cells(cells: Cells, weeks: set[dt.date] | None) -> int:
    rows = []
    for (week, team, channel, kind, topic), sums in cells.items():
        row = WeeklyCube(week=week, team=team, channel=channel, kind=kind, topic=topic)
        for name, value in sums.items():
            setattr(row, name, Decimal(value) if name in MONEY_SUMS else int(value))
        rows.append(row)
    with transaction.atomic():
        existing = WeeklyCube.objects.all()
        if weeks is not None:
            existing = existing.filter(week__in=sorted(weeks))
        existing.delete()
        WeeklyCube.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _snapshot(started: float, at: dt.datetime) -> RollupState:
    state = RollupState.objects.filter(pk=1).first() or RollupState(pk=1)
    state.built_at = at
    state.build_seconds = time.monotonic() - started
    state.active_customers = _active_customers()
    expected = expectation(Measure.EXPECT_COMPLAINT)
    state.expected_days = expected.median
    state.expected_sample = expected.sample
    state.save()
    return state


def _active_customers() -> int:
    from cherish.customers.models import Customer

    return Customer.objects.filter(
        status=RelationshipStatus.ACTIVE, merged_into__isnull=True, erased_at__isnull=True
    ).count()


def rebuild(*, at: dt.datetime | None = None) -> dict[str, int]:
    """Recompute every fact and every cube cell from the domain rows."""
    at = at or now()
    started = time.monotonic()
    case_ids = list(Case.objects.order_by("pk").values_list("pk", flat=True))
    CaseFact.objects.all().delete()
    save_facts(case_ids, at=at)
    cells = cube_cells(None, at=at)
    written = _write_cells(cells, None)
    state = _snapshot(started, at)
    state.rebuilt_at = at
    state.save(update_fields=["rebuilt_at"])
    return {"cases": len(case_ids), "cells": written}


def refresh(*, at: dt.datetime | None = None) -> dict[str, int]:
    """Redo the facts of cases changed since the last build (and those whose 90 days just
    ended), then the cube cells of every week they touch. A full ``rebuild`` nightly catches
    what a change elsewhere (a kept commitment, a purchase) did to older cases."""
    at = at or now()
    state = RollupState.objects.filter(pk=1).first()
    if state is None or state.built_at is None or state.rebuilt_at is None:
        return rebuild(at=at)
    if at - state.rebuilt_at > FULL_REBUILD_EVERY:
        return rebuild(at=at)
    started = time.monotonic()
    since = state.built_at - dt.timedelta(minutes=5)
    keep_days = dt.timedelta(days=assumptions().active_after_days)
    changed = set(Case.objects.filter(updated_at__gte=since).values_list("pk", flat=True))
    changed |= set(
        Case.objects.filter(
            kind=Kind.COMPLAINT,
            created_at__gte=since - keep_days,
            created_at__lt=at - keep_days,
        ).values_list("pk", flat=True)
    )
    changed |= set(
        SurveyResponse.objects.filter(updated_at__gte=since, case__isnull=False).values_list(
            "case_id", flat=True
        )
    )
    weeks = save_facts(sorted(changed), at=at)
    weeks |= {
        week_of(a)
        for a in SurveyResponse.objects.filter(updated_at__gte=since).values_list(
            "created_at", flat=True
        )
    }
    weeks |= {
        week_of(a)
        for a in Invitation.objects.filter(created_at__gte=since).values_list(
            "created_at", flat=True
        )
    }
    weeks.add(week_of(at))
    weeks.add(week_of(at - keep_days))
    written = _write_cells(cube_cells(weeks, at=at), weeks)
    _snapshot(started, at)
    return {"cases": len(changed), "cells": written, "weeks": len(weeks)}
