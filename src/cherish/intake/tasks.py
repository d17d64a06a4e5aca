"""Background work of the intake channels. Tasks take ids, re-check state and are idempotent."""

from __future__ import annotations

from django_tasks import task

from cherish.intake.email.acknowledgement import send_acknowledgement


# No task priority: the RQ backend refuses one. Ordering after triage comes from
# CHERISH_INTAKE_FOLLOW_ON, whose steps run in sequence in one task (core.pipeline).
@task()
def send_acknowledgement_task(message_id: int, opened: bool) -> str:
    """Queued by intake.receive_contact for every inbound message (CHERISH_INTAKE_FOLLOW_ON)."""
    if not opened:
        return "not a new case"
    return "sent" if send_acknowledgement(message_id) is not None else "not due"
