"""Issue #9 defect 3: approvals follow routing, through the real HTTP stack.

Alice (Care agent, 50 GBP limit) asks for a 75 GBP refund: it is routed to Lena, Care's lead.
Only Lena, or someone above her in Care's chain (Mia, Care's manager), decides it; Ben,
Billing's lead, and Bob, Alice's fellow agent, are refused; nobody decides their own request.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from cherish.care import actions
from cherish.care.models import Gesture
from cherish.cases.models import CaseEvent
from cherish.staff.actions import set_org_policy
from cherish.staff.models import AuditEntry
from tests.conftest import login


@pytest.fixture
def routed(complaint, agent, lead, refund, agent_limits):
    gesture = actions.grant_gesture(
        complaint,
        gesture_type=refund,
        value=Decimal("75"),
        currency="GBP",
        description="Refund of the vase",
        ask_approval=True,
        by=agent,
    )
    assert (gesture.status, gesture.approver_id) == ("pending_approval", lead.pk)
    return gesture


def _approve(client, gesture):
    return client.post(reverse("care:approve-gesture", args=[gesture.pk]), {"reason": ""})


def _state(gesture):
    gesture.refresh_from_db()
    return gesture.status, gesture.decided_by_id


def test_the_routed_lead_approves_and_the_case_says_who_asked_and_who_approved(
    client, complaint, agent, lead, routed
):
    login(client, lead)
    response = _approve(client, routed)
    assert response.status_code == 302
    assert _state(routed) == ("approved", lead.pk)
    event = CaseEvent.objects.get(case=complaint, type="gesture.approved")
    assert (event.actor_id, event.data["requested_by_id"], event.data["approver_id"]) == (
        lead.pk,
        agent.pk,
        lead.pk,
    )
    page = client.get(reverse("care:case", args=[complaint.reference])).content.decode()
    assert "requested by Alice Agent; sent to Lena Lead for approval; approved by Lena Lead" in page
    logged = AuditEntry.objects.get(action="gesture.approved")
    assert (logged.actor_id, logged.target_id, logged.detail) == (
        lead.pk,
        str(routed.pk),
        {"case": complaint.reference, "requested_by_id": agent.pk},
    )


def test_someone_above_the_routed_approver_in_the_team_may_decide(client, manager, routed):
    login(client, manager)
    assert _approve(client, routed).status_code == 302
    assert _state(routed) == ("approved", manager.pk)


@pytest.mark.parametrize("policy_lets_read", [False, True], ids=["default", "read-all"])
def test_another_teams_lead_is_refused(client, billing_lead, routed, policy_lets_read):
    set_org_policy(other_teams_may_read=policy_lets_read, by=None)
    login(client, billing_lead)
    response = _approve(client, routed)
    # invisible case: "not found"; readable case: refused, and the refusal is audited
    assert response.status_code == (403 if policy_lets_read else 404)
    assert _state(routed) == ("pending_approval", None)
    assert not CaseEvent.objects.filter(type="gesture.approved").exists()
    refusals = list(AuditEntry.objects.filter(outcome="refused").values_list("action", flat=True))
    assert refusals == (["desk.not_an_approver"] if policy_lets_read else [])


def test_a_fellow_agent_is_refused_and_the_lead_does_not_see_others_routing(
    client, other_agent, routed
):
    login(client, other_agent)
    response = _approve(client, routed)
    assert response.status_code == 403
    assert "This request was sent to Lena Lead" in response.content.decode()
    assert _state(routed) == ("pending_approval", None)


def test_nobody_decides_their_own_request(client, complaint, lead, manager, refund):
    # given: the lead asks beyond her own limit, so it goes up to her manager
    gesture = actions.grant_gesture(
        complaint,
        gesture_type=refund,
        value=Decimal("75"),
        currency="GBP",
        ask_approval=True,
        by=lead,
    )
    assert gesture.approver_id == manager.pk
    login(client, lead)
    assert _approve(client, gesture).status_code == 403
    assert _state(gesture) == ("pending_approval", None)
    login(client, manager)
    assert _approve(client, gesture).status_code == 302
    assert _state(gesture) == ("approved", manager.pk)


def test_the_due_page_lists_only_requests_one_may_decide(client, lead, billing_lead, routed):
    login(client, lead)
    assert "Refund of the vase" in client.get(reverse("care:due")).content.decode()
    login(client, billing_lead)
    assert "Refund of the vase" not in client.get(reverse("care:due")).content.decode()
    assert Gesture.objects.get().status == "pending_approval"
