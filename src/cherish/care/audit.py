"""Care's lines in the organisation's audit log (staff.audit): approvals and refusals of
gestures, from the desk and the API alike."""

from __future__ import annotations

from django.http import HttpRequest

from cherish.care.models import Gesture
from cherish.staff.audit import audit
from cherish.staff.models import Staff


def audit_decision(request: HttpRequest, gesture: Gesture, *, approve: bool, by: Staff) -> None:
    """An approval or a refusal of a gesture in the audit log (who, which case, from where);
    the case's own events say it too, this is the organisation's one list of such acts."""
    audit(
        request,
        "gesture.approved" if approve else "gesture.declined",
        by=by,
        target_type="gesture",
        target_id=gesture.pk,
        detail={"case": gesture.case.reference, "requested_by_id": gesture.requested_by_id},
    )
