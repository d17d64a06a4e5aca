"""The learning API: themes, improvement actions and stories to read; planning an action."""

from __future__ import annotations

from django.test import Client

from cherish.intake.apikeys import create_api_key
from cherish.learning import actions
from cherish.learning.models import ImprovementAction, Theme
from cherish.staff.principal import KeyScope


def _client(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def _theme(name: str, count: int) -> Theme:
    from cherish.core.clock import now

    return Theme.objects.create(name=name, case_count=count, created_at=now(), updated_at=now())


def test_an_integration_reads_themes_actions_and_stories(lead):
    # given two themes, a planned action and a story
    parcels, bills = _theme("Late parcels", 12), _theme("Double charges", 30)
    actions.save_improvement_action(None, title="Second courier", theme=parcels, by=lead)
    story = actions.write_story(
        None,
        case=None,
        kind="excellent",
        title="The courier who came back",
        what_happened="A parcel came late.",
        what_we_learned="Call first.",
        by=lead,
    )
    _, token = create_api_key("intranet", scopes=[KeyScope.LEARNING_READ])
    api = _client(token)
    # when
    themes = api.get("/api/v1/learning/themes")
    listed = api.get("/api/v1/learning/actions")
    stories = api.get("/api/v1/learning/stories")
    # then
    assert [(t["id"], t["name"], t["complaints"]) for t in themes.json()] == [
        (bills.pk, "Double charges", 30),
        (parcels.pk, "Late parcels", 12),
    ]
    [action] = listed.json()
    assert (action["title"], action["theme_id"], action["status"]) == (
        "Second courier",
        parcels.pk,
        "planned",
    )
    assert action["effect"]["verdict"] == "not_done"
    assert [(s["id"], s["kind"], s["what_we_learned"]) for s in stories.json()] == [
        (story.pk, "excellent", "Call first.")
    ]


def test_reading_needs_the_learning_scope(db):
    _, token = create_api_key("crm", scopes=[KeyScope.FEEDBACK_READ])
    response = _client(token).get("/api/v1/learning/themes")
    assert (response.status_code, response.json()["code"]) == (403, "missing_scope")


def test_a_lead_plans_an_action_with_their_own_key(lead):
    theme = _theme("Late parcels", 12)
    _, token = create_api_key("lena's key", staff=lead)
    response = _client(token).post(
        "/api/v1/learning/actions",
        {"title": "Second courier", "theme_id": theme.pk, "due_date": "2030-01-31"},
        content_type="application/json",
    )
    assert response.status_code == 201
    action = ImprovementAction.objects.get()
    assert response.json()["id"] == action.pk
    assert (action.title, action.theme, action.created_by, str(action.due_date)) == (
        "Second courier",
        theme,
        lead,
        "2030-01-31",
    )


def test_planning_refused_for_integrations_agents_and_no_subject(lead, agent):
    theme = _theme("Late parcels", 12)
    _, integration = create_api_key("crm", scopes=[KeyScope.LEARNING_WRITE])
    _, agents = create_api_key("alice's key", staff=agent)
    _, leads = create_api_key("lena's key", staff=lead)
    body = {"title": "Second courier", "theme_id": theme.pk}
    answers = [
        _client(token).post("/api/v1/learning/actions", data, content_type="application/json")
        for token, data in (
            (integration, body),
            (agents, body),
            (leads, {"title": "Vague"}),
            (leads, {"title": "Gone", "theme_id": -1}),
        )
    ]
    assert [(a.status_code, a.json()["code"]) for a in answers] == [
        (403, "staff_key_required"),
        (403, "forbidden"),
        (400, "action_needs_subject"),
        (404, "not_found"),
    ]
    assert not ImprovementAction.objects.exists()
