"""The silent-churn radar: a daily, explainable risk score per customer.

96% of unhappy customers never complain; they simply stop coming back (seed 000). The radar
looks for the traces they leave instead: buying less often than their own rhythm, a recent
problem nobody checked on, a poor follow-up answer, angry messages, messages left
unanswered, silence after a complaint, broken promises.

The model is a logistic function of named features (each scaled to 0..1). A feature's
contribution is weight × value, so the reasons shown are simply the largest contributions,
written in plain words. Everything is read in bulk: one streamed pass over transactions
ordered by customer and a handful of grouped aggregates over cases, follow-ups and events;
there is no per-customer query.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import Count, Max, Q

from cherish.cases.models import Case, CaseEvent, Kind
from cherish.core.clock import now
from cherish.customers.models import NON_VALUE_STATUSES, Customer, RelationshipStatus, Transaction
from cherish.outreach.models import ChurnScore, FollowUp, FollowUpAnswer

BIAS = -3.0
WEIGHTS: dict[str, float] = {
    "rhythm_break": 3.2,
    "slowing_down": 1.4,
    "said_leaving": 2.0,
    "recent_problem_unchecked": 1.2,
    "poor_follow_up": 1.5,
    "low_satisfaction": 1.5,
    "negative_sentiment": 1.0,
    "unanswered": 1.2,
    "silence_after_complaint": 1.6,
    "broken_commitments": 1.5,
}
NEGATIVE_EMOTIONS = ("anger", "frustration", "disappointment", "worry")
PROBLEM_WINDOW = dt.timedelta(days=90)
ANSWER_WINDOW = dt.timedelta(days=180)
UNANSWERED_AFTER = dt.timedelta(hours=48)
MIN_REASON_CONTRIBUTION = 0.3
MAX_REASONS = 3
WRITE_BATCH = 2000


@dataclass
class Rhythm:
    """A customer's purchase history, reduced to what the radar needs."""

    count: int = 0
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None
    median_gap_days: float | None = None
    last_gap_days: float | None = None
    value_12m: Decimal = Decimal("0")


@dataclass
class Signals:
    rhythm: Rhythm = field(default_factory=Rhythm)
    last_complaint_at: dt.datetime | None = None
    last_complaint_reference: str = ""
    recent_complaint_unchecked: bool = False
    poor_answer: str = ""
    max_negative_intensity: float = 0.0
    negative_emotion: str = ""
    said_leaving: bool = False
    unanswered_since: dt.datetime | None = None
    broken_commitments: int = 0
    low_satisfaction: bool = False


def rhythms(as_of: dt.datetime, customer_ids: set[int] | None = None) -> dict[int, Rhythm]:
    """One streamed pass over transactions ordered by (customer, time)."""
    year_ago = as_of - dt.timedelta(days=365)
    qs = Transaction.objects.filter(occurred_at__lte=as_of).exclude(status__in=NON_VALUE_STATUSES)
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=customer_ids)
    rows = qs.order_by("customer_id", "occurred_at").values_list(
        "customer_id", "occurred_at", "amount"
    )
    result: dict[int, Rhythm] = {}
    current: int | None = None
    times: list[dt.datetime] = []
    value = Decimal("0")

    def close() -> None:
        if current is None or not times:
            return
        gaps = [(b - a).total_seconds() / 86400 for a, b in itertools.pairwise(times)]
        result[current] = Rhythm(
            count=len(times),
            first_at=times[0],
            last_at=times[-1],
            median_gap_days=statistics.median(gaps) if len(gaps) >= 2 else None,
            last_gap_days=gaps[-1] if gaps else None,
            value_12m=value,
        )

    for customer_id, occurred_at, amount in rows.iterator(chunk_size=5000):
        if customer_id != current:
            close()
            current, times, value = customer_id, [], Decimal("0")
        times.append(occurred_at)
        if occurred_at >= year_ago:
            value += amount
    close()
    return result


def gather_signals(as_of: dt.datetime, customer_ids: set[int] | None = None) -> dict[int, Signals]:
    """Every signal for every (or the given) customer, in a fixed number of queries."""
    signals: dict[int, Signals] = {}

    def get(pk: int) -> Signals:
        if pk not in signals:
            signals[pk] = Signals()
        return signals[pk]

    def scoped(qs: Any, field_name: str = "customer_id") -> Any:
        return qs.filter(**{f"{field_name}__in": customer_ids}) if customer_ids is not None else qs

    for pk, rhythm in rhythms(as_of, customer_ids).items():
        get(pk).rhythm = rhythm

    complaints = scoped(Case.objects.filter(kind=Kind.COMPLAINT, created_at__lte=as_of))
    for row in complaints.values("customer_id").annotate(last=Max("created_at")):
        get(row["customer_id"]).last_complaint_at = row["last"]
    # A recent complaint counts as "checked" once the customer answered a follow-up after it.
    checked_after = {
        (cid, at)
        for cid, at in scoped(
            FollowUp.objects.filter(answered_at__isnull=False, answer=FollowUpAnswer.YES)
        ).values_list("customer_id", "answered_at")
    }
    checked: dict[int, dt.datetime] = {}
    for cid, at in checked_after:
        checked[cid] = max(at, checked.get(cid, at))
    recent = complaints.filter(created_at__gte=as_of - PROBLEM_WINDOW).values_list(
        "customer_id", "reference", "created_at"
    )
    for cid, reference, created_at in recent.order_by("created_at").iterator(2000):
        s = get(cid)
        s.last_complaint_reference = reference
        if checked.get(cid) is None or checked[cid] < created_at:
            s.recent_complaint_unchecked = True
    # What recent cases showed over their whole history (the case-level signals triage and
    # staff keep), not only their newest message: a "thanks" does not undo "I'm leaving".
    for cid, triage, signals in (
        scoped(
            Case.objects.filter(last_inbound_at__gte=as_of - PROBLEM_WINDOW, triage__isnull=False)
        )
        .values_list("customer_id", "triage", "signals")
        .iterator(2000)
    ):
        if not isinstance(triage, dict):
            continue
        signals = signals if isinstance(signals, dict) else {}
        s = get(cid)
        if "leaving" in (signals.get("flags") or {}):
            s.said_leaving = True
        strongest = signals.get("emotion") or triage
        emotion = strongest.get("emotion")
        try:
            intensity = float(strongest.get("intensity") or 0)
        except (TypeError, ValueError):
            intensity = 0.0
        if emotion in NEGATIVE_EMOTIONS and intensity > s.max_negative_intensity:
            s.max_negative_intensity, s.negative_emotion = min(intensity, 1.0), str(emotion)
    for cid, answer in (
        scoped(
            FollowUp.objects.filter(
                answered_at__gte=as_of - ANSWER_WINDOW,
                answer__in=[FollowUpAnswer.NO, FollowUpAnswer.NOT_QUITE],
            )
        )
        .values_list("customer_id", "answer")
        .iterator(2000)
    ):
        s = get(cid)
        if s.poor_answer != FollowUpAnswer.NO:
            s.poor_answer = answer
    unanswered = scoped(
        Case.objects.filter(
            is_open=True,
            first_response_at__isnull=True,
            last_inbound_at__lte=as_of - UNANSWERED_AFTER,
        )
    )
    for row in unanswered.values("customer_id").annotate(since=Max("last_inbound_at")):
        get(row["customer_id"]).unanswered_since = row["since"]
    broken = scoped(
        CaseEvent.objects.filter(
            type__in=["commitment.broken", "commitment.overdue"],
            created_at__gte=as_of - ANSWER_WINDOW,
            created_at__lte=as_of,
        )
    )
    for row in broken.values("customer_id").annotate(n=Count("id")):
        get(row["customer_id"]).broken_commitments = row["n"]
    _low_satisfaction(signals, as_of, get, customer_ids)
    return signals


def _low_satisfaction(
    signals: dict[int, Signals], as_of: dt.datetime, get: Any, customer_ids: set[int] | None
) -> None:
    """Detractors and low satisfaction scores, once the feedback app records them."""
    if not apps.is_installed("cherish.feedback"):
        return
    for name in ("SurveyAnswer", "SurveyResponse", "Response"):
        try:
            model = apps.get_model("feedback", name)
        except LookupError:
            continue
        names = {f.name for f in model._meta.get_fields()}
        if not {"customer", "nps"} <= names:
            continue
        low = Q(nps__lte=6, nps__isnull=False)
        if "csat" in names:
            low |= Q(csat__lte=2, csat__isnull=False)
        qs = model.objects.filter(low)
        if "created_at" in names:
            qs = qs.filter(created_at__gte=as_of - ANSWER_WINDOW)
        if customer_ids is not None:
            qs = qs.filter(customer_id__in=customer_ids)
        for cid in qs.values_list("customer_id", flat=True).distinct():
            get(cid).low_satisfaction = True
        return


def features(s: Signals, as_of: dt.datetime) -> dict[str, float]:
    """Scale each signal to 0..1 (0 = no concern)."""
    r = s.rhythm
    f = dict.fromkeys(WEIGHTS, 0.0)
    if r.last_at is not None and r.median_gap_days:
        usual = max(r.median_gap_days, 7.0)
        since = (as_of - r.last_at).total_seconds() / 86400
        # Overdue by one usual gap scores 0.25, by four gaps or more 1.0.
        f["rhythm_break"] = min(max(since / usual - 1.0, 0.0), 4.0) / 4.0
        if r.last_gap_days is not None:
            f["slowing_down"] = min(max(r.last_gap_days / usual - 1.0, 0.0), 3.0) / 3.0
    f["said_leaving"] = 1.0 if s.said_leaving else 0.0
    f["recent_problem_unchecked"] = 1.0 if s.recent_complaint_unchecked else 0.0
    f["poor_follow_up"] = {"no": 1.0, "not_quite": 0.6}.get(s.poor_answer, 0.0)
    f["low_satisfaction"] = 1.0 if s.low_satisfaction else 0.0
    f["negative_sentiment"] = s.max_negative_intensity
    f["unanswered"] = 1.0 if s.unanswered_since else 0.0
    if s.last_complaint_at is not None:
        quiet_days = (as_of - s.last_complaint_at).days
        bought_since = r.last_at is not None and r.last_at > s.last_complaint_at
        usual = max(r.median_gap_days or 30.0, 14.0)
        if not bought_since and quiet_days > max(30.0, 1.5 * usual):
            f["silence_after_complaint"] = min(quiet_days / (3 * usual), 1.0)
    f["broken_commitments"] = min(s.broken_commitments, 2) / 2.0
    return f


def score(feature_values: dict[str, float]) -> float:
    z = BIAS + sum(WEIGHTS[name] * value for name, value in feature_values.items())
    return 1.0 / (1.0 + math.exp(-z))


def reasons(s: Signals, feature_values: dict[str, float], as_of: dt.datetime) -> list[str]:
    """The largest contributions, in plain words a care agent would say to a colleague."""
    contributions = sorted(
        ((WEIGHTS[n] * v, n) for n, v in feature_values.items() if v > 0), reverse=True
    )
    texts: list[str] = []
    r = s.rhythm
    for contribution, name in contributions:
        if contribution < MIN_REASON_CONTRIBUTION or len(texts) >= MAX_REASONS:
            break
        texts.append(_explain(name, s, r, as_of))
    return texts


def _days(delta: dt.timedelta) -> int:
    return max(0, delta.days)


def _explain(name: str, s: Signals, r: Rhythm, as_of: dt.datetime) -> str:
    usual = round(r.median_gap_days or 0)
    if name == "rhythm_break" and r.last_at:
        return (
            f"No purchase for {_days(as_of - r.last_at)} days; they usually buy every {usual} days"
        )
    if name == "slowing_down":
        return (
            f"Buying less often: {round(r.last_gap_days or 0)} days between the last two "
            f"purchases against their usual {usual}"
        )
    if name == "said_leaving":
        return "Said in a recent message that they may leave"
    if name == "recent_problem_unchecked":
        return (
            f"Complained recently ({s.last_complaint_reference}) and nobody checked "
            f"afterwards that they are satisfied"
        )
    if name == "poor_follow_up":
        label = "no" if s.poor_answer == "no" else "not quite"
        return f"Answered “{label}” when we asked whether everything went as expected"
    if name == "low_satisfaction":
        return "Gave a low satisfaction or recommendation score"
    if name == "negative_sentiment":
        return f"Recent messages show {s.negative_emotion or 'strong negative feelings'}"
    if name == "unanswered" and s.unanswered_since:
        return f"A message has waited {_days(as_of - s.unanswered_since)} days for an answer"
    if name == "silence_after_complaint" and s.last_complaint_at:
        return f"Silent for {_days(as_of - s.last_complaint_at)} days since their last complaint"
    if name == "broken_commitments":
        n = s.broken_commitments
        return f"{n} promise{'s' if n != 1 else ''} to them broken or overdue"
    return name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Scored:
    customer_id: int
    score: float
    priority: float
    value_12m: Decimal
    reasons: list[str]
    features: dict[str, float]


def score_customers(as_of: dt.datetime, customer_ids: set[int] | None = None) -> Iterator[Scored]:
    """Score every active or lapsed customer (or the given ones). Pure reads."""
    eligible = Customer.objects.filter(
        merged_into__isnull=True,
        erased_at__isnull=True,
        status__in=[RelationshipStatus.ACTIVE, RelationshipStatus.LAPSED],
    )
    if customer_ids is not None:
        eligible = eligible.filter(pk__in=customer_ids)
    signals = gather_signals(as_of, customer_ids)
    empty = Signals()
    for pk in eligible.values_list("pk", flat=True).iterator(5000):
        s = signals.get(pk, empty)
        values = features(s, as_of)
        risk = score(values)
        value = s.rhythm.value_12m
        yield Scored(
            customer_id=pk,
            score=risk,
            priority=risk * (1.0 + float(max(value, Decimal("0")))),
            value_12m=value,
            reasons=reasons(s, values, as_of),
            features={k: round(v, 3) for k, v in values.items() if v},
        )


def compute_churn_scores(
    *, as_of: dt.datetime | None = None, customer_ids: Iterable[int] | None = None
) -> int:
    """Recompute and store the radar's scores (the daily job). Returns the number stored.

    Upserts one ChurnScore per customer in batches, keeping any outreach case already opened.
    """
    as_of = as_of or now()
    ids = set(customer_ids) if customer_ids is not None else None
    batch: list[ChurnScore] = []
    stored = 0
    for item in score_customers(as_of, ids):
        batch.append(
            ChurnScore(
                customer_id=item.customer_id,
                score=item.score,
                priority=item.priority,
                value_12m=item.value_12m,
                reasons=item.reasons,
                features=item.features,
                computed_at=as_of,
            )
        )
        if len(batch) >= WRITE_BATCH:
            stored += _write(batch)
            batch = []
    if batch:
        stored += _write(batch)
    return stored


def _write(batch: list[ChurnScore]) -> int:
    with transaction.atomic():
        ChurnScore.objects.bulk_create(
            batch,
            update_conflicts=True,
            unique_fields=["customer"],
            update_fields=["score", "priority", "value_12m", "reasons", "features", "computed_at"],
        )
    return len(batch)


def recency_only(as_of: dt.datetime, customer_ids: set[int] | None = None) -> dict[int, float]:
    """The naive baseline the benchmark compares against: days since the last purchase."""
    qs = Transaction.objects.exclude(status__in=NON_VALUE_STATUSES).filter(occurred_at__lte=as_of)
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=customer_ids)
    return {
        row["customer_id"]: (as_of - row["last"]).total_seconds() / 86400
        for row in qs.values("customer_id").annotate(last=Max("occurred_at"))
    }
