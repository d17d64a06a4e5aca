"""The anonymous staff pulse: answers without names, results only for groups of five."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from cherish.core.errors import CherishError
from cherish.staff import actions, queries
from cherish.staff.actions import create_staff
from cherish.staff.models import PulseParticipation, PulseResponse, PulseSurvey, Team
from tests.conftest import PASSWORD, login

QUESTIONS = ["I can give customers the service they deserve.", "My tools help me."]


def _team(name: str, size: int, *, first: int = 0):
    team = Team.objects.create(name=name)
    return team, [
        create_staff(
            username=f"{name.lower()}{i}",
            password=PASSWORD,
            display_name=f"{name} {i}",
            team=team,
        )
        for i in range(first, first + size)
    ]


@pytest.fixture
def survey(lead) -> PulseSurvey:
    now = dt.datetime.now(dt.UTC)
    return actions.open_pulse(
        title="How are we doing?",
        questions=QUESTIONS,
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=6),
        by=lead,
    )


def _answer_all(survey, people, scores):
    for person in people:
        actions.answer_pulse(survey, scores={0: scores[0], 1: scores[1]}, by=person)


def test_answer_keeps_the_team_never_the_person(survey, db):
    team, [person] = _team("Care", 1)
    actions.answer_pulse(survey, scores={0: 4, 1: 2}, comment="Tools are slow", by=person)
    [response] = PulseResponse.objects.all()
    assert (response.team, response.answers, response.comment) == (
        team,
        {"0": 4, "1": 2},
        "Tools are slow",
    )
    field_names = {f.name for f in PulseResponse._meta.get_fields()}
    assert field_names == {"id", "survey", "team", "answers", "comment"}
    with pytest.raises(CherishError) as twice:
        actions.answer_pulse(survey, scores={0: 1, 1: 1}, by=person)
    assert twice.value.code == "pulse_answered"
    assert PulseResponse.objects.count() == 1 and PulseParticipation.objects.count() == 1


def test_nothing_is_shown_while_the_pulse_is_open(survey, db):
    _, six = _team("Billing", 6)
    _answer_all(survey, six, (4, 4))
    results = queries.pulse_results(survey)
    assert (results.overall, results.teams, results.other) == (None, [], None)


def test_a_team_of_four_never_sees_its_results_nor_infers_them(survey, db):
    # given a team of six and a team of four
    big, six = _team("Billing", 6)
    small, four = _team("Returns", 4)
    _answer_all(survey, six, (4, 4))
    _answer_all(survey, four, (1, 1))
    # when results are read overall and filtered by each team
    overall = queries.pulse_results(survey, at=survey.closes_at)
    by_small = queries.pulse_results(survey, team_id=small.pk, at=survey.closes_at)
    by_big = queries.pulse_results(survey, team_id=big.pk, at=survey.closes_at)
    # then the overall of ten shows; neither team does, since showing the six would give
    # away the four (overall minus six)
    assert overall.overall.answers == 10
    assert overall.overall.averages == [2.8, 2.8]
    assert (overall.teams, overall.other, overall.hidden_teams) == ([], None, 2)
    assert (by_small.teams, by_small.overall) == ([], None)
    assert (by_big.teams, by_big.overall) == ([], None)


def test_teams_of_five_show_and_small_ones_only_together(survey, db):
    _a, five_a = _team("Alpha", 5)
    _b, five_b = _team("Bravo", 5)
    c, three = _team("Charlie", 3)
    _d, two = _team("Delta", 2)
    _answer_all(survey, five_a, (5, 5))
    _answer_all(survey, five_b, (3, 1))
    _answer_all(survey, three, (1, 1))
    _answer_all(survey, two, (2, 2))
    results = queries.pulse_results(survey, at=survey.closes_at)
    # Charlie and Delta are hidden (3 + 2 = 5 together, so no further suppression needed)
    assert [(g.label, g.answers, g.averages) for g in results.teams] == [
        ("Alpha", 5, [5.0, 5.0]),
        ("Bravo", 5, [3.0, 1.0]),
    ]
    assert (results.other.answers, results.other.averages) == (5, [1.4, 1.4])
    assert queries.pulse_results(survey, team_id=c.pk, at=survey.closes_at).teams == []


def test_results_page_enforces_the_rule_through_http(client, survey, db):
    big, six = _team("Billing", 6)
    small, four = _team("Returns", 4)
    _answer_all(survey, six, (5, 5))
    _answer_all(survey, four, (1, 1))
    login(client, four[0])
    url = reverse("staff:pulse", args=[survey.pk])
    # while open: nothing at all
    assert "Everyone (" not in client.get(url).content.decode()
    with time_machine.travel(survey.closes_at, tick=False):
        for team in (small, big):
            body = client.get(url, {"team": team.pk}).content.decode()
            assert "are not shown" in body
            assert "1.0" not in body and "5.0" not in body
        body = client.get(url).content.decode()
    assert "Everyone (10 answers)" in body
    assert "Returns (" not in body and "Billing (" not in body


def test_fewer_than_five_answers_in_all_show_nothing(client, survey, db):
    _, four = _team("Returns", 4)
    _answer_all(survey, four, (2, 3))
    assert queries.pulse_results(survey, at=survey.closes_at).overall is None
    login(client, four[0])
    with time_machine.travel(survey.closes_at, tick=False):
        body = client.get(reverse("staff:pulse", args=[survey.pk])).content.decode()
    assert "results are shown only for 5 or more" in body


def test_answering_through_the_page(client, survey, agent):
    login(client, agent)
    url = reverse("staff:pulse", args=[survey.pk])
    response = client.post(url, {"q0": "4", "q1": "5", "comment": ""})
    assert response.status_code == 302
    assert PulseResponse.objects.get().answers == {"0": 4, "1": 5}
    assert "You have answered this pulse" in client.get(url).content.decode()


def test_action_plans_by_leads_only(client, survey, agent, lead):
    login(client, agent)
    url = reverse("staff:pulse-plan", args=[survey.pk])
    assert client.post(url, {"title": "Faster laptops"}).status_code == 403
    login(client, lead)
    assert client.post(url, {"title": "Faster laptops", "owner": lead.pk}).status_code == 302
    assert [p.title for p in survey.plans.all()] == ["Faster laptops"]


def test_only_leads_open_a_pulse(client, agent, db):
    login(client, agent)
    response = client.post(
        reverse("staff:pulses"),
        {
            "title": "x",
            "questions": "q",
            "opens_at": "2026-01-01T00:00",
            "closes_at": "2026-02-01T00:00",
        },
    )
    assert response.status_code == 403
    assert not PulseSurvey.objects.exists()


def test_a_lead_closes_a_pulse_and_results_appear(client, survey, lead, db):
    _, six = _team("Billing", 6)
    _answer_all(survey, six, (4, 2))
    login(client, six[0])
    url = reverse("staff:pulse-close", args=[survey.pk])
    assert client.post(url).status_code == 403
    login(client, lead)
    client.post(url)
    body = client.get(reverse("staff:pulse", args=[survey.pk])).content.decode()
    assert "Everyone (6 answers)" in body and "Billing (6 answers)" in body
    # the results' filter and the action plan's form, both with a Team field, on one page:
    # every id once, and every label names an element that is there
    ids = re.findall(r' id="([^"]+)"', body)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert set(re.findall(r'<label for="([^"]+)"', body)) <= set(ids)
