"""Reads for the scorecard pages, the API and the digest (no writes)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from cherish.care.models import Commitment, CommitmentStatus
from cherish.cases.models import CaseEvent, Channel, Kind
from cherish.core.clock import now
from cherish.customers.models import CustomerEvent, LeaveReason, LeaveReasonKind
from cherish.feedback.models import SurveyResponse
from cherish.scorecard import figures
from cherish.scorecard.figures import Figure, Filters, Period, Window
from cherish.scorecard.models import ALL, NO_VALUE, CaseFact, RollupState, WeeklyCube
from cherish.staff.access import scope_of
from cherish.staff.models import Role, Staff, Team

UTC = dt.UTC


def bounds(window: Window) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(window.start, dt.time(), tzinfo=UTC)
    return start, start + dt.timedelta(days=7 * window.weeks)


def current_window(period: Period, today: dt.date) -> Window:
    return figures.windows(period, today)[-1]


@dataclass(frozen=True)
class FigureRow:
    figure: Figure
    value: float | None
    previous: float | None
    trend: list[tuple[Window, float | None]]

    @property
    def has_data(self) -> bool:
        return any(v is not None for _, v in self.trend)


@dataclass
class Scorecard:
    period: Period
    filters: Filters
    window: Window
    previous: Window
    rows: dict[str, FigureRow]
    context: figures.Context
    built_at: dt.datetime | None
    seven_cs: list[tuple[str, str, str, list[FigureRow]]] = field(default_factory=list)

    @property
    def headline(self) -> list[FigureRow]:
        return [self.rows[k] for k in figures.SCORECARD_KEYS]


def scorecard(filters: Filters, period: Period, today: dt.date) -> Scorecard:
    """Every figure for this period, the previous one and the trend: one cube query."""
    points = figures.series(filters, period, today)
    ctx = figures.context()
    per_window = [(w, figures.values(t, ctx)) for w, t in points]
    rows = {
        f.key: FigureRow(
            figure=f,
            value=per_window[-1][1][f.key],
            previous=per_window[-2][1][f.key] if len(per_window) > 1 else None,
            trend=[(w, v[f.key]) for w, v in per_window],
        )
        for f in figures.FIGURES
    }
    state = RollupState.objects.filter(pk=1).first()
    card = Scorecard(
        period=period,
        filters=filters,
        window=per_window[-1][0],
        previous=per_window[-2][0],
        rows=rows,
        context=ctx,
        built_at=state.built_at if state else None,
    )
    card.seven_cs = [
        (key, str(label), str(definition), [r for r in rows.values() if r.figure.c == key])
        for key, label, definition in figures.SEVEN_CS
    ]
    return card


@dataclass(frozen=True)
class BreakdownRow:
    value: str
    label: str
    received: int
    complaints: int
    share: float | None


DIMENSION_LABELS = {
    "channel": dict(Channel.choices),
    "kind": dict(Kind.choices),
}


def _dimension_labels(dimension: str) -> dict[str, str]:
    if dimension == "team":
        return {str(pk): name for pk, name in Team.objects.values_list("pk", "name")}
    # Choice labels are translated lazily: render them in the active language here.
    return {key: str(label) for key, label in DIMENSION_LABELS.get(dimension, {}).items()}


def breakdown(
    dimension: str, filters: Filters, period: Period, today: dt.date
) -> list[BreakdownRow]:
    """Cases received in the current period per value of one dimension (the channel mix)."""
    window = current_window(period, today)
    wanted = filters.cube()
    others = {k: v for k, v in wanted.items() if k != dimension}
    rows = WeeklyCube.objects.filter(
        **others, week__gte=window.start, week__lte=window.last_week
    ).exclude(**{dimension: ALL})
    if wanted[dimension] != ALL:
        rows = rows.filter(**{dimension: wanted[dimension]})
    sums = (
        rows.values(dimension)
        .annotate(received=Sum("received"), complaints=Sum("complaints"))
        .order_by(dimension)
    )
    labels = _dimension_labels(dimension)
    data = [(r[dimension], r["received"] or 0, r["complaints"] or 0) for r in sums]
    data = [d for d in data if d[1]]
    total = sum(d[1] for d in data)
    return [
        BreakdownRow(
            value=value,
            label=labels.get(value, "none" if value == NO_VALUE else value),
            received=received,
            complaints=complaints,
            share=round(100 * received / total, 1) if total else None,
        )
        for value, received, complaints in data
    ]


@dataclass(frozen=True)
class LoyaltyRow:
    level: str
    count: int
    share: float | None

    @property
    def label(self) -> str:
        return str(LOYALTY_LABELS.get(self.level, self.level))


LOYALTY_LABELS = {
    "none": _("Not yet confident"),
    "confidence": _("Confidence"),
    "fairness": _("Fairness"),
    "pride": _("Pride"),
    "passion": _("Passion"),
}


def loyalty_mix(filters: Filters, period: Period, today: dt.date) -> list[LoyaltyRow]:
    """How the period's relationship answers spread over Gallup's four levels."""
    window = current_window(period, today)
    names = [f"loyalty_{level}" for level in figures.LOYALTY_LEVELS]
    sums = WeeklyCube.objects.filter(
        **filters.cube(), week__gte=window.start, week__lte=window.last_week
    ).aggregate(**{n: Sum(n) for n in names})
    counts = [sums[n] or 0 for n in names]
    total = sum(counts)
    return [
        LoyaltyRow(level, count, round(100 * count / total, 1) if total else None)
        for level, count in zip(figures.LOYALTY_LEVELS, counts, strict=True)
    ]


@dataclass(frozen=True)
class LeaveRow:
    reason: str
    label: str
    count: int
    share: float | None
    benchmark: int | None


def leave_reasons(period: Period, today: dt.date) -> list[LeaveRow]:
    """Why customers told us they left in the period, beside the 1/3/5/9/14/68 % study."""
    start, end = bounds(current_window(period, today))
    counts = dict(
        LeaveReason.objects.filter(recorded_at__gte=start, recorded_at__lt=end)
        .values_list("reason")
        .annotate(n=Count("pk"))
        .values_list("reason", "n")
    )
    total = sum(counts.values())
    benchmark = dict(figures.LEAVE_BENCHMARK)
    return [
        LeaveRow(
            reason=value,
            label=str(label),
            count=counts.get(value, 0),
            share=round(100 * counts.get(value, 0) / total, 1) if total else None,
            benchmark=benchmark.get(value),
        )
        for value, label in LeaveReasonKind.choices
    ]


# --- drill-down ---------------------------------------------------------------------------


def drill_facts(
    figure: Figure, filters: Filters, window: Window
) -> QuerySet[CaseFact] | QuerySet[SurveyResponse] | None:
    """The rows behind a figure in one window: case facts or survey answers."""
    drill = figure.drill
    if drill is None:
        return None
    if drill.source == "answers":
        start, end = bounds(window)
        answers = SurveyResponse.objects.filter(
            drill.condition, created_at__gte=start, created_at__lt=end
        )
        for name, column in (
            ("team", "team_id"),
            ("channel", "case_channel"),
            ("kind", "case_kind"),
            ("topic", "topic"),
        ):
            value = filters.cube()[name]
            if value == ALL:
                continue
            if value == NO_VALUE:
                answers = answers.filter(
                    **({f"{column}__isnull": True} if name == "team" else {column: ""})
                )
            else:
                answers = answers.filter(**{column: value})
        return answers.select_related("case", "customer", "survey").order_by("-created_at", "-pk")
    week = drill.week_field
    return (
        CaseFact.objects.filter(
            filters.facts(),
            drill.condition,
            **{f"{week}__gte": window.start, f"{week}__lte": window.last_week},
        )
        .select_related("case")
        .order_by("-created_at", "-case_id")
    )


# --- people -------------------------------------------------------------------------------


@dataclass
class PersonRow:
    staff_id: int
    name: str
    team: str
    answers: int = 0
    satisfied: int = 0
    recoveries: int = 0
    commitments_due: int = 0
    commitments_on_time: int = 0
    compliments: int = 0

    @property
    def satisfaction(self) -> float | None:
        return round(100 * self.satisfied / self.answers) if self.answers else None

    @property
    def on_time(self) -> float | None:
        if not self.commitments_due:
            return None
        return round(100 * self.commitments_on_time / self.commitments_due)


def visible_staff(viewer: Staff) -> QuerySet[Staff]:
    """An agent sees themself; a lead, the people of the teams they lead; a manager, all."""
    scope = scope_of(viewer)
    people = Staff.objects.filter(user__is_active=True)
    if scope.everything or viewer.role in (Role.MANAGER, Role.ADMINISTRATOR):
        return people
    if scope.led_team_ids:
        return people.filter(Q(team_id__in=scope.led_team_ids) | Q(pk=viewer.pk))
    return people.filter(pk=viewer.pk)


def people(viewer: Staff, window: Window) -> list[PersonRow]:
    """Per person, in the window: their customers' satisfaction, recoveries, commitments kept
    on time and compliments. Deliberately no counts of calls or handling times."""
    start, end = bounds(window)
    staff = list(visible_staff(viewer).select_related("team").order_by("display_name"))
    rows = {s.pk: PersonRow(s.pk, s.display_name, s.team.name if s.team else "") for s in staff}
    ids = list(rows)
    for owner_id, n, satisfied in (
        SurveyResponse.objects.filter(
            owner_id__in=ids, csat__isnull=False, created_at__gte=start, created_at__lt=end
        )
        .values_list("owner_id")
        .annotate(n=Count("pk"), satisfied=Count("pk", filter=Q(csat__gte=4)))
        .values_list("owner_id", "n", "satisfied")
    ):
        if owner_id is not None:
            rows[owner_id].answers, rows[owner_id].satisfied = int(n), int(satisfied)
    for fact_owner, n in (
        CaseFact.objects.filter(
            owner_id__in=ids,
            well_recovered=True,
            closed_week__gte=window.start,
            closed_week__lte=window.last_week,
        )
        .values_list("owner_id")
        # COUNT(*), not COUNT(case_id): the key is not SQLite's rowid, so counting it would
        # read every row instead of the (owner, week, recovered) index alone.
        .annotate(n=Count("*"))
        .values_list("owner_id", "n")
    ):
        if fact_owner is not None:
            rows[fact_owner].recoveries = n
    for owner_id, due, on_time in (
        Commitment.objects.filter(owner_id__in=ids, due_at__gte=start, due_at__lt=end)
        .exclude(status=CommitmentStatus.OPEN, due_at__gte=now())
        .values_list("owner_id")
        .annotate(
            due=Count("pk"),
            on_time=Count(
                "pk",
                filter=Q(status=CommitmentStatus.KEPT, kept_at__isnull=False)
                & Q(kept_at__lte=F("due_at")),
            ),
        )
        .values_list("owner_id", "due", "on_time")
    ):
        rows[owner_id].commitments_due, rows[owner_id].commitments_on_time = due, on_time
    for staff_id, n in compliments_by_staff(ids, start, end).items():
        rows[staff_id].compliments = n
    return list(rows.values())


def compliments_by_staff(ids: list[int], start: dt.datetime, end: dt.datetime) -> dict[int, int]:
    """Compliments credited to each person (from messages and from survey answers)."""
    counts: dict[int, int] = defaultdict(int)
    wanted = set(ids)
    for model in (CaseEvent, CustomerEvent):
        for data in model.objects.filter(
            type="compliment.credited", created_at__gte=start, created_at__lt=end
        ).values_list("data", flat=True):
            staff_id = (data or {}).get("staff_id")
            if staff_id in wanted:
                counts[staff_id] += 1
    return counts


@dataclass
class TeamRow:
    name: str
    people: int
    answers: int
    satisfied: int
    recoveries: int
    commitments_due: int
    commitments_on_time: int
    compliments: int

    @property
    def satisfaction(self) -> float | None:
        return round(100 * self.satisfied / self.answers) if self.answers else None

    @property
    def on_time(self) -> float | None:
        if not self.commitments_due:
            return None
        return round(100 * self.commitments_on_time / self.commitments_due)


def teams(rows: list[PersonRow]) -> list[TeamRow]:
    by_team: dict[str, TeamRow] = {}
    for r in rows:
        t = by_team.setdefault(
            r.team or "No team", TeamRow(r.team or "No team", 0, 0, 0, 0, 0, 0, 0)
        )
        t.people += 1
        t.answers += r.answers
        t.satisfied += r.satisfied
        t.recoveries += r.recoveries
        t.commitments_due += r.commitments_due
        t.commitments_on_time += r.commitments_on_time
        t.compliments += r.compliments
    return sorted(by_team.values(), key=lambda t: t.name)
