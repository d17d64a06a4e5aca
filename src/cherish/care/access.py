"""Permission-checked fetches for the care views and API ("not found" for missing and forbidden).

Cases are fetched through the desk's cases.access, so care sees exactly what the desk does.
"""

from __future__ import annotations

from cherish.care.models import Commitment, Gesture
from cherish.cases import access as cases_access
from cherish.cases.models import Case
from cherish.core.errors import NotFound
from cherish.staff.models import Staff


def access_case(staff: Staff, reference: str) -> Case:
    """The case by reference, as the desk's own access rules allow (cases.access)."""
    return cases_access.access_case(staff, reference)


def access_case_to_work(staff: Staff, reference: str) -> Case:
    """The case to change: NotFound when invisible, Forbidden when only readable."""
    return cases_access.access_case_to_work(staff, reference)


def access_commitment(staff: Staff, case: Case, commitment_id: int) -> Commitment:
    commitment = (
        Commitment.objects.select_related("case", "owner")
        .filter(pk=commitment_id, case=case)
        .first()
    )
    if commitment is None:
        raise NotFound("No such commitment on this case.")
    return commitment


def access_gesture(staff: Staff, gesture_id: int, *, case: Case | None = None) -> Gesture:
    rows = Gesture.objects.select_related("case", "gesture_type", "requested_by").filter(
        case__in=cases_access.visible_cases(staff)
    )
    if case is not None:
        rows = rows.filter(case=case)
    gesture = rows.filter(pk=gesture_id).first()
    if gesture is None:
        raise NotFound("No such gesture.")
    return gesture
