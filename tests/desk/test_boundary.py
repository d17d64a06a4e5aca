"""Issue #9 defect 1: the team boundary, through the real HTTP stack.

Alice works for Customer Care, Bea for Billing. By default neither sees the other team's
cases or customers (404, exactly as for a typo); when the organisation lets everyone read
other teams' work, Bea reads Care's case but every change is refused (403, audited).
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cherish.cases import actions as case_actions
from cherish.cases.models import Case, CaseEvent, Message
from cherish.customers.actions import find_or_create_customer
from cherish.staff.actions import set_org_policy
from cherish.staff.models import AuditEntry
from tests.conftest import login


@pytest.fixture
def billing_case(billing_agent, billing_team):
    customer, _ = find_or_create_customer(name="Dan Debtor", email="dan@example.com")
    case, _ = case_actions.open_case(customer, text="I was billed twice in May.", channel="web")
    case_actions.reassign_case(
        case, to=billing_agent, note="Billing question, yours to answer.", by=None
    )
    case.refresh_from_db()
    assert case.team_id == billing_team.pk
    return case


def _changes(case: Case) -> tuple[int, int, str, int | None, int | None]:
    case.refresh_from_db()
    return (
        Message.objects.filter(case=case).count(),
        CaseEvent.objects.filter(case=case).count(),
        case.stage,
        case.owner_id,
        case.team_id,
    )


WRITES = [
    ("cases:reply", {"text": "We have refunded you."}),
    ("cases:note", {"text": "Looked at it."}),
    ("cases:update", {"kind": "inquiry", "severity": "low"}),
    ("cases:reassign", {"to": "{me}", "note": "I take this over from here, thanks."}),
    ("care:advance-stage", {"stage": "resolved", "reason": "done"}),
    ("care:resolution", {"resolution": "Refunded the delivery charge."}),
    ("triage:add-flag", {"flag": "leaving", "reason": "said so"}),
]


def _post(client, name, case, data, me):
    body = {k: (str(me.pk) if v == "{me}" else v) for k, v in data.items()}
    return client.post(reverse(name, args=[case.reference]), body)


def test_other_teams_cases_and_customers_are_invisible_by_default(
    client, complaint, billing_agent, billing_case
):
    # given: Bea of Billing, the safe default policy
    login(client, billing_agent)
    before = _changes(complaint)
    # when / then: the case, its page parts and its customer are "not found"
    assert client.get(reverse("cases:detail", args=[complaint.reference])).status_code == 404
    assert client.get(reverse("care:case", args=[complaint.reference])).status_code == 404
    customer_page = reverse("outreach:customer", args=[complaint.customer_id])
    assert client.get(customer_page).status_code == 404
    inbox = client.get(reverse("desk:inbox"), {"view": "open"}).content.decode()
    assert billing_case.reference in inbox and complaint.reference not in inbox
    found = client.get(reverse("customers:list"), {"q": "Carla"}).content.decode()
    assert "Carla Customer" not in found
    for name, data in WRITES:
        assert _post(client, name, complaint, data, billing_agent).status_code == 404, name
    assert _changes(complaint) == before


def test_read_only_other_teams_when_the_organisation_allows(
    client, complaint, agent, billing_agent, billing_case
):
    # given
    set_org_policy(other_teams_may_read=True, by=None)
    login(client, billing_agent)
    before = _changes(complaint)
    # when / then: Bea reads Care's case and customer
    page = client.get(reverse("cases:detail", args=[complaint.reference]))
    assert page.status_code == 200 and "My parcel arrived broken" in page.content.decode()
    assert client.get(reverse("outreach:customer", args=[complaint.customer_id])).status_code == 200
    # but every change is refused, audited, and leaves nothing behind
    for name, data in WRITES:
        response = _post(client, name, complaint, data, billing_agent)
        assert response.status_code == 403, name
    assert _changes(complaint) == before
    refused = AuditEntry.objects.filter(outcome="refused", actor=billing_agent)
    assert refused.count() == len(WRITES)
    assert set(refused.values_list("action", flat=True)) == {"desk.read_only"}
    status = reverse("outreach:change-status", args=[complaint.customer_id])
    assert client.post(status, {"status": "left", "reason": "price"}).status_code == 403


def test_a_collaborator_from_another_team_works_the_case(client, complaint, agent, billing_agent):
    # given: Alice brings Bea in
    from cherish.care.actions import add_collaborator

    add_collaborator(complaint, staff=billing_agent, by=agent)
    login(client, billing_agent)
    # when
    response = _post(client, "cases:note", complaint, {"text": "Billing checked it."}, None)
    # then
    assert response.status_code == 302
    assert Message.objects.filter(case=complaint, author=billing_agent).count() == 1


def test_handing_a_case_to_another_team_needs_the_lead(
    client, complaint, agent, lead, billing_agent, billing_team, care_team
):
    data = {"to": str(billing_agent.pk), "note": "Billing should answer this, not us."}
    url = reverse("cases:reassign", args=[complaint.reference])
    # when: Alice (an agent) hands her case to Billing
    login(client, agent)
    refused = client.post(url, data)
    # then
    assert refused.status_code == 403
    assert _changes(complaint)[3:] == (agent.pk, care_team.pk)
    assert AuditEntry.objects.get(outcome="refused").action == "desk.cross_team_handoff"
    # when: her lead does it
    login(client, lead)
    assert client.post(url, data).status_code == 302
    assert _changes(complaint)[3:] == (billing_agent.pk, billing_team.pk)


def test_a_handoff_inside_the_team_keeps_the_team(client, complaint, agent, other_agent, care_team):
    login(client, agent)
    url = reverse("cases:reassign", args=[complaint.reference])
    data = {"to": str(other_agent.pk), "note": "Bob knows this courier well, over to him."}
    assert client.post(url, data).status_code == 302
    assert _changes(complaint)[3:] == (other_agent.pk, care_team.pk)


def test_leads_see_their_teams_and_not_others(client, complaint, lead, billing_lead, billing_case):
    login(client, lead)
    assert client.get(reverse("cases:detail", args=[complaint.reference])).status_code == 200
    assert client.get(reverse("cases:detail", args=[billing_case.reference])).status_code == 404
    login(client, billing_lead)
    assert client.get(reverse("cases:detail", args=[complaint.reference])).status_code == 404


def test_logging_a_contact_stays_inside_the_boundary(client, complaint, billing_agent):
    login(client, billing_agent)
    before = _changes(complaint)
    # another team's customer is not filled in, and another team's case is not added to
    page = client.get(reverse("intake:log-contact"), {"customer": complaint.customer_id})
    logged = client.post(
        reverse("intake:log-contact"),
        {
            "channel": "phone",
            "kind": "complaint",
            "email": "carla@example.com",
            "case": complaint.reference,
            "text": "Called about the vase.",
        },
    )
    assert (page.status_code, logged.status_code) == (404, 404)
    assert _changes(complaint) == before


def test_a_customer_without_cases_is_seen_only_by_those_who_see_every_customer(
    client, agent, manager
):
    lonely, _ = find_or_create_customer(name="Lou Lonely", email="lou@example.com")
    page = reverse("outreach:customer", args=[lonely.pk])
    assert login(client, agent).get(page).status_code == 404
    assert "Lou Lonely" not in client.get(reverse("customers:list")).content.decode()
    assert login(client, manager).get(page).status_code == 200


def _handoff_picker(client, case) -> str:
    page = client.get(reverse("care:case", args=[case.reference])).content.decode()
    found = re.search(r'<select id="care-handoff-to".*?</select>', page, re.S)
    assert found is not None
    return found.group(0)


def test_the_handoff_picker_offers_only_whom_the_case_may_go_to(
    client, complaint, other_agent, lead, billing_agent
):
    # given: Alice's case of the care team; Bob and Lena work for it, Bea for billing
    login(client, complaint.owner)
    picker = _handoff_picker(client, complaint)
    assert ("Bob Other" in picker, "Lena Lead" in picker, "Bea Billing" in picker) == (
        True,
        True,
        False,
    )
    before = _changes(complaint)
    # when: Alice hands it to Bea all the same
    refused = client.post(
        reverse("care:handoff", args=[complaint.reference]),
        {"to": billing_agent.pk, "summary": "Over to billing, with the whole story."},
    )
    # then: refused, nothing changed, the refusal audited
    assert refused.status_code == 403
    assert _changes(complaint) == before
    assert AuditEntry.objects.filter(outcome="refused").values_list("action", flat=True).get() == (
        "desk.cross_team_handoff"
    )
    # and the team's lead, who may move the case to another team, is offered Bea and may
    login(client, lead)
    assert "Bea Billing" in _handoff_picker(client, complaint)
    moved = client.post(
        reverse("care:handoff", args=[complaint.reference]),
        {"to": billing_agent.pk, "summary": "Over to billing, with the whole story."},
    )
    assert moved.status_code == 302
    complaint.refresh_from_db()
    assert (complaint.owner_id, complaint.team_id) == (billing_agent.pk, billing_agent.team_id)


@pytest.mark.parametrize("how", ["extra", "lead", "manager"])
def test_teams_beyond_ones_own_are_in_bounds_through_the_desk(
    client, complaint, care_team, billing_agent, how
):
    # given: Bea of Billing also works for, leads or manages Customer Care (the guard loads
    # her profile with a "more teams" mark and reads those teams only then)
    if how == "extra":
        billing_agent.extra_teams.add(care_team)
    else:
        setattr(care_team, how, billing_agent)
        care_team.save()
    login(client, billing_agent)
    # when / then
    assert client.get(reverse("cases:detail", args=[complaint.reference])).status_code == 200
    inbox = client.get(reverse("desk:inbox"), {"view": "open"}).content.decode()
    assert complaint.reference in inbox


def test_a_changed_policy_applies_at_the_next_request(client, complaint, billing_agent):
    # given: Bea reads Care's case while the organisation allows it
    set_org_policy(other_teams_may_read=True, by=None)
    login(client, billing_agent)
    page = reverse("cases:detail", args=[complaint.reference])
    assert client.get(page).status_code == 200
    # when: an administrator turns it off (in whatever process)
    set_org_policy(other_teams_may_read=False, by=None)
    # then: the policy is read with the staff profile on every request, never kept
    assert client.get(page).status_code == 404


def test_may_see_answers_as_the_boundary_filter_does(
    agent, lead, billing_agent, complaint, billing_case, admin_staff
):
    from cherish.care.actions import add_collaborator
    from cherish.cases.access import may_see, visible_cases
    from cherish.staff.access import forget_scope, staff_for_user

    # given: an unrouted case, a collaboration across teams, and both policies
    customer, _ = find_or_create_customer(name="Una Unrouted", email="una@example.com")
    unrouted, _ = case_actions.open_case(customer, text="Who reads this?", channel="web")
    Case.objects.filter(pk=unrouted.pk).update(team=None, owner=None)
    add_collaborator(billing_case, staff=lead, by=None)
    cases = list(Case.objects.all())
    for policy in (False, True):
        set_org_policy(other_teams_may_read=policy, by=None)
        for person in (agent, lead, billing_agent, admin_staff):
            viewer = staff_for_user(person.user)
            assert viewer is not None
            forget_scope(viewer)
            # then: case by case, the same answer as the filter every list uses
            for case in cases:
                expected = visible_cases(viewer).filter(pk=case.pk).exists()
                assert may_see(viewer, case) == expected, (policy, person, case.reference)
