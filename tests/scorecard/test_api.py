"""The scorecard through the API."""

from __future__ import annotations

import pytest
from django.test import Client
from tests.scorecard.conftest import TODAY

from cherish.intake.apikeys import create_api_key
from cherish.staff.principal import KeyScope


@pytest.fixture
def api(db) -> Client:
    _, key = create_api_key("bi", scopes=[KeyScope.FEEDBACK_READ])
    return Client(headers={"Authorization": f"Bearer {key}"})


def test_scorecard_figures_through_the_api(api, built):
    response = api.get(f"/api/v1/scorecard?period=week&today={TODAY.date()}")
    assert response.status_code == 200
    body = response.json()
    assert (body["start"], body["end"]) == ("2026-03-16", "2026-03-22")
    by_key = {f["key"]: f for f in body["figures"]}
    assert by_key["complaints"]["value"] == 2
    assert by_key["complaints"]["previous"] == 1
    assert by_key["call_once"]["seven_c"] == "call_once"
    assert by_key["nps"]["value"] == 0
    assert len(by_key["nps"]["trend"]) == 12
    assert by_key["csat"]["trend"][-2] == {
        "start": "2026-03-09",
        "end": "2026-03-15",
        "value": None,
    }


def test_filters_through_the_api(api, built):
    body = api.get(f"/api/v1/scorecard?period=week&channel=email&today={TODAY.date()}").json()
    assert {f["key"]: f["value"] for f in body["figures"]}["complaints"] == 1
    assert body["filters"] == {"team": "*", "channel": "email", "kind": "*", "topic": "*"}


def test_invalid_period_is_a_problem(api, built):
    response = api.get("/api/v1/scorecard?period=decade")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"


def test_openapi_documents_the_scorecard(api, db):
    spec = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/scorecard" in spec["paths"]
    assert "/api/v1/survey-responses" in spec["paths"]


def test_the_api_needs_a_key(db):
    assert Client().get("/api/v1/scorecard").status_code == 401


def test_a_key_without_the_feedback_scope_is_refused(db):
    _, key = create_api_key("crm", scopes=[KeyScope.CASES_READ])
    client = Client(headers={"Authorization": f"Bearer {key}"})
    assert client.get("/api/v1/scorecard").status_code == 403
