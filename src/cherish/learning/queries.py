"""Reads for the learning pages. No writes. Each list is bounded and uses an index range."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from cherish.cases.models import Direction, Message
from cherish.core.clock import now
from cherish.learning.models import CaseTheme, Theme, ThemeModel, ThemeStatus

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
    counts = [0] * TREND_WEEKS
    for created in CaseTheme.objects.filter(
        theme=theme, case_created_at__gt=start, case_created_at__lte=at
    ).values_list("case_created_at", flat=True):
        index = min(TREND_WEEKS - 1, int((created - start) / WEEK))
        counts[index] += 1
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


def theme_quotes(theme: Theme, *, n: int = 3, days: int = 90) -> list[dict[str, Any]]:
    """Real quotes: the recent complaints most typical of the theme."""
    since = now() - dt.timedelta(days=days)
    picks = list(
        CaseTheme.objects.filter(theme=theme, case_created_at__gt=since)
        .select_related("case")
        .order_by("-similarity")[:n]
    )
    if len(picks) < n:
        picks = list(CaseTheme.objects.filter(theme=theme).select_related("case")[:n])
    texts = first_messages([p.case_id for p in picks])
    return [
        {"reference": p.case.reference, "quote": quote_of(texts.get(p.case_id, ""))} for p in picks
    ]


def theme_cases(theme: Theme, *, limit: int = 50) -> list[CaseTheme]:
    return list(
        CaseTheme.objects.filter(theme=theme)
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
