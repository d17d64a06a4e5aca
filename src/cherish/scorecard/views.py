"""The scorecard pages: figures with their trend and drill-down, the people view, CSV exports.

Thin: parse the filters, call the queries, render (or write CSV). Leads and managers see the
scorecard; everyone sees the people view, scoped to whom they may see.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cherish.cases.models import Channel, Kind
from cherish.core.clock import now
from cherish.core.errors import Forbidden
from cherish.desk.guard import DeskRequest, desk_view
from cherish.scorecard import figures, queries
from cherish.scorecard.access import may_see_scorecard, scorecard_teams, within_teams
from cherish.scorecard.figures import Filters, Period
from cherish.scorecard.models import ALL, NO_VALUE, WeeklyCube
from cherish.staff.models import Team

PAGE_SIZE = 50


def _parse(request: HttpRequest) -> tuple[Filters, Period, dt.date]:
    get = request.GET

    def pick(name: str) -> str:
        value = get.get(name, ALL).strip()[:40]
        return value or ALL

    filters = Filters(
        team=pick("team"), channel=pick("channel"), kind=pick("kind"), topic=pick("topic")
    )
    period = figures.PERIODS.get(get.get("period", ""), figures.PERIODS[figures.DEFAULT_PERIOD])
    today = now().date()
    return filters, period, today


def _filter_options(teams: frozenset[int] | None) -> dict[str, list[tuple[str, str]]]:
    # From the cube's "every team, channel and kind" rows: a few hundred, not every case.
    topics = (
        WeeklyCube.objects.filter(team=ALL, channel=ALL, kind=ALL)
        .exclude(topic__in=(ALL, NO_VALUE))
        .values_list("topic", flat=True)
        .distinct()
        .order_by("topic")[:200]
    )
    return {
        "team": [
            (str(pk), name)
            for pk, name in (
                Team.objects if teams is None else Team.objects.filter(pk__in=teams)
            ).values_list("pk", "name")
        ],
        "channel": list(Channel.choices),
        "kind": list(Kind.choices),
        "topic": [(t, t) for t in topics],
    }


def _csv(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return response


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


@require_GET
@desk_view
def index(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    if not may_see_scorecard(staff):
        raise Forbidden(
            _("The scorecard is for team leads and managers."), code="scorecard_leads_only"
        )
    filters, period, today = _parse(request)
    teams = scorecard_teams(staff)
    filters = within_teams(filters, teams)
    card = queries.scorecard(filters, period, today)
    table = request.GET.get("table", "")
    if request.GET.get("format") == "csv":
        return _scorecard_csv(table, card, filters, period, today, whole=teams is None)
    context = {
        "card": card,
        "filters": filters,
        "period": period,
        "periods": list(figures.PERIODS.values()),
        "options": _filter_options(teams),
        "all_teams": teams is None,
        "channels": queries.breakdown("channel", filters, period, today),
        "loyalty": queries.loyalty_mix(filters, period, today),
        # Leave reasons belong to no team: organisation-wide, so not on a lead's scorecard.
        "leave_reasons": queries.leave_reasons(period, today) if teams is None else None,
        "assumptions": card.context.assumptions,
        "query": request.GET.urlencode(),
        "filter_query": _filter_query(filters, period),
    }
    return render(request, "scorecard/index.html", context)


def _filter_query(filters: Filters, period: Period) -> str:
    from urllib.parse import urlencode

    params = {k: v for k, v in filters.cube().items() if v != ALL}
    params["period"] = period.key
    return urlencode(params)


def _scorecard_csv(
    table: str,
    card: queries.Scorecard,
    filters: Filters,
    period: Period,
    today: dt.date,
    *,
    whole: bool,
) -> HttpResponse:
    if table in ("", "figures"):
        return _csv(
            "scorecard-figures.csv",
            ["figure", "key", "seven_c", "this_period", "previous_period", "unit", "definition"],
            (
                [
                    r.figure.label,
                    r.figure.key,
                    r.figure.c,
                    _number(r.value),
                    _number(r.previous),
                    r.figure.unit,
                    r.figure.definition,
                ]
                for r in card.rows.values()
            ),
        )
    if table == "trend":
        windows = [w for w, _ in next(iter(card.rows.values())).trend]
        return _csv(
            "scorecard-trend.csv",
            ["figure", *[f"{w.start:%Y-%m-%d}" for w in windows]],
            ([r.figure.key, *[_number(v) for _, v in r.trend]] for r in card.rows.values()),
        )
    if table == "channels":
        return _csv(
            "scorecard-channels.csv",
            ["channel", "cases_received", "complaints", "share_percent"],
            (
                [r.label, r.received, r.complaints, r.share]
                for r in queries.breakdown("channel", filters, period, today)
            ),
        )
    if table == "loyalty":
        return _csv(
            "scorecard-loyalty.csv",
            ["level", "answers", "share_percent"],
            ([r.level, r.count, r.share] for r in queries.loyalty_mix(filters, period, today)),
        )
    if table == "leave_reasons" and whole:
        return _csv(
            "scorecard-leave-reasons.csv",
            ["reason", "customers", "share_percent", "benchmark_percent"],
            (
                [r.label, r.count, r.share, r.benchmark]
                for r in queries.leave_reasons(period, today)
            ),
        )
    raise Http404("No such table")


@require_GET
@desk_view
def cases(request: DeskRequest) -> HttpResponse:
    """The cases (or answers) behind one figure in this or the previous period."""
    staff = request.staff
    if not may_see_scorecard(staff):
        raise Forbidden(
            _("The scorecard is for team leads and managers."), code="scorecard_leads_only"
        )
    filters, period, today = _parse(request)
    filters = within_teams(filters, scorecard_teams(staff))
    figure = figures.BY_KEY.get(request.GET.get("figure", ""))
    if figure is None or figure.drill is None:
        raise Http404("No such figure")
    spans = figures.windows(period, today)
    window = spans[-2] if request.GET.get("window") == "previous" else spans[-1]
    rows = queries.drill_facts(figure, filters, window)
    assert rows is not None
    is_answers = figure.drill.source == "answers"
    if request.GET.get("format") == "csv":
        if is_answers:
            return _csv(
                f"scorecard-{figure.key}-answers.csv",
                ["answered_at", "survey", "case", "customer_id", "csat", "nps", "cared"],
                (
                    [
                        r.created_at.isoformat(),
                        r.survey.key,
                        r.case.reference if r.case else "",
                        r.customer_id,
                        r.csat,
                        r.nps,
                        r.cared,
                    ]
                    for r in rows.iterator(chunk_size=2000)  # type: ignore[union-attr]
                ),
            )
        return _csv(
            f"scorecard-{figure.key}-cases.csv",
            [
                "case",
                "kind",
                "channel",
                "topic",
                "received",
                "closed",
                "owners",
                "contacts",
                "resolution_days",
                "commitments_kept",
                "commitments_broken",
                "gestures",
                "follow_up_before_close",
                "repeat_complaint",
                "retained",
            ],
            (
                [
                    f.case.reference,
                    f.kind,
                    f.channel,
                    f.topic,
                    f.created_at.isoformat(),
                    f.closed_at.isoformat() if f.closed_at else "",
                    f.owners,
                    f.contacts,
                    f.resolution_days,
                    f.commitments_kept,
                    f.commitments_broken,
                    f.gestures,
                    f.follow_up_before_close,
                    f.repeat_complaint,
                    f.retained if f.recovery_known else "",
                ]
                for f in rows.iterator(chunk_size=2000)  # type: ignore[union-attr]
            ),
        )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "figure": figure,
        "window": window,
        "is_answers": is_answers,
        "page": page,
        "filters": filters,
        "period": period,
        "query": request.GET.urlencode(),
        "back_query": _filter_query(filters, period),
    }
    return render(request, "scorecard/cases.html", context)


@require_GET
@desk_view
def people(request: DeskRequest) -> HttpResponse:
    """Recognition per person and per team: what customers said and what we kept."""
    staff = request.staff
    _, period, today = _parse(request)
    window = figures.windows(period, today)[-1]
    rows = queries.people(staff, window)
    teams = queries.teams(rows)
    if request.GET.get("format") == "csv":
        if request.GET.get("table") == "teams":
            return _csv(
                "people-teams.csv",
                [
                    "team",
                    "people",
                    "satisfied_percent",
                    "answers",
                    "recoveries",
                    "commitments_on_time_percent",
                    "compliments",
                ],
                (
                    [
                        t.name,
                        t.people,
                        t.satisfaction,
                        t.answers,
                        t.recoveries,
                        t.on_time,
                        t.compliments,
                    ]
                    for t in teams
                ),
            )
        return _csv(
            "people.csv",
            [
                "person",
                "team",
                "satisfied_percent",
                "answers",
                "recoveries",
                "commitments_on_time_percent",
                "compliments",
            ],
            (
                [r.name, r.team, r.satisfaction, r.answers, r.recoveries, r.on_time, r.compliments]
                for r in rows
            ),
        )
    context = {
        "rows": rows,
        "teams": teams,
        "window": window,
        "period": period,
        "periods": list(figures.PERIODS.values()),
        "is_lead": may_see_scorecard(staff),
    }
    return render(request, "scorecard/people.html", context)
