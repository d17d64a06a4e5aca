"""Background triage of inbound messages."""

from __future__ import annotations

from django_tasks import task

from cherish.cases.models import Direction, Message
from cherish.triage.actions import apply_triage
from cherish.triage.loader import get_triager
from cherish.triage.models import TriageRecord


def triage_message(message_id: int) -> dict | None:
    """Triage one message now (used by the task, the API and tests). None if not applicable."""
    message = Message.objects.filter(pk=message_id, direction=Direction.INBOUND).first()
    if message is None:
        return None
    record = TriageRecord.objects.filter(message=message).first()
    if record is not None:
        return record.result
    result = get_triager().triage(message.body_text, subject=message.subject).to_dict()
    apply_triage(message, result)
    return result


@task()
def triage_message_task(message_id: int, opened: bool = False) -> None:
    triage_message(message_id)
