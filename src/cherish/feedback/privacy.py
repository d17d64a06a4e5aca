"""Feedback's part of export and erasure: the customer's survey answers and comments."""

from __future__ import annotations

from typing import Any

from cherish.core.erasure import ERASED, Erasure, erase_free_text
from cherish.customers.models import Customer
from cherish.feedback.models import Answer, Compliment, Invitation, SurveyResponse


def forget_customer(customer: Customer, *, erasure: Erasure) -> None:
    """Scores stay (the figures hold); the customer's words go: comments, free-text answers,
    the compliments quoted to staff, and where invitations were sent."""
    responses = SurveyResponse.objects.filter(customer=customer)
    erasure.count("survey_comments", erase_free_text(responses))
    Answer.objects.filter(response__in=responses).exclude(value_text="").update(value_text=ERASED)
    Compliment.objects.filter(response__in=responses).update(text=ERASED)
    Invitation.objects.filter(customer=customer).exclude(sent_to="").update(sent_to="")


def export_customer(customer: Customer) -> dict[str, Any]:
    return {
        "survey_responses": list(
            SurveyResponse.objects.filter(customer=customer).values(
                "survey__key", "case__reference", "csat", "nps", "comment", "created_at"
            )
        ),
        "survey_answers": list(
            Answer.objects.filter(response__customer=customer).values(
                "response_id", "question__text", "value_int", "value_text", "answered_at"
            )
        ),
    }
