"""The scorecard part of the REST API (mounted in cherish/api.py): read only."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from cherish.api_common import problems
from cherish.core.clock import now
from cherish.scorecard import figures, queries
from cherish.scorecard.access import check_may_see_scorecard, scorecard_teams, within_teams
from cherish.scorecard.figures import Filters
from cherish.staff.principal import KeyScope, key_scope, staff_of

from .schemas import ScorecardFilters, ScorecardOut

router = Router(tags=["scorecard"])


@router.get(
    "/scorecard",
    response={200: ScorecardOut, **problems(401, 422)},
    summary="Read the scorecard's figures and the 7 Cs",
)
@key_scope(KeyScope.FEEDBACK_READ)
def read_scorecard(request: HttpRequest, filters: Query[ScorecardFilters]) -> dict[str, Any]:
    """Every scorecard figure for this period and the previous one, with its trend, from the
    pre-aggregated roll-ups (refreshed every few minutes). Filter by team, channel, kind and
    topic; each figure carries its definition. A staff member's key reads it when that person
    may (team leads and managers; a lead, the teams they lead), as at the desk."""
    period = figures.PERIODS[filters.period]
    chosen = Filters(
        team=filters.team, channel=filters.channel, kind=filters.kind, topic=filters.topic
    )
    staff = staff_of(request)
    if staff is not None:  # a lead's key: the teams they lead, as on the desk
        check_may_see_scorecard(staff)
        chosen = within_teams(chosen, scorecard_teams(staff))
    card = queries.scorecard(chosen, period, filters.today or now().date())
    return {
        "period": period.key,
        "start": card.window.start,
        "end": card.window.end,
        "filters": chosen.cube(),
        "built_at": card.built_at,
        "figures": [
            {
                "key": r.figure.key,
                "label": str(r.figure.label),
                "seven_c": r.figure.c or None,
                "unit": r.figure.unit,
                "definition": str(r.figure.definition),
                "value": r.value,
                "previous": r.previous,
                "trend": [{"start": w.start, "end": w.end, "value": v} for w, v in r.trend],
            }
            for r in card.rows.values()
        ],
    }
