"""Triage events on the case timeline."""

from __future__ import annotations

from typing import Any

from cherish.cases.events import record_case_event
from cherish.cases.models import Case, CaseEvent
from cherish.staff.models import Staff


def record_triage_completed(case: Case, *, message_id: int, summary: dict[str, Any]) -> CaseEvent:
    return record_case_event(case, "triage.completed", by=None, message_id=message_id, **summary)


def record_triage_corrected(case: Case, *, by: Staff, field: str, old: str, new: str) -> CaseEvent:
    return record_case_event(case, "triage.corrected", by=by, field=field, old=old, new=new)


def record_signal_raised(
    case: Case,
    *,
    by: Staff | None,
    flag: str,
    source: str,
    message_id: int | None = None,
    words: list[str] | None = None,
    reason: str = "",
) -> CaseEvent:
    """A flag went up: read in a customer's message (source "message") or added by staff."""
    return record_case_event(
        case,
        "signal.raised",
        by=by,
        flag=flag,
        source=source,
        message_id=message_id,
        words=list(words or []),
        reason=reason,
    )


def record_signal_cleared(case: Case, *, by: Staff, flag: str, reason: str) -> CaseEvent:
    return record_case_event(case, "signal.cleared", by=by, flag=flag, reason=reason)
