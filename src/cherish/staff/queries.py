"""Reads about people: the recognition wall, nominations, pulse results, the creed; and the
audit log."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import translation

from cherish.core.clock import now
from cherish.staff.creed_texts import BUILTIN_CREED
from cherish.staff.models import (
    AuditEntry,
    Creed,
    Nomination,
    PulseParticipation,
    PulseResponse,
    PulseSurvey,
    Recognition,
    Staff,
    Team,
)

# Pulse results are shown only for groups of at least this many answers.
MIN_GROUP = 5


def creed_text(language: str | None = None) -> str:
    """The creed as a page in ``language`` (default: the active one) shows it: what the
    organisation wrote for that language; else, while the creed is the one Cherish came with,
    that one translated; else the organisation's own text ("" when there is none)."""
    row = Creed.objects.filter(pk=1).values_list("text", "translations").first()
    if row is None:
        return ""
    text, translations = row
    wanted = (language or translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    written = str((translations or {}).get(wanted) or "").strip()
    if written:
        return written
    if is_builtin_creed(text):
        with translation.override(wanted):
            return "\n".join(translation.gettext(line) for line in BUILTIN_CREED)
    return str(text)


def is_builtin_creed(text: str) -> bool:
    """Whether ``text`` is the creed Cherish came with, line for line (spacing aside)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines == list(BUILTIN_CREED)


def creed_for_editing() -> tuple[str, dict[str, str]]:
    """The creed as stored: the organisation's text and what it wrote for other languages."""
    row = Creed.objects.filter(pk=1).values_list("text", "translations").first()
    if row is None:
        return "", {}
    return str(row[0]), {str(k): str(v) for k, v in (row[1] or {}).items()}


def recognition_wall(*, days: int = 30, at: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Who was recognised lately and for what, by name in alphabetical order: a wall of
    thanks, never a league table (no ranking, no counts of calls or handling time)."""
    since = (at or now()) - dt.timedelta(days=days)
    people: dict[int, dict[str, Any]] = {}
    for recognition in (
        Recognition.objects.filter(created_at__gte=since)
        .select_related("staff", "from_staff")
        .order_by("-created_at")[:500]
    ):
        person = people.setdefault(
            recognition.staff_id, {"staff": recognition.staff, "recognitions": []}
        )
        if len(person["recognitions"]) < 6:
            person["recognitions"].append(recognition)
    return sorted(people.values(), key=lambda p: p["staff"].display_name.lower())


def nominations_for(month: dt.date) -> list[Nomination]:
    return list(
        Nomination.objects.filter(month=month)
        .select_related("nominee", "nominated_by")
        .order_by("nominee__display_name", "created_at")
    )


# ---------------------------------------------------------------- pulse results


@dataclass
class GroupResult:
    label: str
    answers: int
    averages: list[float | None]
    comments: list[str] = field(default_factory=list)


@dataclass
class PulseResults:
    survey: PulseSurvey
    total: int
    overall: GroupResult | None  # None under five answers in all
    teams: list[GroupResult]  # teams of five or more, after complementary suppression
    other: GroupResult | None  # the suppressed teams together, when five or more
    hidden_teams: int  # how many teams are not shown on their own

    def table(self) -> dict[str, Any]:
        """Columns (everyone, each team shown, other teams) and one row per question."""
        columns = [g for g in [self.overall, *self.teams, self.other] if g is not None]
        rows = [
            (question, [g.averages[i] for g in columns])
            for i, question in enumerate(self.survey.questions)
        ]
        return {"columns": columns, "rows": rows}


def _result(label: str, rows: list[tuple[dict[str, int], str]], questions: int) -> GroupResult:
    sums = [0] * questions
    counts = [0] * questions
    for answers, _ in rows:
        for key, value in answers.items():
            index = int(key)
            if 0 <= index < questions:
                sums[index] += value
                counts[index] += 1
    return GroupResult(
        label=label,
        answers=len(rows),
        averages=[round(s / c, 1) if c else None for s, c in zip(sums, counts, strict=True)],
        comments=[comment for _, comment in rows if comment],
    )


def pulse_results(
    survey: PulseSurvey, *, team_id: int | None = None, at: dt.datetime | None = None
) -> PulseResults:
    """The pulse's results with the group-of-five rule applied before anything is read.

    0. Nothing is shown while the pulse is open: watching the figures move as answers come
       in would reveal each new answer, whatever the group's size.
    1. Answers are counted per team in the database; teams under five are suppressed.
    2. If the suppressed teams together hold one to four answers, the overall figure minus
       the shown teams would give them away, so the smallest shown teams are suppressed too
       until the hidden answers number five or more (complementary suppression).
    3. Only then are the answers of the teams still shown read; the hidden teams appear only
       together, as "other teams", when they are five or more.
    The only filter is one team, applied after suppression, so filtering cannot reveal a
    small team either: a suppressed team's filter shows nothing.
    """
    if (at or now()) < survey.closes_at:
        return PulseResults(
            survey=survey, total=0, overall=None, teams=[], other=None, hidden_teams=0
        )
    counts = dict(
        PulseResponse.objects.filter(survey=survey)
        .values_list("team_id")
        .annotate(n=Count("pk"))
        .values_list("team_id", "n")
    )
    total = sum(counts.values())
    shown = {t: n for t, n in counts.items() if n >= MIN_GROUP and t is not None}
    hidden_total = total - sum(shown.values())
    while 0 < hidden_total < MIN_GROUP and shown:
        smallest = min(shown, key=lambda t: (shown[t], t))
        hidden_total += shown.pop(smallest)
    questions = len(survey.questions)
    wanted = set(shown)
    if team_id is not None:
        wanted &= {team_id}
    by_team: dict[int, list[tuple[dict[str, int], str]]] = defaultdict(list)
    if wanted:
        for team, answers, comment in PulseResponse.objects.filter(
            survey=survey, team_id__in=wanted
        ).values_list("team_id", "answers", "comment"):
            by_team[team].append((answers, comment))
    names = dict(Team.objects.filter(pk__in=wanted).values_list("pk", "name"))
    teams = [_result(names.get(t, ""), by_team[t], questions) for t in sorted(wanted)]
    teams.sort(key=lambda r: r.label)
    overall = other = None
    if team_id is None and total >= MIN_GROUP:
        rows = list(PulseResponse.objects.filter(survey=survey).values_list("answers", "comment"))
        overall = _result("Everyone", rows, questions)
        if hidden_total >= MIN_GROUP and shown:
            hidden_rows = list(
                PulseResponse.objects.filter(survey=survey)
                .exclude(team_id__in=list(shown))
                .values_list("answers", "comment")
            )
            other = _result("Other teams together", hidden_rows, questions)
    return PulseResults(
        survey=survey,
        total=total,
        overall=overall,
        teams=teams,
        other=other,
        hidden_teams=len(counts) - len(shown),
    )


def open_pulses(*, at: dt.datetime | None = None) -> list[PulseSurvey]:
    at = at or now()
    return list(PulseSurvey.objects.filter(opens_at__lte=at, closes_at__gt=at))


def answered(survey: PulseSurvey, staff: Staff) -> bool:
    return PulseParticipation.objects.filter(survey=survey, staff=staff).exists()


# ---------------------------------------------------------------- the audit log


AUDIT_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What the audit log page filters by; empty means "any"."""

    action: str = ""  # a prefix: "customer." finds every act on customers
    outcome: str = ""  # done | refused
    actor: str = ""  # part of the name or username
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive


def audit_entries(filters: AuditFilters) -> QuerySet[AuditEntry]:
    """The audit log, newest first, as the filters say (the ``at`` index serves the dates)."""
    rows = AuditEntry.objects.all()
    if filters.action:
        rows = rows.filter(action__startswith=filters.action)
    if filters.outcome:
        rows = rows.filter(outcome=filters.outcome)
    if filters.actor:
        rows = rows.filter(actor_label__icontains=filters.actor)
    if filters.since:
        rows = rows.filter(at__date__gte=filters.since)
    if filters.until:
        rows = rows.filter(at__date__lte=filters.until)
    return rows.order_by("-at", "-id")
