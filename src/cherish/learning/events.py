"""Learning's case events: one function per type, called only from learning.actions."""

from __future__ import annotations

from cherish.cases.events import record_case_event
from cherish.cases.models import Case, CaseEvent
from cherish.staff.models import Staff


def record_finding_recorded(
    case: Case,
    *,
    by: Staff | None,
    root_cause: str,
    category: str,
    leak_step: str,
    communication: str,
) -> CaseEvent:
    return record_case_event(
        case,
        "finding.recorded",
        by=by,
        root_cause=root_cause,
        category=category,
        leak_step=leak_step,
        communication=communication,
    )


def record_story_written(case: Case, *, by: Staff | None, story_id: int, title: str) -> CaseEvent:
    return record_case_event(case, "story.written", by=by, story_id=story_id, title=title)


def record_policy_linked(
    case: Case, *, by: Staff | None, policy_id: int, title: str, source: str
) -> CaseEvent:
    return record_case_event(
        case, "policy.linked", by=by, policy_id=policy_id, title=title, source=source
    )
