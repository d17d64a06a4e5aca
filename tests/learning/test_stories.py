"""Learning stories: written from resolved cases, circulated, read receipts, onboarding;
the weekly report."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from cherish.cases.models import CaseEvent
from cherish.learning import actions, queries
from cherish.learning.errors import LearningError
from cherish.learning.models import LearningStory, StoryRead, WeeklyReport
from cherish.outbox.models import OutgoingEmail
from cherish.staff.actions import create_staff
from cherish.staff.models import Team
from tests.conftest import PASSWORD, login
from tests.learning.conftest import APP, open_complaint

STORY = {
    "kind": "failure",
    "title": "The parcel nobody chased",
    "what_happened": "A parcel was lost and three people each thought another would chase it.",
    "what_we_learned": "One owner from start to finish.",
    "what_we_changed": "The owner now chases the carrier.",
}


@pytest.fixture
def resolved(complaint, agent):
    from cherish.care import actions as care_actions

    care_actions.record_resolution(complaint, text="Refunded and re-sent.", by=agent)
    return complaint


def test_story_refused_for_an_unresolved_case(complaint, agent):
    with pytest.raises(LearningError) as error:
        actions.write_story(None, case=complaint, by=agent, **STORY)
    assert error.value.code == "story_case_unresolved"
    assert not LearningStory.objects.exists()
    assert not CaseEvent.objects.filter(type="story.written").exists()


def test_story_written_from_a_resolved_case_through_the_page(client, resolved, agent):
    login(client, agent)
    url = reverse("learning:story-new") + f"?case={resolved.reference}"
    assert client.get(url).status_code == 200
    response = client.post(url, STORY)
    story = LearningStory.objects.get()
    assert response.status_code == 302
    assert (story.case, story.author, story.kind) == (resolved, agent, "failure")
    assert CaseEvent.objects.filter(case=resolved, type="story.written").count() == 1


def test_read_receipts_and_read_rate(client, resolved, agent, other_agent, lead, care_team):
    # given a story circulated to the care team (agent, other_agent, lead) and another team
    story = actions.write_story(None, case=resolved, by=lead, **STORY)
    elsewhere = Team.objects.create(name="Billing")
    login(client, lead)
    client.post(
        reverse("learning:story-circulate", args=[story.pk]),
        {"teams": [care_team.pk, elsewhere.pk]},
    )
    # when the agent opens it twice and a member of no circulated team opens it
    login(client, agent)
    listing = client.get(reverse("learning:stories")).content.decode()
    assert "<strong>New:</strong>" in listing
    client.get(reverse("learning:story", args=[story.pk]))
    client.get(reverse("learning:story", args=[story.pk]))
    outsider = create_staff(username="otto", password=PASSWORD, display_name="Otto", team=None)
    login(client, outsider)
    client.get(reverse("learning:story", args=[story.pk]))
    # then one receipt each, and the read rate counts intended readers only: 1 of 3
    assert StoryRead.objects.filter(story=story).count() == 2
    stats = queries.circulation()
    assert (stats.written, stats.circulated, stats.expected_reads, stats.reads) == (1, 1, 3, 1)
    assert stats.read_rate == 33
    login(client, agent)
    assert "<strong>New:</strong>" not in client.get(reverse("learning:stories")).content.decode()


def test_agent_may_not_circulate_someone_elses_story(client, resolved, agent, lead, care_team):
    story = actions.write_story(None, case=resolved, by=lead, **STORY)
    login(client, agent)
    response = client.post(
        reverse("learning:story-circulate", args=[story.pk]), {"teams": [care_team.pk]}
    )
    assert response.status_code == 403
    assert not story.circulations.exists()


def test_new_staff_see_onboarding_stories_for_six_weeks(resolved, lead, db):
    story = actions.write_story(None, case=resolved, by=lead, for_onboarding=True, **STORY)
    newcomer = create_staff(username="nina", password=PASSWORD, display_name="Nina New")
    assert [r["story"] for r in queries.stories_for(newcomer)] == [story]
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(weeks=7)):
        assert queries.stories_for(newcomer) == []


def test_weekly_report_sent_once_a_week_to_managers(client, agent, manager):
    # given a rising theme this week
    start = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)  # a Monday
    with time_machine.travel(start, tick=False):
        for i in range(6):
            open_complaint(APP[i], i)
        for i in range(6):
            open_complaint(f"Charged twice on my invoice, refund please {i}", 50 + i)
        actions.recluster_themes(k=2)
    # when the tick runs twice in the week and once the next
    with time_machine.travel(start + dt.timedelta(days=1), tick=False):
        first = actions.send_weekly_report()
        second = actions.send_weekly_report()
    # then one email to the manager
    assert (first.recipients, second) == (1, None)
    [email] = OutgoingEmail.objects.filter(subject__startswith="What our customers told us")
    assert email.to_address == "mona@example.com"
    assert "RISING THEMES" in email.text_body
    assert WeeklyReport.objects.count() == 1
    login(client, agent)
    with time_machine.travel(start + dt.timedelta(days=1), tick=False):
        page = client.get(reverse("learning:weekly")).content.decode()
    assert "this week" in page


def test_no_empty_weekly_report(manager):
    assert actions.send_weekly_report() is None
    assert not OutgoingEmail.objects.exists()
