from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from cherish.cases import actions as case_actions
from cherish.cases.models import Case
from cherish.feedback import actions, queries
from cherish.feedback.models import Invitation, Measure, Question, Survey
from cherish.intake.apikeys import create_api_key
from cherish.staff.principal import KeyScope


@pytest.fixture(autouse=True)
def builtin_surveys(db: Any) -> None:
    """What migration 0002 seeds (transactional tests elsewhere flush it)."""
    from cherish.feedback.demo import seed_builtin_surveys

    seed_builtin_surveys()
    queries.forget_questions()


def survey(key: str) -> Survey:
    return Survey.objects.get(key=key)


def question(key: str, measure: str) -> Question:
    return Question.objects.get(survey__key=key, measure=measure)


def close(case: Case) -> Case:
    return case_actions.change_stage(case, stage="closed", by=None, reason="sorted")


def invite(key: str, customer: Any, **kw: Any) -> Invitation:
    return actions.invite(survey(key), customer, **kw)


def answers(key: str, **by_measure: Any) -> dict[int, Any]:
    return {question(key, Measure(m)).pk: v for m, v in by_measure.items()}


def path_of(url: str) -> str:
    return url.split("testserver", 1)[-1].split("127.0.0.1:8000", 1)[-1]


@pytest.fixture
def api(db: Any) -> Client:
    """A test client that sends a valid API key."""
    _, key = create_api_key("crm", scopes=list(KeyScope))
    return Client(headers={"Authorization": f"Bearer {key}"})
