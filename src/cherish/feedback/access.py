"""Fetches for the customer's survey pages, by signed token; "not found" for every failure.

A forged, altered, foreign-purpose or unknown token is the same 404 as a missing survey:
the pages never say which part was wrong.
"""

from __future__ import annotations

from cherish.cases.models import Case
from cherish.core.signing import read_token
from cherish.feedback.actions import RATE_TOKEN_PURPOSE, TOKEN_PURPOSE
from cherish.feedback.errors import SurveyNotFound
from cherish.feedback.models import Invitation, Survey

# Signed links older than this are refused whatever the invitation says (a year and the
# edit window): the invitation's own expiry is the rule, this only bounds old tokens.
TOKEN_MAX_AGE_S = 400 * 24 * 3600


def access_invitation(token: str) -> Invitation:
    payload = read_token(TOKEN_PURPOSE, token, max_age=TOKEN_MAX_AGE_S)
    pk = payload.get("i") if payload else None
    if not isinstance(pk, int):
        raise SurveyNotFound("There is no such survey.")
    invitation = (
        Invitation.objects.select_related("survey", "customer", "case").filter(pk=pk).first()
    )
    if invitation is None or invitation.customer.erased_at is not None:
        raise SurveyNotFound("There is no such survey.")
    return invitation


def access_rating(token: str) -> tuple[Case, Survey]:
    """The case and survey a case-page rating form was rendered for."""
    payload = read_token(RATE_TOKEN_PURPOSE, token, max_age=TOKEN_MAX_AGE_S)
    case_pk = payload.get("c") if payload else None
    survey_pk = payload.get("s") if payload else None
    if not isinstance(case_pk, int) or not isinstance(survey_pk, int):
        raise SurveyNotFound("There is no such survey.")
    case = Case.objects.select_related("customer").filter(pk=case_pk).first()
    survey = Survey.objects.filter(pk=survey_pk, is_active=True).first()
    if case is None or survey is None or case.customer.erased_at is not None:
        raise SurveyNotFound("There is no such survey.")
    return case, survey
