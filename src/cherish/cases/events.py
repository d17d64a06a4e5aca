"""The catalogue of case events: one function per type, called only from actions."""

from __future__ import annotations

from typing import Any

from cherish.cases.models import Case, CaseEvent
from cherish.core.clock import now
from cherish.core.rows import RowInsert
from cherish.outbox.actions import queue_webhooks
from cherish.staff.models import Staff

# Case events that integrations can subscribe to, by their public webhook name.
WEBHOOK_EVENTS = {
    "case.opened": "case.created",
    "case.stage_changed": "case.stage_changed",
    "message.added": "message.added",
}


def _record(case: Case, type_: str, by: Staff | None, **data: Any) -> CaseEvent:
    event = CaseEvent.objects.create(
        case=case,
        customer_id=case.customer_id,
        type=type_,
        actor=by,
        data=data,
        created_at=now(),
    )
    _queue_webhook(case, event)
    return event


def _queue_webhook(case: Case, event: CaseEvent) -> None:
    _queue_webhook_for(case, event.type, event.data, event.created_at)


def _queue_webhook_for(case: Case, type_: str, data: dict[str, Any], at: Any) -> None:
    if type_ in WEBHOOK_EVENTS and data.get("direction") != "note":
        queue_webhooks(
            WEBHOOK_EVENTS[type_],
            {
                "case": case.reference,
                "type": WEBHOOK_EVENTS[type_],
                "data": data,
                "created_at": at.isoformat(),
            },
        )


def record_many(rows: list[tuple[Case, str, Staff | None, dict[str, Any]]]) -> None:
    """The events of a batch of new cases (cases.open_cases), in one INSERT.

    Each row is (case, type, by, data) as the ``record_*`` helpers write them; the events
    keep the order of ``rows`` on every timeline (same time, ascending id). Plain SQL
    without model instances (core.rows): building them cost more CPU than the statement.
    """
    at = now()
    _EVENT_ROWS.run(
        [
            (case.pk, case.customer_id, type_, by.pk if by is not None else None, data, at)
            for case, type_, by, data in rows
        ]
    )
    for case, type_, _, data in rows:
        _queue_webhook_for(case, type_, data, at)


# A plain multi-row INSERT (core.rows).
_EVENT_ROWS = RowInsert(
    CaseEvent, ["case", "customer", "type", "actor", "data", "created_at"], returning=False
)


def record_case_opened(case: Case, *, by: Staff | None, channel: str, kind: str) -> CaseEvent:
    return _record(case, "case.opened", by, channel=channel, kind=kind)


def record_owner_assigned(
    case: Case, *, by: Staff | None, owner: Staff | None, rule: str
) -> CaseEvent:
    return _record(
        case,
        "case.owner_assigned",
        by,
        owner_id=owner.pk if owner else None,
        owner_name=owner.display_name if owner else "",
        rule=rule,
    )


def record_owner_changed(
    case: Case, *, by: Staff | None, old: Staff | None, new: Staff, note: str
) -> CaseEvent:
    return _record(
        case,
        "case.owner_changed",
        by,
        old_owner_id=old.pk if old else None,
        old_owner_name=old.display_name if old else "",
        owner_id=new.pk,
        owner_name=new.display_name,
        note=note,
    )


def record_message_added(
    case: Case, *, by: Staff | None, message_id: int, direction: str, channel: str, excerpt: str
) -> CaseEvent:
    return _record(
        case,
        "message.added",
        by,
        message_id=message_id,
        direction=direction,
        channel=channel,
        excerpt=excerpt,
    )


def record_stage_changed(
    case: Case, *, by: Staff | None, old: str, new: str, reason: str = ""
) -> CaseEvent:
    return _record(case, "case.stage_changed", by, old=old, new=new, reason=reason)


def record_kind_changed(case: Case, *, by: Staff | None, old: str, new: str) -> CaseEvent:
    return _record(case, "case.kind_changed", by, old=old, new=new)


def record_severity_changed(case: Case, *, by: Staff | None, old: str, new: str) -> CaseEvent:
    return _record(case, "case.severity_changed", by, old=old, new=new)


def record_case_closed(case: Case, *, by: Staff | None, resolution: str = "") -> CaseEvent:
    return _record(case, "case.closed", by, resolution=resolution)


def record_case_reopened(case: Case, *, by: Staff | None, reason: str = "") -> CaseEvent:
    return _record(case, "case.reopened", by, reason=reason)


def record_case_event(case: Case, type_: str, *, by: Staff | None, **data: Any) -> CaseEvent:
    """For higher apps (care, triage, intake) that keep their own catalogue in events.py.

    They call this from their own ``record_*`` helpers so every event lands on one timeline.
    """
    return _record(case, type_, by, **data)
