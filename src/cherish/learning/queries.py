"""Reads for the learning pages. No writes. Each list is bounded and uses an index range."""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from cherish.cases.models import Case, Direction, Message
from cherish.core.clock import now
from cherish.customers.models import NON_VALUE_STATUSES, Customer, Transaction
from cherish.learning.models import (
    ActionStatus,
    CaseFinding,
    CaseTheme,
    Communication,
    Competitor,
    CompetitorMention,
    CustomerCount,
    ImprovementAction,
    LearningStory,
    Policy,
    PolicyLink,
    RootCauseCategory,
    StoryCirculation,
    StoryKind,
    StoryRead,
    Theme,
    ThemeModel,
    ThemeStatus,
)
from cherish.staff.access import case_rule, scope_of
from cherish.staff.models import Staff

WEEK = dt.timedelta(days=7)
TREND_WEEKS = 12


def active_themes() -> QuerySet[Theme]:
    return Theme.objects.filter(status=ThemeStatus.ACTIVE).order_by("-case_count", "name")


def latest_model() -> ThemeModel | None:
    return ThemeModel.objects.defer("space").order_by("-created_at", "-pk").first()


@dataclass
class Rising:
    theme: Theme
    this_week: int
    weekly_before: float  # average of the four weeks before
    growth: float = field(default=0.0)


def rising_themes(*, at: dt.datetime | None = None, minimum: int = 3) -> list[Rising]:
    """Themes with more complaints in the last 7 days than their weekly average over the
    four weeks before, biggest growth first. A theme needs ``minimum`` complaints this week
    to count as rising, so one stray complaint does not make a trend."""
    at = at or now()
    week_start = at - WEEK
    rows = (
        CaseTheme.objects.filter(case_created_at__gt=at - 5 * WEEK, case_created_at__lte=at)
        .values("theme_id")
        .annotate(
            this=Count("pk", filter=Q(case_created_at__gt=week_start)),
            before=Count("pk", filter=Q(case_created_at__lte=week_start)),
        )
    )
    counts = {row["theme_id"]: (row["this"], row["before"]) for row in rows}
    theme_by_id = Theme.objects.in_bulk(list(counts))
    result = []
    for theme_id, (this, before) in counts.items():
        weekly = before / 4
        theme = theme_by_id.get(theme_id)
        if theme is None or theme.status != ThemeStatus.ACTIVE:
            continue
        if this >= minimum and this > weekly:
            result.append(
                Rising(
                    theme=theme,
                    this_week=this,
                    weekly_before=weekly,
                    growth=(this - weekly) / weekly if weekly else float("inf"),
                )
            )
    result.sort(key=lambda r: (-r.growth, -r.this_week, r.theme.name))
    return result


def weekly_trend(theme: Theme, *, at: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Complaints per week for the last TREND_WEEKS weeks, oldest first."""
    at = at or now()
    start = at - TREND_WEEKS * WEEK
    # One pass over the (theme, case_created_at) index, counted by the database: a big
    # theme has thousands of complaints in twelve weeks.
    weeks = {
        f"w{i}": Count(
            "pk",
            filter=Q(case_created_at__gte=start + i * WEEK)
            & (Q(case_created_at__lt=start + (i + 1) * WEEK) if i < TREND_WEEKS - 1 else Q()),
        )
        for i in range(TREND_WEEKS)
    }
    found = CaseTheme.objects.filter(
        theme=theme, case_created_at__gt=start, case_created_at__lte=at
    ).aggregate(**weeks)
    counts = [found[f"w{i}"] for i in range(TREND_WEEKS)]
    peak = max(counts) or 1
    return [
        {
            "week_ending": (start + (i + 1) * WEEK).date(),
            "count": count,
            "percent": round(100 * count / peak),
        }
        for i, count in enumerate(counts)
    ]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def quote_of(text: str, limit: int = 240) -> str:
    """The customer's own words, cut at a sentence boundary where one is near."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    ends = [m.start() for m in _SENTENCE_END.finditer(cut)]
    if ends and ends[-1] > limit // 3:
        return cut[: ends[-1]].rstrip()
    return cut.rsplit(" ", 1)[0] + " …"


def first_messages(case_ids: list[int]) -> dict[int, str]:
    texts: dict[int, str] = {}
    for case_id, body in (
        Message.objects.filter(case_id__in=case_ids, direction=Direction.INBOUND)
        .order_by("case_id", "created_at", "pk")
        .values_list("case_id", "body_text")
    ):
        texts.setdefault(case_id, body)
    return texts


def seen_by(rows: QuerySet[Any], viewer: Staff | None) -> QuerySet[Any]:
    """Rows whose case ``viewer`` may see (the team boundary, the rule ``visible_cases``
    applies); all rows for the organisation-wide email (no viewer). Counts elsewhere stay
    organisation-wide: learning is for everyone, the cases behind it only for those who
    may open them.

    The rule is applied to the joined case row, not as ``case IN (visible cases)``: with a
    million cases that subquery is hundreds of thousands of ids, while the join lets the
    newest-first lists stop after the rows they show.
    """
    if viewer is None:
        return rows
    rule = case_rule(viewer, change=False, prefix="case__")
    return rows if rule is None else rows.filter(rule)


# Quotes are the most typical among this many of a theme's newest complaints, so a big theme
# never sorts its whole quarter by similarity.
QUOTE_POOL = 200


def theme_quotes(
    theme: Theme, *, n: int = 3, days: int = 90, viewer: Staff | None = None
) -> list[dict[str, Any]]:
    """Real quotes: the recent complaints most typical of the theme."""
    since = now() - dt.timedelta(days=days)
    mine = (
        seen_by(CaseTheme.objects.filter(theme=theme), viewer)
        .select_related("case")
        .only("case_id", "similarity", "case_created_at", "case__reference")
        .order_by("-case_created_at")
    )
    pool = list(mine.filter(case_created_at__gt=since)[:QUOTE_POOL])
    picks = sorted(pool, key=lambda p: -p.similarity)[:n]
    if len(picks) < n:
        picks = list(mine[:n])
    texts = first_messages([p.case_id for p in picks])
    return [
        {"reference": p.case.reference, "quote": quote_of(texts.get(p.case_id, ""))} for p in picks
    ]


def theme_cases(theme: Theme, *, limit: int = 50, viewer: Staff | None = None) -> list[CaseTheme]:
    return list(
        seen_by(CaseTheme.objects.filter(theme=theme), viewer)
        .select_related("case", "case__customer", "case__team")
        .order_by("-case_created_at")[:limit]
    )


def themes_overview(*, at: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The theme list: each active theme with its count, this week and its share."""
    at = at or now()
    rows = list(active_themes()[:100])
    week = dict(
        CaseTheme.objects.filter(case_created_at__gt=at - WEEK, case_created_at__lte=at)
        .values_list("theme_id")
        .annotate(n=Count("pk"))
        .values_list("theme_id", "n")
    )
    total = sum(t.case_count for t in rows) or 1
    return [
        {
            "theme": t,
            "this_week": week.get(t.pk, 0),
            "share": round(100 * t.case_count / total),
        }
        for t in rows
    ]


# ---------------------------------------------------------------- effectiveness (CAPA)

# The check compares equal windows before and after completion, at most this long each.
EFFECT_WINDOW_MAX = dt.timedelta(days=90)
# Shorter than this after completion, or fewer complaints than this in both windows
# together, and the answer is "too early to tell".
EFFECT_WINDOW_MIN = dt.timedelta(days=14)
EFFECT_MIN_COMPLAINTS = 10


@dataclass
class Effect:
    verdict: str  # not_done | too_early | worked | no_change | worse
    label: str
    days: int = 0
    before: int = 0
    after: int = 0
    customers_before: int = 0
    customers_after: int = 0
    rate_before: float = 0.0  # complaints per 1,000 customers
    rate_after: float = 0.0

    @property
    def change_percent(self) -> int | None:
        if not self.rate_before:
            return None
        return round(100 * (self.rate_after - self.rate_before) / self.rate_before)


def _complaints_around(
    action: ImprovementAction, done: dt.datetime, window: dt.timedelta
) -> tuple[int, int]:
    """The theme's (or policy's) complaints in the window before ``done`` and the one after:
    one index range, counted twice."""
    rows: QuerySet[Any] = (
        CaseTheme.objects.filter(theme_id=action.theme_id)
        if action.theme_id is not None
        else PolicyLink.objects.filter(policy_id=action.policy_id or 0)
    )
    counts = rows.filter(
        case_created_at__gte=done - window, case_created_at__lt=done + window
    ).aggregate(
        before=Count("pk", filter=Q(case_created_at__lt=done)),
        after=Count("pk", filter=Q(case_created_at__gte=done)),
    )
    return counts["before"], counts["after"]


def effectiveness(action: ImprovementAction, *, at: dt.datetime | None = None) -> Effect:
    """Did the action work? The theme's (or policy's) complaints per 1,000 customers in the
    window after completion against the same length of time just before it.

    The window is the time since completion, at most 90 days. The rate's denominator is the
    number of customers at each window's end. "Worked" means the rate fell by a fifth or
    more; "worse" that it rose by a fifth or more.
    """
    return effectiveness_many([action], at=at)[0]


def _customers_at_each(moments: set[dt.datetime]) -> dict[dt.datetime, int]:
    """Customers that existed at each moment: the daily roll-up up to the last day it holds
    at or before the moment, plus the customers created since (an index range). Without a
    roll-up, one pass over the table."""
    if not moments:
        return {}
    rolled = dict(CustomerCount.objects.values_list("day", "customers"))
    if not rolled:
        ordered = sorted(moments)
        counts = Customer.objects.filter(merged_into__isnull=True).aggregate(
            **{
                f"m{i}": Count("pk", filter=Q(created_at__lt=moment))
                for i, moment in enumerate(ordered)
            }
        )
        return {moment: counts[f"m{i}"] for i, moment in enumerate(ordered)}
    first, last = min(rolled), max(rolled)
    bases: dict[dt.datetime, tuple[int, dt.datetime | None]] = {}
    for moment in moments:
        day = min(moment.astimezone(dt.UTC).date() - dt.timedelta(days=1), last)
        if day < first:
            bases[moment] = (0, None)
            continue
        while day not in rolled:  # a gap only if the table was edited by hand
            day -= dt.timedelta(days=1)
        since = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        bases[moment] = (rolled[day], since)
    # The customers created between each moment's roll-up day and the moment: short index
    # ranges (a day or so each), read in one query.
    ordered = sorted(moments)
    ranges = {
        moment: Q(created_at__lt=moment)
        & (Q() if bases[moment][1] is None else Q(created_at__gte=bases[moment][1]))
        for moment in ordered
    }
    counts = (
        Customer.objects.filter(merged_into__isnull=True)
        .filter(reduce(operator.or_, ranges.values()))
        .aggregate(
            **{f"m{i}": Count("pk", filter=ranges[moment]) for i, moment in enumerate(ordered)}
        )
    )
    return {moment: bases[moment][0] + counts[f"m{i}"] for i, moment in enumerate(ordered)}


def effectiveness_many(
    actions: list[ImprovementAction], *, at: dt.datetime | None = None
) -> list[Effect]:
    """``effectiveness`` for a list of actions: two index-range counts per done action and
    one pass over the customers for all of them."""
    at = at or now()
    windows: list[tuple[dt.datetime, dt.timedelta] | None] = []
    for action in actions:
        if action.completed_at is None:
            windows.append(None)
        else:
            windows.append((action.completed_at, min(at - action.completed_at, EFFECT_WINDOW_MAX)))
    customers = _customers_at_each({m for w in windows if w for m in (w[0], w[0] + w[1])})
    effects = []
    for action, w in zip(actions, windows, strict=True):
        if w is None:
            effects.append(Effect(verdict="not_done", label="Not done yet"))
            continue
        done, window = w
        before, after = _complaints_around(action, done, window)
        customers_before = customers[done]
        customers_after = customers[done + window]
        effect = Effect(
            verdict="too_early",
            label="Too early to tell",
            days=window.days,
            before=before,
            after=after,
            customers_before=customers_before,
            customers_after=customers_after,
            rate_before=round(1000 * before / customers_before, 2) if customers_before else 0.0,
            rate_after=round(1000 * after / customers_after, 2) if customers_after else 0.0,
        )
        if window >= EFFECT_WINDOW_MIN and before + after >= EFFECT_MIN_COMPLAINTS:
            if effect.rate_after <= 0.8 * effect.rate_before:
                effect.verdict, effect.label = "worked", "It worked: fewer complaints"
            elif effect.rate_after >= 1.2 * effect.rate_before:
                effect.verdict, effect.label = "worse", "More complaints than before"
            else:
                effect.verdict, effect.label = "no_change", "No clear change"
        effects.append(effect)
    return effects


def actions_list(*, status: str = "") -> list[ImprovementAction]:
    rows = ImprovementAction.objects.select_related("theme", "policy", "owner").order_by(
        "status", "due_date", "-created_at"
    )
    if status:
        rows = rows.filter(status=status)
    return list(rows[:200])


def action_cases(action: ImprovementAction, *, viewer: Staff, limit: int = 50) -> QuerySet[Case]:
    """The cases linked to an action that ``viewer`` may see, newest first (the team
    boundary as a filter on the case rows, not ``pk IN (visible cases)``)."""
    rows = action.cases.order_by("-created_at")
    rule = case_rule(viewer, change=False)
    return (rows if rule is None else rows.filter(rule))[:limit]


def published_actions(*, limit: int = 100) -> list[ImprovementAction]:
    """What the public "You said, we did" page shows, newest first."""
    return list(
        ImprovementAction.objects.filter(published_at__isnull=False)
        .only("you_said", "we_did", "completed_at", "published_at")
        .order_by("-published_at")[:limit]
    )


# ---------------------------------------------------------------- what complaints reveal

REVEAL_DAYS = 90


@dataclass
class Pain:
    policy: Policy
    complaints: int
    customers: int
    value_at_risk: Decimal


def policies_causing_pain(*, at: dt.datetime | None = None) -> list[Pain]:
    """Policies ranked by complaints linked in the last 90 days, with the customer value at
    risk (what those customers spent in the 12 months before)."""
    at = at or now()
    since = at - dt.timedelta(days=REVEAL_DAYS)
    counts = dict(
        PolicyLink.objects.filter(case_created_at__gte=since)
        .values_list("policy_id")
        .annotate(n=Count("pk"))
        .values_list("policy_id", "n")
    )
    customers: dict[int, set[int]] = defaultdict(set)
    for policy_id, customer_id in PolicyLink.objects.filter(case_created_at__gte=since).values_list(
        "policy_id", "case__customer_id"
    ):
        customers[policy_id].add(customer_id)
    spent = dict(
        Transaction.objects.filter(
            customer_id__in=PolicyLink.objects.filter(case_created_at__gte=since).values(
                "case__customer_id"
            ),
            occurred_at__gte=at - dt.timedelta(days=365),
        )
        .exclude(status__in=NON_VALUE_STATUSES)
        .values_list("customer_id")
        .annotate(total=Sum("amount"))
        .values_list("customer_id", "total")
    )
    rows = [
        Pain(
            policy=policy,
            complaints=counts[policy.pk],
            customers=len(customers[policy.pk]),
            value_at_risk=sum(
                (spent.get(c, Decimal("0")) for c in customers[policy.pk]), Decimal("0")
            ),
        )
        for policy in Policy.objects.select_related("owner").filter(pk__in=list(counts))
    ]
    rows.sort(key=lambda r: (-r.complaints, -r.value_at_risk, r.policy.title))
    return rows


def policy_register() -> list[dict[str, Any]]:
    counts = dict(
        PolicyLink.objects.values_list("policy_id")
        .annotate(n=Count("pk"))
        .values_list("policy_id", "n")
    )
    today = now().date()
    return [
        {
            "policy": p,
            "complaints": counts.get(p.pk, 0),
            "review_overdue": p.review_by is not None and p.review_by < today,
        }
        for p in Policy.objects.select_related("owner").order_by("title")
    ]


def policy_cases(
    policy: Policy, *, limit: int = 50, viewer: Staff | None = None
) -> list[PolicyLink]:
    return list(
        seen_by(PolicyLink.objects.filter(policy=policy), viewer)
        .select_related("case", "case__customer")
        .order_by("-case_created_at")[:limit]
    )


# Each group on the reveal page names at most this many cases (the newest the viewer may see).
EXAMPLES = 10


def communications_wrong(
    *, at: dt.datetime | None = None, viewer: Staff | None = None
) -> list[dict[str, Any]]:
    """Our own communications customers found wrong or missing, by kind: how many
    (organisation-wide) and the newest cases behind each that the viewer may see."""
    since = (at or now()) - dt.timedelta(days=REVEAL_DAYS)
    recent = CaseFinding.objects.filter(case_created_at__gte=since, communication__gt="")
    counts = (
        recent.values_list("communication")
        .annotate(n=Count("pk"))
        .values_list("communication", "n")
        .order_by()
    )
    labels = dict(Communication.choices)
    groups = [
        {
            "label": labels.get(kind, kind),
            "count": n,
            "findings": list(
                seen_by(recent.filter(communication=kind), viewer)
                .select_related("case")
                .only("communication_note", "case_created_at", "case__reference")
                .order_by("-case_created_at")[:EXAMPLES]
            ),
        }
        for kind, n in counts
    ]
    return sorted(groups, key=lambda g: (-g["count"], g["label"]))


# The reveal page reads at most this many of the newest findings or mentions for the cases
# it names; the counts beside them are taken over all of them.
REVEAL_SCAN = 2000


def training_needs(
    *, at: dt.datetime | None = None, viewer: Staff | None = None
) -> list[dict[str, Any]]:
    """People-related root causes by team and cause: counts and case references, never the
    names of the staff involved (a training need, not a blame list)."""
    since = (at or now()) - dt.timedelta(days=REVEAL_DAYS)
    findings = CaseFinding.objects.filter(
        case_created_at__gte=since, root_cause__category=RootCauseCategory.PEOPLE
    )
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for team, cause, n in (
        findings.values_list("team__name", "root_cause__name")
        .annotate(n=Count("pk"))
        .values_list("team__name", "root_cause__name", "n")
        .order_by()
    ):
        team = team or "No team"
        groups[(team, cause)] = {"team": team, "cause": cause, "count": n, "cases": []}
    for team, cause, reference in (
        seen_by(findings, viewer)
        .order_by("-case_created_at")
        .values_list("team__name", "root_cause__name", "case__reference")[:REVEAL_SCAN]
    ):
        cases = groups[(team or "No team", cause)]["cases"]
        if len(cases) < EXAMPLES:
            cases.append(reference)
    return sorted(groups.values(), key=lambda g: (g["team"], -g["count"]))


def competitor_mentions(
    *, at: dt.datetime | None = None, viewer: Staff | None = None
) -> list[dict[str, Any]]:
    """Which competitors customers name, how often, what they compare (organisation-wide),
    and the newest examples the viewer may see."""
    since = (at or now()) - dt.timedelta(days=REVEAL_DAYS)
    recent = CompetitorMention.objects.filter(case_created_at__gte=since)
    groups: dict[int, dict[str, Any]] = {
        competitor_id: {"count": n, "aspects": Counter(), "examples": []}
        for competitor_id, n in recent.values_list("competitor_id")
        .annotate(n=Count("pk"))
        .values_list("competitor_id", "n")
        .order_by()
    }
    # What customers compare, from the newest mentions (all of them below REVEAL_SCAN).
    for competitor_id, aspects in recent.order_by("-case_created_at").values_list(
        "competitor_id", "aspects"
    )[:REVEAL_SCAN]:
        groups[competitor_id]["aspects"].update(aspects)
    competitors = Competitor.objects.in_bulk(list(groups))
    for competitor_id, group in groups.items():
        group["competitor"] = competitors[competitor_id]
        group["aspects"] = group["aspects"].most_common()
        group["examples"] = list(
            seen_by(recent.filter(competitor_id=competitor_id), viewer)
            .select_related("case")
            .only("snippet", "case_created_at", "case__reference")
            .order_by("-case_created_at")[:5]
        )
    return sorted(groups.values(), key=lambda g: (-g["count"], g["competitor"].name))


# ---------------------------------------------------------------- learning stories

ONBOARDING = dt.timedelta(weeks=6)


def is_new_staff(staff: Staff, *, at: dt.datetime | None = None) -> bool:
    return (at or now()) - staff.user.date_joined < ONBOARDING


def stories_for(staff: Staff, *, limit: int = 50) -> list[dict[str, Any]]:
    """The stories this staff member should read: circulated to one of their teams, and
    onboarding stories while they are new. Unread first, then newest first."""
    team_ids = scope_of(staff).team_ids
    wanted = Q(circulations__team_id__in=team_ids)
    if is_new_staff(staff):
        wanted |= Q(for_onboarding=True)
    stories = list(
        LearningStory.objects.filter(wanted)
        .distinct()
        .select_related("case")
        .order_by("-created_at")[:limit]
    )
    read = set(
        StoryRead.objects.filter(staff=staff, story__in=stories).values_list("story_id", flat=True)
    )
    unread = [{"story": s, "read": False} for s in stories if s.pk not in read]
    return unread + [{"story": s, "read": True} for s in stories if s.pk in read]


def all_stories(*, limit: int = 100) -> list[LearningStory]:
    return list(
        LearningStory.objects.select_related("case", "author")
        .annotate(n_reads=Count("reads", distinct=True))
        .order_by("-created_at")[:limit]
    )


@dataclass
class Circulation:
    written: int
    circulated: int
    expected_reads: int  # members of the teams each story went to
    reads: int  # of those, how many opened it
    onboarding: int
    failures: int
    excellent: int

    @property
    def read_rate(self) -> int | None:
        return round(100 * self.reads / self.expected_reads) if self.expected_reads else None


def circulation(*, days: int = 90, at: dt.datetime | None = None) -> Circulation:
    """How lessons are circulated: stories written, how many of their intended readers read
    them, how many are used in onboarding."""
    since = (at or now()) - dt.timedelta(days=days)
    stories = LearningStory.objects.filter(created_at__gte=since)
    kinds = dict(stories.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    circulated_teams = _circulated_teams(since)
    all_teams = {t for teams in circulated_teams.values() for t in teams}
    members: dict[int, set[int]] = defaultdict(set)
    for staff_id, team_id, extra_id in Staff.objects.filter(
        Q(team_id__in=all_teams) | Q(extra_teams__in=all_teams), user__is_active=True
    ).values_list("pk", "team_id", "extra_teams"):
        for team in (team_id, extra_id):
            if team in all_teams:
                members[team].add(staff_id)
    readers: dict[int, set[int]] = defaultdict(set)
    for story_id, staff_id in StoryRead.objects.filter(
        story_id__in=list(circulated_teams)
    ).values_list("story_id", "staff_id"):
        readers[story_id].add(staff_id)
    expected = reads = 0
    for story_id, team_ids in circulated_teams.items():
        intended = set().union(*(members[t] for t in team_ids))
        expected += len(intended)
        reads += len(readers[story_id] & intended)
    circulated = len(circulated_teams)
    return Circulation(
        written=sum(kinds.values()),
        circulated=circulated,
        expected_reads=expected,
        reads=reads,
        onboarding=stories.filter(for_onboarding=True).count(),
        failures=kinds.get(StoryKind.FAILURE, 0),
        excellent=kinds.get(StoryKind.EXCELLENT, 0),
    )


def _circulated_teams(since: dt.datetime) -> dict[int, set[int]]:
    teams: dict[int, set[int]] = {}
    for story_id, team_id in StoryCirculation.objects.filter(
        story__created_at__gte=since
    ).values_list("story_id", "team_id"):
        teams.setdefault(story_id, set()).add(team_id)
    return teams


# ---------------------------------------------------------------- weekly report


@dataclass
class WeeklyReportData:
    at: dt.datetime
    rising: list[dict[str, Any]]
    due: list[ImprovementAction]
    worked: list[tuple[ImprovementAction, Effect]]


def weekly_report(
    *, at: dt.datetime | None = None, viewer: Staff | None = None
) -> WeeklyReportData:
    """What our customers told us this week: rising themes with quotes, improvement actions
    due within a week (or overdue), and done actions whose check says they worked."""
    at = at or now()
    rising = [
        {"rising": r, "quotes": theme_quotes(r.theme, n=2, days=7, viewer=viewer)}
        for r in rising_themes(at=at)[:5]
    ]
    due = list(
        ImprovementAction.objects.filter(
            status__in=[ActionStatus.PLANNED, ActionStatus.IN_PROGRESS],
            due_date__lte=(at + WEEK).date(),
        )
        .select_related("owner", "theme", "policy")
        .order_by("due_date")[:20]
    )
    done = list(
        ImprovementAction.objects.filter(
            status=ActionStatus.DONE, completed_at__gte=at - dt.timedelta(days=180)
        ).select_related("theme", "policy")[:50]
    )
    worked = [
        (action, effect)
        for action, effect in zip(done, effectiveness_many(done, at=at), strict=True)
        if effect.verdict == "worked"
    ]
    return WeeklyReportData(at=at, rising=rising, due=due, worked=worked)
