"""Apply triage results to cases, and record staff corrections as labelled examples."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from cherish.cases import actions as case_actions
from cherish.cases.events import record_case_event
from cherish.cases.models import SEVERITY_RANK, Case, Direction, Kind, Message
from cherish.core.clock import now
from cherish.staff.models import Staff
from cherish.triage import events
from cherish.triage.errors import TriageError
from cherish.triage.models import Correction, TriageRecord

ANGRY_EMOTIONS = {"anger", "frustration"}
ANGRY_INTENSITY = 0.5
URGENCY_SEVERITY = {"critical": "critical", "high": "high"}
CORRECTABLE = {
    "kind": ("complaint", "inquiry", "compliment", "suggestion"),
    "emotion": ("anger", "frustration", "disappointment", "worry", "gratitude", "neutral"),
    "urgency": ("low", "normal", "high", "critical"),
    "topic": None,  # the organisation's topic list is open-ended
    "phase": ("before", "during", "after"),
}
FLAG_NAMES = ("leaving", "legal", "public", "vulnerable", "safety")


def badges_for(result: dict[str, Any]) -> list[str]:
    """The inbox badges a triage result earns, most alarming first."""
    badges = [
        flag
        for flag in ("safety", "vulnerable", "legal", "leaving", "public")
        if flag in result.get("flags", [])
    ]
    if result.get("emotion") in ANGRY_EMOTIONS and result.get("intensity", 0) >= ANGRY_INTENSITY:
        badges.insert(0, "angry")
    if result.get("urgency") == "critical":
        badges.insert(0, "urgent")
    return badges


def priority_bonus(result: dict[str, Any]) -> int:
    bonus = 4 * len(result.get("flags", []))
    if result.get("emotion") in ANGRY_EMOTIONS:
        bonus += round(8 * float(result.get("intensity", 0)))
    bonus += {"critical": 10, "high": 5}.get(str(result.get("urgency")), 0)
    return min(bonus, 30)


def _credit_named_staff(case: Case, text: str) -> list[Staff]:
    """Staff named in a compliment, matched on first name or full display name."""
    credited = []
    for staff in Staff.objects.filter(user__is_active=True):
        names = {staff.display_name, staff.first_name}
        if any(
            re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE)
            for name in names
            if len(name) > 2
        ):
            credited.append(staff)
    for staff in credited:
        record_case_event(
            case, "compliment.credited", by=None, staff_id=staff.pk, staff_name=staff.display_name
        )
    return credited


@transaction.atomic
def apply_triage(message: Message, result: dict[str, Any]) -> TriageRecord:
    """Store a triage result for an inbound message and let it steer the case.

    The case's kind follows triage for its first message unless staff set the kind; severity
    only rises (never overrides a person's higher rating); badges, at-risk and inbox priority
    are derived from the result. A compliment credits the staff it names. Idempotent per
    message. Writes triage.completed (and case.kind_changed / case.severity_changed,
    compliment.credited).
    """
    existing = TriageRecord.objects.filter(message=message).first()
    if existing is not None:
        return existing
    case = Case.objects.select_for_update().get(pk=message.case_id)
    record = TriageRecord.objects.create(
        message=message,
        case=case,
        kind=result["kind"],
        result=result,
        model_version=result.get("model_version", ""),
        created_at=now(),
    )
    first_message = not Message.objects.filter(
        case=case, direction=Direction.INBOUND, created_at__lt=message.created_at
    ).exists()
    if first_message and not case.kind_set_by_staff:
        case_actions.change_kind(case, kind=result["kind"], by=None)
    wanted = URGENCY_SEVERITY.get(result.get("urgency", ""), case.severity)
    severity = wanted if SEVERITY_RANK[wanted] > SEVERITY_RANK[case.severity] else case.severity
    badges = badges_for(result)
    case_actions.change_severity(
        case, severity=severity, by=None, priority_bonus=priority_bonus(result)
    )
    Case.objects.filter(pk=case.pk).update(
        triage=result, badges=badges, at_risk=bool(badges) or case.at_risk
    )
    events.record_triage_completed(
        case,
        message_id=message.pk,
        summary={
            "kind": result["kind"],
            "emotion": result.get("emotion"),
            "urgency": result.get("urgency"),
            "flags": result.get("flags", []),
            "model_version": result.get("model_version", ""),
        },
    )
    if first_message and result["kind"] == Kind.COMPLIMENT:
        _credit_named_staff(case, message.body_text)
    return record


@transaction.atomic
def correct_triage(case: Case, *, field: str, value: str, by: Staff) -> Correction:
    """A staff member corrects one triage field of a case in one click.

    The correction is stored with the text it labels so `cherish triage train` learns from
    it; a kind correction also sets the case's kind (and staff's choice then sticks).
    Refuses unknown fields or values (TriageError 'bad_correction'). Writes triage.corrected.
    """
    allowed = CORRECTABLE.get(field, ())
    if field not in CORRECTABLE or (allowed is not None and value not in allowed):
        raise TriageError(f"“{value}” is not a valid {field}.", code="bad_correction", field=field)
    case = Case.objects.select_for_update().get(pk=case.pk)
    message = (
        Message.objects.filter(case=case, direction=Direction.INBOUND)
        .order_by("created_at")
        .first()
    )
    current = dict(case.triage or {})
    old = str(current.get(field, case.kind if field == "kind" else ""))
    correction = Correction.objects.create(
        case=case,
        message=message,
        field=field,
        old_value=old,
        new_value=value,
        text=message.body_text if message else "",
        by=by,
        created_at=now(),
    )
    if field == "kind":
        case_actions.change_kind(case, kind=value, by=by)
    current[field] = value
    current.setdefault("corrected", []).append(field)
    Case.objects.filter(pk=case.pk).update(triage=current, badges=badges_for(current))
    events.record_triage_corrected(case, by=by, field=field, old=old, new=value)
    return correction
