"""Who may read the scorecard: team leads and managers (and the break-glass account).

One rule for the desk pages and the API (a staff member's key reads what that person may).
"""

from __future__ import annotations

from cherish.core.errors import Forbidden
from cherish.staff.access import scope_of
from cherish.staff.models import Role, Staff

LEADS_ONLY = "The scorecard is for team leads and managers."


def may_see_scorecard(staff: Staff) -> bool:
    """Team leads and managers (and the break-glass account); administrators configure."""
    scope = scope_of(staff)
    return scope.everything or staff.role in (Role.LEAD, Role.MANAGER) or bool(scope.led_team_ids)


def check_may_see_scorecard(staff: Staff) -> None:
    """Raise Forbidden ('scorecard_leads_only') unless ``staff`` may read the scorecard."""
    if not may_see_scorecard(staff):
        raise Forbidden(LEADS_ONLY, code="scorecard_leads_only")
