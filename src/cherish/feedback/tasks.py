"""Background work for feedback: ids in, the action decides whether anything is left to do."""

from __future__ import annotations

from django_tasks import task

from cherish.feedback import actions
from cherish.feedback.models import SurveyResponse


@task()
def close_loop_task(response_id: int) -> str:
    """Open (or reopen) the case a low score asks for, once; nothing if already done."""
    if not SurveyResponse.objects.filter(pk=response_id).exists():
        return "gone"
    case = actions.close_loop(SurveyResponse(pk=response_id))
    return case.reference if case is not None else "nothing to do"
