"""Who may read the scorecard: team leads and managers (and the break-glass account).

One rule for the desk pages and the API (a staff member's key reads what that person may).
"""

from __future__ import annotations

import dataclasses

from django.utils.translation import gettext as _

from cherish.core.errors import Forbidden
from cherish.scorecard.figures import Filters
from cherish.scorecard.models import ALL
from cherish.staff.access import scope_of
from cherish.staff.models import Role, Staff, Team

LEADS_ONLY = "The scorecard is for team leads and managers."


def may_see_scorecard(staff: Staff) -> bool:
    """Team leads and managers (and the break-glass account); administrators configure."""
    scope = scope_of(staff)
    return scope.everything or staff.role in (Role.LEAD, Role.MANAGER) or bool(scope.led_team_ids)


def check_may_see_scorecard(staff: Staff) -> None:
    """Raise Forbidden ('scorecard_leads_only') unless ``staff`` may read the scorecard."""
    if not may_see_scorecard(staff):
        raise Forbidden(LEADS_ONLY, code="scorecard_leads_only")


def scorecard_teams(staff: Staff) -> frozenset[int] | None:
    """The teams whose figures ``staff`` sees: None (every team and the organisation's
    totals) for managers, administrators and the break-glass account; a lead sees the teams
    they lead (a lead by role who leads none, their own teams)."""
    scope = scope_of(staff)
    if scope.everything or staff.role in (Role.MANAGER, Role.ADMINISTRATOR):
        return None
    return scope.led_team_ids or scope.team_ids


def within_teams(filters: Filters, teams: frozenset[int] | None) -> Filters:
    """A lead's filters: one of their teams (the first by name when none is chosen);
    another team's figures answer 403."""
    if teams is None:
        return filters
    if filters.team == ALL:
        first = Team.objects.filter(pk__in=teams).order_by("name", "pk").first()
        if first is None:
            raise Forbidden(_("You lead no team, so there are no figures to show."), code="no_team")
        return dataclasses.replace(filters, team=str(first.pk))
    if not filters.team.isdigit() or int(filters.team) not in teams:
        raise Forbidden(
            _("You see the figures of the teams you lead."), code="scorecard_other_team"
        )
    return filters
