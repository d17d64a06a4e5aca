"""The catalogue of care events: one function per type, called only from care actions.

Every event lands on the case timeline through cases.events.record_case_event.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from cherish.care.models import Gesture
from cherish.cases.events import record_case_event
from cherish.cases.models import Case, CaseEvent
from cherish.staff.models import Staff


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _money(value: Decimal) -> str:
    return str(value)


def record_fair_outcome_recorded(case: Case, *, by: Staff | None, text: str) -> CaseEvent:
    return record_case_event(case, "fair_outcome.recorded", by=by, text=text)


def record_resolution_recorded(case: Case, *, by: Staff | None, text: str) -> CaseEvent:
    return record_case_event(case, "resolution.recorded", by=by, text=text)


def record_plus_one_recorded(
    case: Case, *, by: Staff | None, text: str, gesture_id: int | None = None
) -> CaseEvent:
    return record_case_event(case, "plus_one.recorded", by=by, text=text, gesture_id=gesture_id)


def record_follow_up_recorded(
    case: Case, *, by: Staff | None, outcome: str, note: str
) -> CaseEvent:
    return record_case_event(case, "follow_up.recorded", by=by, outcome=outcome, note=note)


def record_assessment_recorded(
    case: Case,
    *,
    by: Staff | None,
    severity: str,
    complexity: str,
    impact: str,
    needs_immediate_action: bool,
    note: str,
) -> CaseEvent:
    return record_case_event(
        case,
        "assessment.recorded",
        by=by,
        severity=severity,
        complexity=complexity,
        impact=impact,
        needs_immediate_action=needs_immediate_action,
        note=note,
    )


def record_commitment_made(
    case: Case,
    *,
    by: Staff | None,
    commitment_id: int,
    what: str,
    due_at: dt.datetime,
    how: str,
    owner: Staff,
) -> CaseEvent:
    return record_case_event(
        case,
        "commitment.made",
        by=by,
        commitment_id=commitment_id,
        what=what,
        due_at=_iso(due_at),
        how=how,
        owner_id=owner.pk,
        owner_name=owner.display_name,
    )


def record_commitment_kept(
    case: Case, *, by: Staff | None, commitment_id: int, on_time: bool, note: str
) -> CaseEvent:
    return record_case_event(
        case, "commitment.kept", by=by, commitment_id=commitment_id, on_time=on_time, note=note
    )


def record_commitment_broken(
    case: Case, *, by: Staff | None, commitment_id: int, reason: str
) -> CaseEvent:
    return record_case_event(
        case, "commitment.broken", by=by, commitment_id=commitment_id, reason=reason
    )


def record_commitment_due_soon(
    case: Case, *, commitment_id: int, due_at: dt.datetime, owner_id: int
) -> CaseEvent:
    return record_case_event(
        case,
        "commitment.due_soon",
        by=None,
        commitment_id=commitment_id,
        due_at=_iso(due_at),
        owner_id=owner_id,
    )


def record_commitment_overdue(
    case: Case, *, commitment_id: int, due_at: dt.datetime, notified_id: int
) -> CaseEvent:
    return record_case_event(
        case,
        "commitment.overdue",
        by=None,
        commitment_id=commitment_id,
        due_at=_iso(due_at),
        notified_id=notified_id,
    )


def record_commitment_escalated(case: Case, *, commitment_id: int, lead_id: int) -> CaseEvent:
    return record_case_event(
        case, "commitment.escalated", by=None, commitment_id=commitment_id, lead_id=lead_id
    )


def _gesture_data(gesture: Gesture) -> dict[str, Any]:
    return {
        "gesture_id": gesture.pk,
        "gesture_type": gesture.gesture_type.key,
        "value": _money(gesture.value),
        "currency": gesture.currency,
        "plus_one": gesture.is_plus_one,
    }


def record_gesture_granted(case: Case, *, by: Staff | None, gesture: Gesture) -> CaseEvent:
    return record_case_event(case, "gesture.granted", by=by, **_gesture_data(gesture))


def record_gesture_requested(
    case: Case, *, by: Staff | None, gesture: Gesture, reason: str
) -> CaseEvent:
    return record_case_event(
        case,
        "gesture.requested",
        by=by,
        approver_id=gesture.approver_id,
        reason=reason,
        **_gesture_data(gesture),
    )


def record_gesture_approved(
    case: Case, *, by: Staff | None, gesture: Gesture, reason: str
) -> CaseEvent:
    return record_case_event(
        case,
        "gesture.approved",
        by=by,
        reason=reason,
        requested_by_id=gesture.requested_by_id,
        approver_id=gesture.approver_id,
        **_gesture_data(gesture),
    )


def record_gesture_declined(
    case: Case, *, by: Staff | None, gesture: Gesture, reason: str
) -> CaseEvent:
    return record_case_event(
        case,
        "gesture.declined",
        by=by,
        reason=reason,
        requested_by_id=gesture.requested_by_id,
        approver_id=gesture.approver_id,
        **_gesture_data(gesture),
    )


def record_handoff_warm(
    case: Case, *, by: Staff | None, to: Staff, told_customer: bool, message_id: int | None
) -> CaseEvent:
    return record_case_event(
        case,
        "handoff.warm",
        by=by,
        owner_id=to.pk,
        owner_name=to.display_name,
        told_customer=told_customer,
        message_id=message_id,
    )


def record_collaborator_added(case: Case, *, by: Staff | None, staff: Staff) -> CaseEvent:
    return record_case_event(
        case, "collaborator.added", by=by, staff_id=staff.pk, staff_name=staff.display_name
    )


def record_collaborator_removed(case: Case, *, by: Staff | None, staff: Staff) -> CaseEvent:
    return record_case_event(
        case, "collaborator.removed", by=by, staff_id=staff.pk, staff_name=staff.display_name
    )


def record_staff_mentioned(
    case: Case, *, by: Staff | None, staff: list[Staff], message_id: int
) -> CaseEvent:
    return record_case_event(
        case,
        "staff.mentioned",
        by=by,
        staff_ids=[s.pk for s in staff],
        staff_names=[s.display_name for s in staff],
        message_id=message_id,
    )


def record_case_merged_into(case: Case, *, by: Staff | None, into: Case) -> CaseEvent:
    return record_case_event(
        case, "case.merged_into", by=by, into_reference=into.reference, into_id=into.pk
    )


def record_case_merged(case: Case, *, by: Staff | None, duplicate: Case) -> CaseEvent:
    return record_case_event(
        case,
        "case.merged",
        by=by,
        duplicate_reference=duplicate.reference,
        duplicate_id=duplicate.pk,
    )


def record_case_linked(case: Case, *, by: Staff | None, other: Case, type_: str) -> CaseEvent:
    return record_case_event(
        case, "case.linked", by=by, other_reference=other.reference, other_id=other.pk, link=type_
    )


def record_escalation_recorded(
    case: Case,
    *,
    by: Staff | None,
    escalation_id: int,
    body: str,
    body_name: str,
    escalated_on: dt.date,
    reference: str,
) -> CaseEvent:
    return record_case_event(
        case,
        "escalation.recorded",
        by=by,
        escalation_id=escalation_id,
        body=body,
        body_name=body_name,
        escalated_on=_iso(escalated_on),
        reference=reference,
    )


def record_escalation_outcome(
    case: Case, *, by: Staff | None, escalation_id: int, outcome: str, decided_on: dt.date | None
) -> CaseEvent:
    return record_case_event(
        case,
        "escalation.outcome_recorded",
        by=by,
        escalation_id=escalation_id,
        outcome=outcome,
        decided_on=_iso(decided_on),
    )


def record_waiting_started(case: Case, *, by: Staff | None, reason: str) -> CaseEvent:
    return record_case_event(case, "waiting.started", by=by, reason=reason)


def record_waiting_ended(
    case: Case, *, by: Staff | None, waited_seconds: int, business_seconds: int, reason: str
) -> CaseEvent:
    return record_case_event(
        case,
        "waiting.ended",
        by=by,
        waited_seconds=waited_seconds,
        business_seconds=business_seconds,
        reason=reason,
    )


def record_target_warning(
    case: Case, *, clock: str, elapsed_minutes: int, target_minutes: int, notified_id: int | None
) -> CaseEvent:
    return record_case_event(
        case,
        "care.target_warning",
        by=None,
        clock=clock,
        elapsed_minutes=elapsed_minutes,
        target_minutes=target_minutes,
        notified_id=notified_id,
    )


def record_target_breached(
    case: Case,
    *,
    clock: str,
    elapsed_minutes: int,
    target_minutes: int,
    lead_id: int | None,
    notified_id: int | None,
) -> CaseEvent:
    """``notified_id``: who hears of it (the lead, or the owner when the team has none)."""
    return record_case_event(
        case,
        "care.target_breached",
        by=None,
        clock=clock,
        elapsed_minutes=elapsed_minutes,
        target_minutes=target_minutes,
        lead_id=lead_id,
        notified_id=notified_id,
    )


def record_case_tagged(case: Case, *, by: Staff | None, tag: str, macro: str = "") -> CaseEvent:
    return record_case_event(case, "case.tagged", by=by, tag=tag, macro=macro)


def record_macro_applied(
    case: Case, *, by: Staff | None, macro_id: int, title: str, actions: list[str]
) -> CaseEvent:
    return record_case_event(
        case, "macro.applied", by=by, macro_id=macro_id, title=title, actions=actions
    )
