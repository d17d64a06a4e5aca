"""The team boundary on learning's case lists: counts are organisation-wide, the cases named
are only those the viewer may see (applied to the joined case row, see queries.seen_by)."""

from __future__ import annotations

from django.urls import reverse

from cherish.cases import actions as case_actions
from cherish.core.clock import now
from cherish.learning import actions
from cherish.learning.models import CaseTheme, Competitor, RootCause, Theme
from tests.conftest import login
from tests.learning.conftest import open_complaint


def test_each_viewer_sees_only_their_teams_cases_behind_the_figures(
    client, agent, lead, billing_agent
):
    # given two complaints in one theme, policy, action and finding kind: one stays with
    # the care team, the other is handed to Billing by the care team's lead
    Competitor.objects.create(name="ParcelPal")
    ours = open_complaint("ParcelPal is cheaper, the invoice was wrong.", 1)
    theirs = open_complaint("ParcelPal is cheaper, the invoice was wrong again.", 2)
    case_actions.reassign_case(theirs, to=billing_agent, note="Billing question.", by=lead)
    theme = Theme.objects.create(name="Wrong invoices", created_at=now(), updated_at=now())
    policy = actions.save_policy(None, title="Invoices", phrases="", by=lead)
    action = actions.save_improvement_action(None, title="Check", theme=theme, by=lead)
    cause = RootCause.objects.get(category="communication")
    for case in (ours, theirs):
        CaseTheme.objects.create(
            case=case, theme=theme, similarity=0.5, case_created_at=case.created_at,
            assigned_at=now(),
        )  # fmt: skip
        actions.link_policy(case, policy=policy, by=lead, source="tagged")
        actions.link_action_case(action, case=case, by=lead)
        actions.record_finding(
            case, root_cause=cause, leak_step="finance", communication="invoice", by=lead
        )
        actions.find_competitor_mentions(case)
    pages = [
        reverse("learning:theme", args=[theme.pk]),
        reverse("learning:policy", args=[policy.pk]),
        reverse("learning:action", args=[action.pk]),
        reverse("learning:reveal"),
    ]
    # when each team's agent opens the pages
    seen = {}
    for viewer in (agent, billing_agent):
        login(client, viewer)
        bodies = [client.get(url).content.decode() for url in pages]
        seen[viewer.display_name] = [
            (ours.reference in body, theirs.reference in body) for body in bodies
        ]
    # then each sees their own team's case on every page, never the other's
    assert seen == {
        agent.display_name: [(True, False)] * 4,
        billing_agent.display_name: [(False, True)] * 4,
    }
    # and the counts stay organisation-wide
    assert "Invoice or bill (2)" in bodies[3] and "ParcelPal (2)" in bodies[3]
