"""Panels other pages include: the rating on the customer's own case page and the survey
part of the customer 360 page. Inclusion tags keep Python imports pointing one way."""

from __future__ import annotations

from typing import Any

from django import template

from cherish.care.models import CareState
from cherish.cases.models import Case
from cherish.customers.models import Customer
from cherish.feedback import actions, queries
from cherish.feedback.models import Invitation, Purpose, Survey, SurveyResponse

register = template.Library()


def _after_case_survey(case: Case) -> Survey | None:
    for survey in Survey.objects.filter(is_active=True, purpose=Purpose.AFTER_CASE).order_by("id"):
        if survey.wants_case_kind(case.kind):
            return survey
    return None


@register.inclusion_tag("feedback/partials/case_rating.html")
def case_rating(case: Case) -> dict[str, Any]:
    """Once the case is resolved (a resolution recorded, or closed), offer the rating."""
    resolved = (
        not case.is_open or CareState.objects.filter(case=case, resolved_at__isnull=False).exists()
    )
    survey = _after_case_survey(case) if resolved else None
    if survey is None:
        return {"show": False}
    questions = queries.questions_of(survey.pk)
    if not questions:
        return {"show": False}
    invitation = Invitation.objects.filter(survey=survey, case=case).first()
    response = SurveyResponse.objects.filter(invitation=invitation).first() if invitation else None
    first = questions[0]
    labels = queries.scale_labels(first)
    return {
        "show": True,
        "case": case,
        "survey": survey,
        "question": first,
        "options": [(v, labels.get(v, str(v))) for v in first.scale],
        "response": response,
        "rate_token": actions.rating_token(case, survey),
        "survey_token": actions.survey_token(invitation) if response and invitation else "",
    }


@register.inclusion_tag("feedback/partials/customer_panel.html")
def customer_feedback(customer: Customer) -> dict[str, Any]:
    return queries.customer_panel(customer)
