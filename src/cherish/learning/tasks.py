"""Learning's background work: ids in, idempotent, calls an action."""

from __future__ import annotations

from django_tasks import task

from cherish.cases.models import Message
from cherish.learning import actions


@task()
def assign_theme_task(message_id: int, opened: bool = False) -> None:
    """A step of the intake follow-on pipeline (after triage has set the kind): put a new
    complaint into its theme (once) and note the competitors the customer names (in any
    message). Both are idempotent."""
    message = Message.objects.select_related("case").filter(pk=message_id).first()
    if message is None:
        return
    del opened
    actions.assign_theme(message.case)
    actions.find_competitor_mentions(message.case)
