from __future__ import annotations

import datetime as dt

from django.test import Client
from tests.care.conftest import assert_problem, care_events, post_json, snapshot
from tests.conftest import staff_api

from cherish.care.models import Commitment, Gesture
from cherish.cases import actions as case_actions

BASE = "/api/v1/cases/{}/"


def api_url(case, path):
    return BASE.format(case.reference) + path


def test_complaint_walks_every_stage_through_the_api(care_api, complaint, agent):
    def post(path, **body):
        response = post_json(care_api, api_url(complaint, path), body)
        assert response.status_code in (200, 201), response.content
        return response.json()

    post("stage", stage="acknowledged")
    body = post(
        "assessment",
        severity="critical",
        complexity="simple",
        impact="high",
        needs_immediate_action=True,
    )
    assert body["clocks"]["first_personal_response"]["target_business_minutes"] == 60
    post("stage", stage="listening")
    post("stage", stage="responding")
    post("fair-outcome", text="My money back and an apology.")
    commitment = post(
        "commitments", what="Call you before noon", due_at="2099-01-01T11:00:00+00:00", how="call"
    )
    assert (commitment["status"], commitment["owner"]) == ("open", "alice")
    post("stage", stage="recovering")
    post("resolution", text="Refunded in full; apology sent by the manager.")
    kept = post(f"commitments/{commitment['id']}/keep", note="Called at 10:40")
    assert (kept["status"], kept["kept_on_time"]) == ("kept", True)
    post("stage", stage="plus_one")
    post("plus-one", text="A voucher for a free cake.")
    post("stage", stage="following_up")
    post("follow-up", outcome="satisfied", note="Delighted")
    final = post("stage", stage="closed")
    # then
    assert (final["stage"], final["is_open"]) == ("closed", False)
    assert final["fair_outcome"] == "My money back and an apology."
    assert final["follow_up"]["outcome"] == "satisfied"
    assert final["assessment"]["severity"] == "critical"
    assert final["checklist"] == ["Tell them it is closed and that replying reopens it."]
    assert [e[0] for e in care_events(complaint)][-3:] == [
        "follow_up.recorded",
        "case.stage_changed",
        "case.closed",
    ]
    assert {actor for _, actor in care_events(complaint)} == {"alice"}
    read = care_api.get(api_url(complaint, "care")).json()
    assert read["clocks"]["resolution"]["status"] == "met"
    listed = care_api.get(api_url(complaint, "commitments")).json()
    assert [c["what"] for c in listed] == ["Call you before noon"]


def test_close_without_resolution_is_a_problem_with_a_stable_code(care_api, complaint, agent):
    before = snapshot(complaint)
    response = post_json(care_api, api_url(complaint, "stage"), {"stage": "closed"})
    body = assert_problem(response, 422, "close_without_resolution")
    assert body["detail"].startswith("Before you close this case, record the resolution")
    assert body["errors"] == [{"field": "resolution", "message": body["detail"]}]
    assert snapshot(complaint) == before


def test_gesture_refusal_and_approval_through_the_api(
    care_api, complaint, agent, lead, agent_limits
):
    gesture = {"gesture_type": "refund", "value": "120.00", "currency": "GBP"}
    refused = post_json(
        care_api, api_url(complaint, "gestures"), {**gesture, "ask_approval": False}
    )
    assert_problem(refused, 403, "gesture_above_limit")
    assert not Gesture.objects.exists()
    asked = post_json(care_api, api_url(complaint, "gestures"), gesture)
    assert asked.status_code == 201
    body = asked.json()
    assert (body["status"], body["approver"], body["value"]) == (
        "pending_approval",
        "lena",
        "120.00",
    )
    approve = api_url(complaint, f"gestures/{body['id']}/approve")
    # Alice's key cannot approve (her own request), whoever she names in the body
    naming_the_lead = post_json(care_api, approve, {"actor": "lena"})
    assert_problem(naming_the_lead, 403, "own_gesture")
    lena_api = staff_api(lead)
    decided = post_json(lena_api, approve, {"reason": "Long-standing customer"})
    assert decided.status_code == 200
    assert (decided.json()["status"], decided.json()["decided_by"]) == ("approved", "lena")
    again = post_json(lena_api, approve, {})
    assert_problem(again, 422, "gesture_not_pending")


def test_handoff_merge_link_and_escalation_through_the_api(
    care_api, complaint, agent, other_agent, customer
):
    duplicate, _ = case_actions.open_case(customer, text="Writing again about my parcel")
    handoff = post_json(
        care_api,
        api_url(complaint, "handoff"),
        {
            "to": "bob",
            "tell_customer": True,
            "summary": "Parcel broken twice, wants a refund not a replacement; photos on file.",
        },
    )
    assert handoff.status_code == 200
    assert handoff.json()["clocks"]["owners_count"] == 2
    bob_api = staff_api(other_agent)
    merged = post_json(bob_api, api_url(duplicate, "merge"), {"into": complaint.reference})
    assert merged.status_code == 200 and merged.json()["is_open"] is False
    links = care_api.get(api_url(complaint, "links")).json()
    assert links == [{"reference": duplicate.reference, "type": "duplicate"}]
    linked = post_json(bob_api, api_url(complaint, "links"), {"other": duplicate.reference})
    assert_problem(linked, 422, "already_linked")
    escalation = post_json(
        bob_api,
        api_url(complaint, "escalations"),
        {
            "body": "regulator",
            "body_name": "Ofcom",
            "escalated_on": dt.date.today().isoformat(),
            "reference": "OF-77",
        },
    )
    assert escalation.status_code == 201
    assert escalation.json()["body_name"] == "Ofcom"
    assert len(care_api.get(api_url(complaint, "escalations")).json()) == 1


def test_api_refusals_for_case_and_key(care_api, complaint, agent):
    missing = post_json(care_api, "/api/v1/cases/CH-AAAAAA/resolution", {"text": "x"})
    assert_problem(missing, 404, "not_found")
    anonymous = post_json(Client(), api_url(complaint, "resolution"), {"text": "x"})
    assert_problem(anonymous, 401, "not_authenticated")
    empty = post_json(care_api, api_url(complaint, "resolution"), {"text": " "})
    assert_problem(empty, 422, "resolution_required")
    past = post_json(
        care_api,
        api_url(complaint, "commitments"),
        {"what": "Call", "due_at": "2001-01-01T10:00:00Z", "how": "call"},
    )
    assert_problem(past, 422, "commitment_in_past")
    assert not Commitment.objects.exists()


def test_a_commitment_is_owned_only_by_someone_who_works_the_case(
    care_api, complaint, agent, other_agent, billing_agent
):
    # given: Alice's complaint in Customer Care; Bob works in Care too, Bea in Billing
    from cherish.care.actions import add_collaborator

    url = api_url(complaint, "commitments")
    body = {"what": "Call you back", "due_at": "2099-01-01T10:00:00Z", "how": "call"}
    before = snapshot(complaint)
    # when: another team's agent is named the owner
    refused = post_json(care_api, url, {**body, "owner": "bea"})
    # then: refused, and nothing was recorded
    problem = assert_problem(refused, 422, "commitment_owner_out_of_bounds")
    assert problem["errors"][0]["field"] == "owner"
    assert not Commitment.objects.exists()
    assert snapshot(complaint) == before
    # when: a colleague of the case's team
    made = post_json(care_api, url, {**body, "owner": "bob"})
    # then
    assert made.status_code == 201, made.content
    assert made.json()["owner"] == "bob"
    # and Bea, once brought in on the case, may own one
    add_collaborator(complaint, staff=billing_agent, by=agent)
    helped = post_json(care_api, url, {**body, "owner": "bea"})
    assert helped.status_code == 201, helped.content
    assert helped.json()["owner"] == "bea"


def test_care_endpoints_are_in_the_openapi_document(care_api):
    schema = care_api.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in [
        "stage",
        "assessment",
        "commitments",
        "commitments/{commitment_id}/keep",
        "gestures",
        "gestures/{gesture_id}/approve",
        "gestures/{gesture_id}/decline",
        "handoff",
        "merge",
        "links",
        "escalations",
        "fair-outcome",
        "resolution",
        "plus-one",
        "follow-up",
    ]:
        assert f"/api/v1/cases/{{reference}}/{path}" in paths, path
