"""The theme pages through the real HTTP stack."""

from __future__ import annotations

from django.urls import reverse

from cherish.cases.models import CaseEvent
from cherish.learning import actions
from cherish.learning.models import CaseFinding, CaseTheme, RootCause, Theme
from tests.conftest import login


def test_index_lists_themes_for_any_staff(client, topics, agent, django_assert_max_num_queries):
    actions.recluster_themes(k=3)
    login(client, agent)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("learning:index"))
    assert response.status_code == 200
    body = response.content.decode()
    # each theme twice: all three are new this week, so all three are also rising
    assert body.count('href="/desk/learning/themes/') == 6
    assert "Find themes again" not in body  # agents read; leads shape


def test_anonymous_visitors_go_to_login(client, db):
    response = client.get(reverse("learning:index"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_theme_page_shows_quotes_words_and_trend(client, topics, agent):
    actions.recluster_themes(k=3)
    theme = CaseTheme.objects.get(case=topics["app"][0]).theme
    login(client, agent)
    response = client.get(reverse("learning:theme", args=[theme.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert topics["app"][0].reference in body
    assert "<blockquote" in body
    assert body.count("<progress") == 12
    assert client.get("/desk/learning/themes/999999/").status_code == 404


def test_agent_may_not_rename_and_nothing_changes(client, topics, agent):
    actions.recluster_themes(k=3)
    theme = Theme.objects.first()
    login(client, agent)
    response = client.post(reverse("learning:theme-rename", args=[theme.pk]), {"name": "Mine"})
    assert response.status_code == 403
    theme.refresh_from_db()
    assert (theme.name_set_by_staff, theme.pinned) == (False, False)


def test_lead_renames_through_the_page(client, topics, lead):
    actions.recluster_themes(k=3)
    theme = Theme.objects.first()
    login(client, lead)
    response = client.post(
        reverse("learning:theme-rename", args=[theme.pk]), {"name": "Late <b>parcels</b>"}
    )
    assert response.status_code == 302
    page = client.get(reverse("learning:theme", args=[theme.pk])).content.decode()
    assert "Late &lt;b&gt;parcels&lt;/b&gt;" in page


def test_lead_reclusters_from_the_page(client, topics, lead):
    login(client, lead)
    response = client.post(reverse("learning:recluster"), follow=True)
    assert response.status_code == 200
    assert "Themes found again in 24 complaints" in response.content.decode()


def test_root_cause_and_leak_step_recorded_on_a_case(client, complaint, agent):
    login(client, agent)
    cause = RootCause.objects.get(category="policy")
    url = reverse("learning:case-finding", args=[complaint.reference])
    assert client.get(url).status_code == 200
    response = client.post(url, {"root_cause": cause.pk, "leak_step": "finance"})
    assert response.status_code == 302
    finding = CaseFinding.objects.get(case=complaint)
    assert (finding.root_cause, finding.leak_step, finding.team_id) == (
        cause,
        "finance",
        complaint.team_id,
    )
    event = CaseEvent.objects.filter(case=complaint, type="finding.recorded").get()
    assert event.data["category"] == "policy"


def test_empty_finding_refused_without_a_trace(client, complaint, agent):
    login(client, agent)
    url = reverse("learning:case-finding", args=[complaint.reference])
    response = client.post(url, {"root_cause": "", "leak_step": ""})
    assert response.status_code == 200
    assert "Choose a root cause or the step" in response.content.decode()
    assert not CaseFinding.objects.exists()
    assert not CaseEvent.objects.filter(type="finding.recorded").exists()


def test_other_teams_see_the_theme_but_not_its_cases(client, topics, agent, db):
    from cherish.staff.actions import create_staff
    from cherish.staff.models import Team
    from tests.conftest import PASSWORD

    actions.recluster_themes(k=3)
    theme = CaseTheme.objects.get(case=topics["app"][0]).theme
    outsider = create_staff(
        username="bea",
        password=PASSWORD,
        display_name="Bea Billing",
        team=Team.objects.create(name="Billing"),
    )
    login(client, outsider)
    body = client.get(reverse("learning:theme", args=[theme.pk])).content.decode()
    assert theme.name in body and "8 complaints" in body
    assert not any(case.reference in body for case in topics["app"])
    login(client, agent)
    body = client.get(reverse("learning:theme", args=[theme.pk])).content.decode()
    assert topics["app"][0].reference in body
