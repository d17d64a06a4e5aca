"""Reads for the survey pages, the desk's survey overview and the customer 360 panel."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

from cherish.customers.models import Customer
from cherish.feedback.models import (
    Answer,
    Compliment,
    CustomerFeedback,
    Invitation,
    InvitationStatus,
    Measure,
    Question,
    QuestionType,
    Survey,
    SurveyPolicy,
    SurveyResponse,
)

# Survey definitions are read on every answer; keep them per process for a few seconds (an
# edit in the admin takes effect everywhere within QUESTIONS_TTL_S).
QUESTIONS_TTL_S = 5.0
_questions: dict[int, tuple[float, list[Question]]] = {}

SATISFACTION_LABELS = {
    1: "Very dissatisfied",
    2: "Dissatisfied",
    3: "Neither",
    4: "Satisfied",
    5: "Very satisfied",
}
AGREEMENT_LABELS = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Neither",
    4: "Agree",
    5: "Strongly agree",
}
LIKELIHOOD_LABELS = {0: "Not at all likely", 10: "Extremely likely"}


def policy() -> SurveyPolicy:
    found = SurveyPolicy.objects.filter(pk=1).first()
    return found if found is not None else SurveyPolicy(pk=1)


def questions_of(survey_id: int) -> list[Question]:
    clock = time.monotonic()
    cached = _questions.get(survey_id)
    if cached is None or cached[0] <= clock:
        rows = list(Question.objects.filter(survey_id=survey_id).order_by("order", "id"))
        cached = (clock + QUESTIONS_TTL_S, rows)
        _questions[survey_id] = cached
    return cached[1]


def forget_questions() -> None:
    _questions.clear()


def scale_labels(question: Question) -> dict[int, str]:
    if question.type == QuestionType.SATISFACTION:
        return SATISFACTION_LABELS
    if question.type == QuestionType.AGREEMENT:
        return AGREEMENT_LABELS
    if question.type == QuestionType.LIKELIHOOD:
        return LIKELIHOOD_LABELS
    return {}


@dataclass(frozen=True)
class QuestionView:
    question: Question
    field: str
    value_int: int | None
    value_text: str
    options: list[tuple[str, str]]  # (value, label) for scales and choices


def survey_form(survey: Survey, response: SurveyResponse | None) -> list[QuestionView]:
    """Each question of the survey with the customer's current answer, ready to render."""
    answers: dict[int, Answer] = {}
    if response is not None:
        answers = {a.question_id: a for a in response.answers.all()}
    views = []
    for question in questions_of(survey.pk):
        answer = answers.get(question.pk)
        labels = scale_labels(question)
        if question.type == QuestionType.CHOICE:
            options = [(str(i), str(label)) for i, label in enumerate(question.choices or [])]
        else:
            options = [(str(v), labels.get(v, str(v))) for v in question.scale]
        views.append(
            QuestionView(
                question=question,
                field=f"q{question.pk}",
                value_int=answer.value_int if answer else None,
                value_text=answer.value_text if answer else "",
                options=options,
            )
        )
    return views


@dataclass(frozen=True)
class Expectation:
    measure: str
    label: str
    median: float | None
    sample: int
    distribution: list[tuple[int, int]]  # (days, customers)


def median_of_counts(counts: list[tuple[int, int]]) -> float | None:
    """The median of values given as (value, how many), values ascending."""
    total = sum(n for _, n in counts)
    if total == 0:
        return None
    middle = [(total - 1) // 2, total // 2]
    found: list[float] = []
    seen = 0
    for value, n in counts:
        for index in middle:
            if seen <= index < seen + n:
                found.append(value)
        seen += n
    return sum(found) / len(found)


def expectation(measure: str) -> Expectation:
    """What customers said ``measure`` should take: the median and the sample size."""
    rows = (
        Answer.objects.filter(question__measure=measure, value_int__isnull=False)
        .values_list("value_int")
        .annotate(n=Count("id"))
        .order_by("value_int")
        .values_list("value_int", "n")
    )
    counts = [(value, n) for value, n in rows if value is not None]
    return Expectation(
        measure=measure,
        label=str(Measure(measure).label),
        median=median_of_counts(counts),
        sample=sum(n for _, n in counts),
        distribution=counts,
    )


@dataclass(frozen=True)
class SurveyRate:
    survey: Survey
    sent: int
    answered: int
    skipped: dict[str, int]

    @property
    def rate(self) -> float | None:
        return round(100 * self.answered / self.sent, 1) if self.sent else None


def response_rates() -> list[SurveyRate]:
    """Per survey: invitations that went out, how many were answered, why others were not."""
    rows = (
        Invitation.objects.values("survey_id", "status", "skip_reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    tally: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = tally.setdefault(row["survey_id"], {"sent": 0, "answered": 0, "skipped": {}})
        if row["status"] == InvitationStatus.SKIPPED:
            entry["skipped"][row["skip_reason"]] = row["n"]
        else:
            entry["sent"] += row["n"]
            if row["status"] == InvitationStatus.ANSWERED:
                entry["answered"] += row["n"]
    return [
        SurveyRate(
            survey=survey,
            sent=tally.get(survey.pk, {}).get("sent", 0),
            answered=tally.get(survey.pk, {}).get("answered", 0),
            skipped=tally.get(survey.pk, {}).get("skipped", {}),
        )
        for survey in Survey.objects.order_by("purpose", "name")
    ]


def customer_panel(customer: Customer) -> dict[str, Any]:
    """The survey part of the customer 360 page: relationship health and recent answers."""
    state = CustomerFeedback.objects.filter(customer=customer).first()
    responses = list(
        SurveyResponse.objects.filter(customer=customer)
        .select_related("survey", "case")
        .order_by("-created_at")[:5]
    )
    counts = Invitation.objects.filter(customer=customer).aggregate(
        sent=Count("id", filter=~Q(status=InvitationStatus.SKIPPED)),
        answered=Count("id", filter=Q(status=InvitationStatus.ANSWERED)),
    )
    return {
        "customer": customer,
        "state": state,
        "responses": responses,
        "sent": counts["sent"],
        "answered": counts["answered"],
        "compliments": Compliment.objects.filter(response__customer=customer).count(),
    }
