"""Background work of the intake channels. Tasks take ids, re-check state and are idempotent."""

from __future__ import annotations

from django_tasks import task

from cherish.intake.email.acknowledgement import send_acknowledgement


# Lower priority than the default: when triage and the acknowledgement are queued together,
# triage runs first, so the acknowledgement is written for the kind triage found.
@task(priority=-10)
def send_acknowledgement_task(message_id: int, opened: bool) -> str:
    """Queued by intake.receive_contact for every inbound message (CHERISH_INTAKE_FOLLOW_ON)."""
    if not opened:
        return "not a new case"
    return "sent" if send_acknowledgement(message_id) is not None else "not due"
