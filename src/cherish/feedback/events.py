"""The catalogue of feedback events: one function per type, called only from feedback actions.

An answer about a case lands on that case's timeline (and so on the customer's); an answer
with no case (relationship, expectations) lands on the customer's own log. Integrations
hear ``survey.answered`` through the outbox's webhooks.
"""

from __future__ import annotations

from typing import Any

from cherish.cases.events import record_case_event
from cherish.cases.models import Case
from cherish.customers.actions import record_customer_event
from cherish.customers.models import Customer
from cherish.feedback.models import Invitation, SurveyResponse
from cherish.outbox.actions import queue_webhooks
from cherish.staff.models import Staff


def _record(customer: Customer, case: Case | None, type_: str, **data: Any) -> None:
    if case is not None:
        record_case_event(case, type_, by=None, **data)
    else:
        record_customer_event(customer, type_, by=None, **data)


def record_survey_sent(invitation: Invitation) -> None:
    _record(
        invitation.customer,
        invitation.case,
        "survey.sent",
        invitation_id=invitation.pk,
        survey=invitation.survey.key,
        survey_name=invitation.survey.name,
    )


def response_payload(response: SurveyResponse) -> dict[str, Any]:
    """What integrations and the timeline learn about an answer (no free text on timelines
    of other cases; the comment is the customer's own words and goes to the webhook)."""
    return {
        "response_id": response.pk,
        "survey": response.survey.key,
        "customer_id": response.customer_id,
        "case": response.case.reference if response.case else None,
        "csat": response.csat,
        "nps": response.nps,
        "nps_group": response.nps_group or None,
        "loyalty_level": response.loyalty_level or None,
        "raving_fan": response.raving_fan,
        "changes": response.changes,
        "answered_at": response.created_at.isoformat(),
        "updated_at": response.updated_at.isoformat(),
    }


def record_survey_answered(response: SurveyResponse, *, first: bool) -> None:
    payload = response_payload(response)
    _record(
        response.customer,
        response.case,
        "survey.answered" if first else "survey.answer_changed",
        response_id=response.pk,
        survey=response.survey.key,
        survey_name=response.survey.name,
        csat=response.csat,
        nps=response.nps,
        loyalty_level=response.loyalty_level,
    )
    queue_webhooks(
        "survey.answered",
        {**payload, "type": "survey.answered", "comment": response.comment},
    )


def record_compliment_credited(response: SurveyResponse, staff: Staff) -> None:
    # The same event type triage writes for compliments in messages, so every reader of
    # "compliment.credited" (the recognition wall) sees both.
    _record(
        response.customer,
        response.case,
        "compliment.credited",
        staff_id=staff.pk,
        staff_name=staff.display_name,
        source="survey",
        response_id=response.pk,
    )


def record_loop_opened(response: SurveyResponse, case: Case, *, reason: str) -> None:
    record_case_event(
        case,
        "survey.loop_opened",
        by=None,
        response_id=response.pk,
        survey=response.survey.key,
        reason=reason,
    )


def record_survey_opt_out(customer: Customer) -> None:
    record_customer_event(customer, "survey.opted_out", by=None)
