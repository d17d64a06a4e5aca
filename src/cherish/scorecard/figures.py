"""The scorecard's figures and the 7 Cs: each one's definition, how it is computed from the
roll-up sums, and which cases lie behind it.

A figure is a pure function of the summed cube columns of one period (``Totals``) and of the
context (assumptions, active customers, what customers expect), so the same definitions
serve this period, the previous one, every point of the trend, the API and the digest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.utils import dateformat
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cherish.cases.models import Kind
from cherish.scorecard.models import (
    ALL,
    CUBE_SUMS,
    MONEY_SUMS,
    RESOLUTION_BUCKETS,
    Assumptions,
    RollupState,
    WeeklyCube,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

Totals = dict[str, Any]


@dataclass(frozen=True)
class Filters:
    team: str = ALL
    channel: str = ALL
    kind: str = ALL
    topic: str = ALL

    def cube(self) -> dict[str, str]:
        return {"team": self.team, "channel": self.channel, "kind": self.kind, "topic": self.topic}

    def facts(self) -> Q:
        return Q(**{k: v for k, v in self.cube().items() if v != ALL})

    @property
    def is_everything(self) -> bool:
        return all(v == ALL for v in self.cube().values())


@dataclass(frozen=True)
class Period:
    key: str
    label: StrOrPromise
    weeks: int
    points: int  # periods in the trend chart, this one included


PERIODS = {
    p.key: p
    for p in (
        Period("week", _("Week"), 1, 12),
        Period("4weeks", _("4 weeks"), 4, 12),
        Period("quarter", _("13 weeks"), 13, 8),
        Period("year", _("52 weeks"), 52, 3),
    )
}
DEFAULT_PERIOD = "4weeks"


@dataclass(frozen=True)
class Window:
    start: dt.date  # a Monday
    weeks: int

    @property
    def end(self) -> dt.date:
        """The last day (a Sunday), inclusive."""
        return self.start + dt.timedelta(days=7 * self.weeks - 1)

    @property
    def last_week(self) -> dt.date:
        return self.start + dt.timedelta(days=7 * (self.weeks - 1))

    @cached_property
    def label(self) -> str:
        # Month names in the active language ("week of 30 Nov 2026", "Woche vom 30 Nov 2026").
        if self.weeks == 1:
            return gettext("week of %(date)s") % {"date": dateformat.format(self.start, "d M Y")}
        return f"{dateformat.format(self.start, 'd M')} – {dateformat.format(self.end, 'd M Y')}"

    @cached_property
    def short(self) -> str:
        return dateformat.format(self.start, "d M")


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def windows(period: Period, today: dt.date) -> list[Window]:
    """The trend's windows, oldest first; the last is the current period (ending this week)."""
    last_start = monday(today) - dt.timedelta(days=7 * (period.weeks - 1))
    return [
        Window(last_start - dt.timedelta(days=7 * period.weeks * back), period.weeks)
        for back in range(period.points - 1, -1, -1)
    ]


def empty_totals() -> Totals:
    return {name: (Decimal(0) if name in MONEY_SUMS else 0) for name in CUBE_SUMS}


def series(filters: Filters, period: Period, today: dt.date) -> list[tuple[Window, Totals]]:
    """Summed cube columns per window: one indexed range query."""
    spans = windows(period, today)
    out = [(w, empty_totals()) for w in spans]
    rows = WeeklyCube.objects.filter(
        **filters.cube(), week__gte=spans[0].start, week__lte=spans[-1].last_week
    ).values_list("week", *CUBE_SUMS)
    step = 7 * period.weeks
    for row in rows:
        index = (row[0] - spans[0].start).days // step
        totals = out[index][1]
        for name, value in zip(CUBE_SUMS, row[1:], strict=True):
            totals[name] += value
    return out


@dataclass(frozen=True)
class Context:
    assumptions: Assumptions
    active_customers: int
    expected_days: float | None
    expected_sample: int

    @property
    def expected_bucket(self) -> int | None:
        """The resolution bucket used for "within what customers expect"."""
        if self.expected_days is None:
            return None
        fitting = [n for n in RESOLUTION_BUCKETS if n <= self.expected_days]
        return fitting[-1] if fitting else RESOLUTION_BUCKETS[0]


def context() -> Context:
    state = RollupState.objects.filter(pk=1).first() or RollupState(pk=1)
    assumptions = Assumptions.objects.filter(pk=1).first() or Assumptions(pk=1)
    return Context(
        assumptions=assumptions,
        active_customers=state.active_customers,
        expected_days=state.expected_days,
        expected_sample=state.expected_sample,
    )


def ratio(part: float | Decimal, whole: float | Decimal, scale: float = 100.0) -> float | None:
    if not whole:
        return None
    return float(part) * scale / float(whole)


def median_days(t: Totals) -> float | None:
    """The median resolution time of complaints closed, as the smallest bucket (1, 2, 3, 5, 7,
    10, 14, 30 days) holding half of them; 31 means "more than 30 days"."""
    total = t["closed_complaints"]
    if not total:
        return None
    for n in RESOLUTION_BUCKETS:
        if 2 * t[f"res_le_{n}"] >= total:
            return float(n)
    return 31.0


def within_expectation(t: Totals, c: Context) -> float | None:
    bucket = c.expected_bucket
    if bucket is None:
        return None
    return ratio(t[f"res_le_{bucket}"], t["closed_complaints"])


def silent_unhappy(t: Totals, c: Context) -> float:
    return float(t["complaints"] * c.assumptions.silent_per_complaint)


@dataclass(frozen=True)
class Drill:
    """Which facts lie behind a figure: those received, closed or "known" in the period."""

    week_field: str  # created_week, closed_week or known_week
    condition: Q = field(default_factory=Q)
    source: str = "facts"  # or "answers"


@dataclass(frozen=True)
class Figure:
    key: str
    label: StrOrPromise
    definition: StrOrPromise
    unit: str  # "%", "count", "days", "hours", "per100", "money", "score", "avg"
    compute: Callable[[Totals, Context], float | None]
    drill: Drill | None = None
    c: str = ""  # one of SEVEN_CS' keys for the 7 Cs
    better: str = "up"  # "up", "down" or "" (neither)


COMPLAINT = Q(kind=Kind.COMPLAINT)

FIGURES: tuple[Figure, ...] = (
    Figure(
        "complaints",
        _("Complaints received"),
        _(
            "Cases of the kind complaint received in the period. Each one is a chance to keep a "
            "customer who would otherwise leave without a word."
        ),
        "count",
        lambda t, c: float(t["complaints"]),
        Drill("created_week", COMPLAINT),
        better="",
    ),
    Figure(
        "recovery_rate",
        _("Recovery rate"),
        _(
            "Of the complainers whose 90 days after the complaint ended in the period: the share "
            "still a customer (bought again within those days and did not tell us they left)."
        ),
        "%",
        lambda t, c: ratio(t["retained"], t["recovery_known"]),
        Drill("known_week", COMPLAINT),
    ),
    Figure(
        "silent_recovery_rate",
        _("Still a customer: had a problem, did not complain"),
        _(
            "Customers who told a follow-up that something went wrong but opened no case, whose "
            "90 days ended in the period: the share still a customer. Compare with the recovery "
            "rate. Shown only without filters (these customers have no team, channel or topic)."
        ),
        "%",
        lambda t, c: ratio(t["silent_retained"], t["silent_known"]),
    ),
    Figure(
        "csat",
        _("Satisfaction with complaint handling"),
        _(
            "Share of answers to “how satisfied are you with how we handled it” (1–5) that are 4 "
            "or 5, among answers first given in the period."
        ),
        "%",
        lambda t, c: ratio(t["csat_satisfied"], t["csat_n"]),
        Drill("", Q(csat__isnull=False), source="answers"),
    ),
    Figure(
        "csat_average",
        _("Average satisfaction (1–5)"),
        _("The mean of the same satisfaction answers."),
        "avg",
        lambda t, c: ratio(t["csat_sum"], t["csat_n"], 1.0),
        Drill("", Q(csat__isnull=False), source="answers"),
    ),
    Figure(
        "nps",
        _("Net Promoter Score"),
        _(
            "Share of promoters (9–10) minus share of detractors (0–6) among the period's answers "
            "to “how likely are you to recommend us” (0–10); from −100 to +100."
        ),
        "score",
        lambda t, c: ratio(t["promoters"] - t["detractors"], t["nps_n"]),
        Drill("", Q(nps__isnull=False), source="answers"),
    ),
    Figure(
        "raving_fans",
        _("Raving fans"),
        _(
            "Share of relationship answers agreeing (4–5) with both “this company is perfect for "
            "people like me” and “I can't imagine a world without this company”."
        ),
        "%",
        lambda t, c: ratio(t["raving_yes"], t["raving_n"]),
        Drill("", Q(raving_fan__isnull=False), source="answers"),
    ),
    Figure(
        "response_rate",
        _("Survey response rate"),
        _("Answers first given in the period per invitation sent in the period."),
        "%",
        lambda t, c: ratio(t["responses"], t["invitations"]),
        better="up",
    ),
    Figure(
        "repeat_rate",
        _("Repeat complaints"),
        _(
            "Share of the period's complaints from a customer who had complained in the 90 days "
            "before."
        ),
        "%",
        lambda t, c: ratio(t["repeat_complaints"], t["complaints"]),
        Drill("created_week", Q(repeat_complaint=True)),
        better="down",
    ),
    Figure(
        "complaints_per_1000",
        _("Complaints per 1,000 active customers"),
        _(
            "Complaints received in the period per 1,000 customers whose relationship is active "
            "now. More complaints heard can be good news: most unhappy customers never say so."
        ),
        "avg",
        lambda t, c: ratio(t["complaints"], c.active_customers, 1000.0),
        Drill("created_week", COMPLAINT),
        better="",
    ),
    Figure(
        "silent_unhappy",
        _("Estimated silent unhappy customers"),
        _(
            "Complaints received × the customers who stay silent for each one who complains "
            "(assumption, editable below)."
        ),
        "count",
        silent_unhappy,
        better="",
    ),
    Figure(
        "word_of_mouth_negative",
        _("People told about a bad experience (estimate)"),
        _(
            "(Silent unhappy customers + complaints closed without a recovery) × the people an "
            "unhappy customer tells (assumption)."
        ),
        "count",
        lambda t, c: (
            (silent_unhappy(t, c) + float(t["closed_complaints"] - t["well_recovered"]))
            * float(c.assumptions.unhappy_tell)
        ),
        better="down",
    ),
    Figure(
        "word_of_mouth_positive",
        _("People told about a recovery (estimate)"),
        _(
            "Complaints well recovered (follow-up: satisfied, or satisfaction 4–5) × the people a "
            "recovered customer tells (assumption)."
        ),
        "count",
        lambda t, c: float(t["well_recovered"]) * float(c.assumptions.recovered_tell),
        Drill("closed_week", Q(well_recovered=True)),
    ),
    Figure(
        "value_retained",
        _("Value retained by recoveries"),
        _(
            "What the complainers still with us 90 days on spent in the year before their "
            "complaint, for complaints whose 90 days ended in the period."
        ),
        "money",
        lambda t, c: float(t["value_retained"]),
        Drill("known_week", Q(retained=True)),
    ),
    Figure(
        "gesture_cost",
        _("Cost of the gestures given"),
        _("The value of gestures granted or approved on cases closed in the period."),
        "money",
        lambda t, c: float(t["gesture_value"]),
        Drill("closed_week", Q(gestures__gt=0)),
        better="",
    ),
    # --- the 7 Cs ---
    Figure(
        "caring_empathy",
        _("Felt cared for"),
        _("Share of answers agreeing (4–5) that the person who helped cared."),
        "%",
        lambda t, c: ratio(t["cared_agree"], t["cared_n"]),
        Drill("", Q(cared__isnull=False), source="answers"),
        c="caring",
    ),
    Figure(
        "caring_tone",
        _("Tone-check hits per 100 replies"),
        _(
            "Defensive or blaming phrases (the tone check's list) per 100 personal replies on "
            "cases closed in the period."
        ),
        "per100",
        lambda t, c: ratio(t["tone_hits"], t["replies"]),
        Drill("closed_week", Q(tone_hits__gt=0)),
        c="caring",
        better="down",
    ),
    Figure(
        "customised_gestures",
        _("Gestures per 100 cases"),
        _("Gestures granted or approved per 100 cases closed in the period."),
        "per100",
        lambda t, c: ratio(t["gestures"], t["closed"]),
        Drill("closed_week", Q(gestures__gt=0)),
        c="customised",
        better="",
    ),
    Figure(
        "customised_exceptions",
        _("Exceptions per 100 cases"),
        _("Gestures above the giver's authority, approved as an exception, per 100 cases closed."),
        "per100",
        lambda t, c: ratio(t["exceptions"], t["closed"]),
        Drill("closed_week", Q(exceptions__gt=0)),
        c="customised",
        better="",
    ),
    Figure(
        "competent_one_owner",
        _("Resolved without reassignment"),
        _("Share of cases closed in the period that had one owner from start to end."),
        "%",
        lambda t, c: ratio(t["one_owner"], t["closed"]),
        Drill("closed_week", Q(owners__gt=1)),
        c="competent",
    ),
    Figure(
        "competent_commitments_kept",
        _("Commitments kept"),
        _("Kept commitments among those kept or broken, on cases closed in the period."),
        "%",
        lambda t, c: ratio(t["commitments_kept"], t["commitments_kept"] + t["commitments_broken"]),
        Drill("closed_week", Q(commitments_broken__gt=0)),
        c="competent",
    ),
    Figure(
        "call_once",
        _("One owner, no repeat explanation"),
        _(
            "Share of cases closed in the period with one owner and no handoff without a real "
            "summary (the customer never had to explain again)."
        ),
        "%",
        lambda t, c: ratio(t["one_owner_no_repeat"], t["closed"]),
        Drill("closed_week", Q(owners__gt=1) | Q(repeats__gt=0)),
        c="call_once",
    ),
    Figure(
        "contacts_per_case",
        _("Contacts per case"),
        _("Messages from the customer per case closed in the period."),
        "avg",
        lambda t, c: ratio(t["contacts"], t["closed"], 1.0),
        Drill("closed_week", Q(contacts__gt=2)),
        c="call_once",
        better="down",
    ),
    Figure(
        "first_response_hours",
        _("Time to first personal response"),
        _(
            "Mean hours from receiving a case to the first personal reply, for cases received in "
            "the period (the channel mix is in the table below)."
        ),
        "hours",
        lambda t, c: ratio(t["first_response_s"], t["first_response_n"], 1 / 3600),
        Drill("created_week", Q(first_response_s__gt=24 * 3600)),
        c="convenient",
        better="down",
    ),
    Figure(
        "resolution_median",
        _("Median time to resolve a complaint"),
        _(
            "The median calendar days from receiving to closing, for complaints closed in the "
            "period, to the nearest of 1, 2, 3, 5, 7, 10, 14, 30 days at or above it."
        ),
        "days",
        lambda t, c: median_days(t),
        Drill("closed_week", COMPLAINT),
        c="compressed",
        better="down",
    ),
    Figure(
        "within_expectation",
        _("Resolved within what customers expect"),
        _(
            "Share of complaints closed in the period within the days customers said a complaint "
            "should take (median answer of the Expectations survey, rounded down to 1, 2, 3, 5, "
            "7, 10, 14 or 30 days)."
        ),
        "%",
        within_expectation,
        Drill("closed_week", COMPLAINT),
        c="compressed",
    ),
    Figure(
        "committed_follow_up",
        _("Followed up before closing"),
        _(
            "Share of cases closed in the period where someone checked back with the customer "
            "(satisfied, partly, not satisfied or no answer) before closing."
        ),
        "%",
        lambda t, c: ratio(t["follow_up_before_close"], t["closed"]),
        Drill("closed_week", Q(follow_up_before_close=False)),
        c="committed",
    ),
    Figure(
        "committed_on_time",
        _("Commitments kept on time"),
        _(
            "Commitments kept by their due time among all commitments on cases closed in the "
            "period."
        ),
        "%",
        lambda t, c: ratio(t["commitments_on_time"], t["commitments"]),
        Drill("closed_week", Q(commitments__gt=0)),
        c="committed",
    ),
)
BY_KEY = {f.key: f for f in FIGURES}

SEVEN_CS = (
    (
        "caring",
        _("Caring attitude"),
        _("Customers feel the person cared; replies free of defensive language."),
    ),
    (
        "customised",
        _("Customised practices"),
        _("Staff shape the answer to the person: gestures and exceptions given."),
    ),
    (
        "competent",
        _("Competent contact people"),
        _("The first person can resolve it and keeps their word."),
    ),
    (
        "call_once",
        _("Call once"),
        _("One owner, and the customer never explains twice; few contacts per case."),
    ),
    (
        "convenient",
        _("Convenient access"),
        _("Customers reach us on their channel and hear from a person soon."),
    ),
    (
        "compressed",
        _("Compressed cycle times"),
        _("Resolved in the time customers said they expect."),
    ),
    (
        "committed",
        _("Committed follow-through"),
        _("We check back before closing and keep promises on time."),
    ),
)
SCORECARD_KEYS = tuple(f.key for f in FIGURES if not f.c)

LOYALTY_LEVELS = ("none", "confidence", "fairness", "pride", "passion")

# Why customers leave (the 1/3/5/9/14/68 % study the seeds quote): the benchmark shares.
LEAVE_BENCHMARK = (
    ("died", 1),
    ("moved_away", 3),
    ("buys_from_friend", 5),
    ("competitor", 9),
    ("product_price", 14),
    ("indifference", 68),
)


def compute(figure: Figure, totals: Totals, ctx: Context) -> float | None:
    value = figure.compute(totals, ctx)
    return None if value is None else round(float(value), 4)


def values(totals: Totals, ctx: Context) -> dict[str, float | None]:
    """Every figure's value for one period's totals."""
    return {f.key: compute(f, totals, ctx) for f in FIGURES}


def _number(value: float, decimals: int = 0, *, sign: bool = False) -> str:
    """A number in the active language's format: "1,234.5" in English, "1.234,5" in German."""
    # Rounded first: number_format cuts a float's digits off rather than rounding them.
    shown = round(abs(value) if sign else value, decimals)
    text = number_format(shown, decimals, force_grouping=True)
    if sign:
        return ("-" if value < 0 else "+") + text
    return text


def display(figure: Figure, value: float | None) -> str:
    """A figure's value as people read it: "62 %", "+12", "3.5 h", "1,234", "≤ 5 days"
    (numbers in the reader's language: "3,5 h", "1.234" in German)."""
    if value is None:
        return "—"
    unit = figure.unit
    if unit == "%":
        return f"{_number(value)} %"
    if unit == "score":
        return _number(value, sign=True)
    if unit in ("count", "money"):
        return _number(value)
    if unit == "hours":
        return f"{_number(value, 1)} h"
    if unit == "days":
        if value > 30:
            return gettext("more than 30 days")
        return gettext("≤ %(days)s days") % {"days": _number(value)}
    if unit == "per100":
        return gettext("%(value)s per 100") % {"value": _number(value, 1)}
    return _number(value, 1)


def display_change(figure: Figure, value: float | None, previous: float | None) -> str:
    if value is None or previous is None:
        return "—"
    delta = value - previous
    if figure.unit in ("%", "score"):
        if figure.unit == "%":
            return gettext("%(delta)s pts") % {"delta": _number(delta, sign=True)}
        return _number(delta, sign=True)
    if figure.unit in ("count", "money"):
        return _number(delta, sign=True)
    return _number(delta, 1, sign=True)
