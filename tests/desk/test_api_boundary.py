"""A staff member's API key reaches what that person reaches at the desk (issue #9).

The whole matrix of operations × keys × objects is tests/desk/test_api_routes.py; these
tests tell single stories through it: the read-only policy, and customer data (look-ups,
transactions, survey answers, a taken email address) outside the boundary.
"""

from __future__ import annotations

from typing import Any

from django.test import Client

from cherish.cases import actions as case_actions
from cherish.core.clock import now
from cherish.customers.actions import (
    TransactionRow,
    change_customer_identity,
    upsert_transactions,
)
from cherish.feedback import actions as feedback_actions
from cherish.feedback.models import Invitation
from cherish.intake.apikeys import create_api_key
from tests.desk.test_api_routes import _fingerprint


def _staff_client(staff: Any) -> Client:
    _, token = create_api_key(f"key of {staff.user.username}", staff=staff)
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_a_staff_members_key_stays_inside_their_team_boundary(complaint, billing_agent, care_team):
    from cherish.staff.actions import set_org_policy
    from cherish.staff.models import AuditEntry

    bea = _staff_client(billing_agent)
    stage = f"/api/v1/cases/{complaint.reference}/stage"
    before = _fingerprint()
    # another team's case and customer: not found, and not listed
    assert bea.get(f"/api/v1/cases/{complaint.reference}").status_code == 404
    assert bea.get(f"/api/v1/customers/{complaint.customer_id}").status_code == 404
    assert bea.post(stage, {"stage": "closed"}, content_type="application/json").status_code == 404
    listed = bea.get("/api/v1/cases").json()["items"]
    assert complaint.reference not in [item["reference"] for item in listed]
    # readable when the organisation allows it, never changed
    set_org_policy(other_teams_may_read=True, by=None)
    assert bea.get(f"/api/v1/cases/{complaint.reference}").status_code == 200
    refused = bea.post(stage, {"stage": "closed"}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "read_only"
    assert _fingerprint() == before
    assert AuditEntry.objects.filter(outcome="refused").values_list("action", flat=True).get() == (
        "api.read_only"
    )


def test_a_staff_key_finds_no_customer_data_outside_the_boundary(complaint, billing_agent):
    # given: Carla (the care team's customer) with an external id, an order and a survey answer
    from cherish.feedback.demo import seed_builtin_surveys

    carla = complaint.customer
    change_customer_identity(carla, external_id="X-1", by=None)
    upsert_transactions(
        [TransactionRow(customer_id=carla.pk, external_id="T-1", kind="order", occurred_at=now())]
    )
    seed_builtin_surveys()
    case_actions.change_stage(complaint, stage="closed", by=None, reason="sorted")
    feedback_actions.invite_after_closed_cases()
    invitation = Invitation.objects.get(case=complaint)
    question = invitation.survey.questions.get(measure="csat")
    feedback_actions.record_answers(invitation, {question.pk: 5})
    bea = _staff_client(billing_agent)
    before = _fingerprint()
    # when / then: Bea of billing finds nothing of Carla's
    answers = {
        "by email": bea.get("/api/v1/customers/by-email/carla@example.com").status_code,
        "by external id": bea.get("/api/v1/customers/by-external-id/X-1").status_code,
        "transactions": bea.get(f"/api/v1/transactions?customer_id={carla.pk}").status_code,
    }
    assert answers == {"by email": 404, "by external id": 404, "transactions": 404}
    assert bea.get("/api/v1/survey-responses").json()["items"] == []
    stored = bea.post(
        "/api/v1/transactions",
        {
            "external_id": "T-1",
            "kind": "delivery",
            "occurred_at": "2026-01-01T00:00:00Z",
            "customer_id": str(carla.pk),
        },
        content_type="application/json",
    ).json()
    assert (stored["stored"], [r["reason"] for r in stored["rejected"]]) == (
        0,
        ["unknown customer"],
    )
    assert _fingerprint() == before
    # and the care team's agent finds all of it
    alice = _staff_client(complaint.owner)
    assert alice.get("/api/v1/customers/by-external-id/X-1").json()["id"] == str(carla.pk)
    assert len(alice.get(f"/api/v1/transactions?customer_id={carla.pk}").json()) == 1
    assert len(alice.get("/api/v1/survey-responses").json()["items"]) == 1


def test_a_taken_email_names_its_holder_only_to_a_key_that_may_see_them(
    complaint, agent, billing_agent
):
    body = {"name": "Someone", "email": "carla@example.com"}
    bea = _staff_client(billing_agent).post("/api/v1/customers", body, "application/json")
    alice = _staff_client(agent).post("/api/v1/customers", body, "application/json")
    assert (bea.status_code, bea.json()["code"], bea.json()["customer_id"]) == (
        409,
        "customer_exists",
        "",
    )
    assert (alice.status_code, alice.json()["customer_id"]) == (409, str(complaint.customer_id))


def test_a_staff_key_links_and_merges_only_cases_it_may_see(complaint, agent, billing_agent):
    # given: Carla also has a case with billing
    billing_case, _ = case_actions.open_case(
        complaint.customer, text="And I was charged twice.", channel="web"
    )
    case_actions.reassign_case(
        billing_case, to=billing_agent, note="A billing matter, yours.", by=None
    )
    alice = _staff_client(agent)
    before = _fingerprint()
    # when
    link = alice.post(
        f"/api/v1/cases/{complaint.reference}/links",
        {"other": billing_case.reference},
        "application/json",
    )
    merge = alice.post(
        f"/api/v1/cases/{complaint.reference}/merge",
        {"into": billing_case.reference},
        "application/json",
    )
    # then: the billing case is "not found" to her, as on the desk
    assert (link.status_code, merge.status_code) == (404, 404)
    assert _fingerprint() == before


def test_a_staff_key_lists_only_the_linked_cases_it_may_see(
    complaint, agent, billing_agent, billing_team
):
    from cherish.care.actions import link_cases
    from cherish.cases.models import Case
    from cherish.staff.actions import set_org_policy

    # given: the care team's complaint linked to a case of the billing team
    billing_case, _ = case_actions.open_case(
        complaint.customer, text="I was charged twice for the same order.", channel="web"
    )
    Case.objects.filter(pk=billing_case.pk).update(team=billing_team, owner=billing_agent)
    billing_case.refresh_from_db()
    link_cases(complaint, other=billing_case, by=None)
    alice = _staff_client(agent)
    links = f"/api/v1/cases/{complaint.reference}/links"
    # then: Alice's key does not learn the other team's reference
    assert alice.get(links).json() == []
    # unless the organisation lets her read other teams' cases
    set_org_policy(other_teams_may_read=True, by=None)
    assert [row["reference"] for row in alice.get(links).json()] == [billing_case.reference]


def test_the_linked_cases_a_viewer_may_see_are_checked_by_id_not_by_scanning_cases(
    complaint, agent, billing_agent, billing_team
):
    """The care page and the API's link list asked ``other IN (every case in bounds)``:
    a scan of all cases, 1.6 s of CPU at 1M (issue #14). Now only the linked ids are checked."""
    from django.db import connection

    from cherish.care.actions import link_cases
    from cherish.care.queries import links_seen_by
    from cherish.cases.models import Case

    mine, _ = case_actions.open_case(complaint.customer, text="And the refund is late.")
    billing_case, _ = case_actions.open_case(complaint.customer, text="Charged twice.")
    Case.objects.filter(pk=billing_case.pk).update(team=billing_team, owner=billing_agent)
    link_cases(complaint, other=billing_case, by=None)
    link_cases(mine, other=complaint, by=None)
    rows = links_seen_by(complaint, agent)
    assert {(r.case_id, r.other_id) for r in rows} == {(mine.pk, complaint.pk)}
    assert {r.other_id for r in links_seen_by(complaint, billing_agent)} == {billing_case.pk}
    assert links_seen_by(complaint, None).count() == 2
    if connection.vendor == "sqlite":
        sql, params = rows.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = [str(row[-1]) for row in cursor.fetchall()]
        assert not [step for step in plan if step.startswith("SCAN")], plan


def test_reading_a_customer_through_the_api_is_in_the_audit_log(complaint, agent):
    from cherish.staff.models import AuditEntry

    carla = complaint.customer
    alice = _staff_client(agent)
    _, token = create_api_key("webshop", scopes=["customers:read"])
    webshop = Client(headers={"Authorization": f"Bearer {token}"})
    public_id = alice.get("/api/v1/customers/by-email/carla@example.com").json()["id"]
    assert alice.get(f"/api/v1/customers/{public_id}").status_code == 200
    assert webshop.get(f"/api/v1/customers/{public_id}").status_code == 200
    viewed = AuditEntry.objects.filter(action="customer.viewed").order_by("pk")
    assert [(e.actor_id, e.target_id, e.via) for e in viewed] == [
        (agent.pk, str(carla.pk), "api"),
        (agent.pk, str(carla.pk), "api"),
        (None, str(carla.pk), "api"),
    ]
    # ids only: nothing of hers is written into the log
    assert "carla@example.com" not in str(list(viewed.values()))
