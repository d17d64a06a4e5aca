"""REST API shapes of survey answers (snake_case, public ids only)."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from cherish.feedback.models import Answer, SurveyResponse


class AnswerOut(Schema):
    question: str = Field(description="The question as the customer saw it.")
    type: str = Field(description="satisfaction, likelihood, agreement, choice, number or text.")
    measure: str | None = Field(description="What the question measures (e.g. csat, nps).")
    value: int | None = Field(description="Scores, numbers and the index of a choice.")
    text: str = Field(description="The chosen option or the free text; empty for scores.")

    @staticmethod
    def resolve_question(obj: Answer) -> str:
        return obj.question.text

    @staticmethod
    def resolve_type(obj: Answer) -> str:
        return obj.question.type

    @staticmethod
    def resolve_measure(obj: Answer) -> str | None:
        return obj.question.measure or None

    @staticmethod
    def resolve_value(obj: Answer) -> int | None:
        return obj.value_int

    @staticmethod
    def resolve_text(obj: Answer) -> str:
        return obj.value_text


class SurveyResponseOut(Schema):
    id: int
    survey: str = Field(description="The survey's key: after-case, relationship, expectations …")
    customer_id: str
    case: str | None = Field(description="The case reference, for after-case surveys.")
    channel: str = Field(description="How it was answered: email (link) or case_page.")
    csat: int | None = Field(description="Satisfaction 1–5 with how the case was handled.")
    nps: int | None = Field(description="Likelihood to recommend, 0–10.")
    nps_group: str | None = Field(description="promoter (9–10), passive (7–8), detractor (0–6).")
    loyalty_level: str | None = Field(
        description="none, confidence, fairness, pride or passion (each needs the ones below)."
    )
    raving_fan: bool | None = Field(description="Agreed with both raving-fan statements.")
    resolved: str | None
    would_stay: str | None
    comment: str
    loop_case: str | None = Field(description="The case a low score opened or reopened.")
    answered_at: dt.datetime
    updated_at: dt.datetime
    editable_until: dt.datetime
    answers: list[AnswerOut]

    @staticmethod
    def resolve_survey(obj: SurveyResponse) -> str:
        return obj.survey.key

    @staticmethod
    def resolve_customer_id(obj: SurveyResponse) -> str:
        return str(obj.customer_id)

    @staticmethod
    def resolve_case(obj: SurveyResponse) -> str | None:
        return obj.case.reference if obj.case else None

    @staticmethod
    def resolve_channel(obj: SurveyResponse) -> str:
        return obj.invitation.channel

    @staticmethod
    def resolve_nps_group(obj: SurveyResponse) -> str | None:
        return obj.nps_group or None

    @staticmethod
    def resolve_loyalty_level(obj: SurveyResponse) -> str | None:
        return obj.loyalty_level or None

    @staticmethod
    def resolve_resolved(obj: SurveyResponse) -> str | None:
        return obj.resolved or None

    @staticmethod
    def resolve_would_stay(obj: SurveyResponse) -> str | None:
        return obj.would_stay or None

    @staticmethod
    def resolve_loop_case(obj: SurveyResponse) -> str | None:
        return obj.loop_case.reference if obj.loop_case else None

    @staticmethod
    def resolve_answered_at(obj: SurveyResponse) -> dt.datetime:
        return obj.created_at

    @staticmethod
    def resolve_answers(obj: SurveyResponse) -> list[Answer]:
        return list(obj.answers.all())


class SurveyResponsePageOut(Schema):
    items: list[SurveyResponseOut]
    next_cursor: str | None = Field(description="Pass as ``cursor`` for the next page.")
