from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from tests.care.conftest import care_events, snapshot
from tests.conftest import login

from cherish.care import actions
from cherish.care.models import Commitment, Gesture, GestureType
from cherish.cases import actions as case_actions

UTC = dt.UTC
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, case, *args):
    return reverse(f"care:{name}", args=[case.reference, *args])


def test_agent_walks_a_complaint_through_every_stage_on_the_desk(desk_client, complaint, agent):
    detail = reverse("cases:detail", args=[complaint.reference])
    steps = [
        ("advance-stage", {"stage": "acknowledged"}),
        (
            "assessment",
            {"severity": "high", "complexity": "moderate", "impact": "medium", "note": "Gift"},
        ),
        ("advance-stage", {"stage": "listening"}),
        ("advance-stage", {"stage": "responding"}),
        ("fair-outcome", {"fair_outcome": "A new vase before her mother's birthday."}),
        (
            "commitment",
            {"what": "Call with the delivery date", "due_at": "2099-01-05T11:00", "how": "call"},
        ),
        ("advance-stage", {"stage": "recovering"}),
        ("resolution", {"resolution": "New vase sent by courier, arrives Thursday."}),
        ("advance-stage", {"stage": "plus_one"}),
        ("plus-one", {"plus_one": "Flowers delivered with the vase."}),
        ("advance-stage", {"stage": "following_up"}),
        ("follow-up", {"outcome": "satisfied", "note": "Loved the flowers."}),
        ("advance-stage", {"stage": "closed"}),
    ]
    for name, data in steps:
        response = desk_client.post(url(name, complaint), data)
        assert response.status_code == 302, (name, response.content[:500])
        assert response["Location"] == detail
    # the case page shows it all at a glance
    page = desk_client.get(detail)
    assert page.status_code == 200
    html = page.content.decode()
    for text in [
        'Care: <span class="care-stage" data-stage="closed">Closed</span>',
        "A new vase before her mother&#x27;s birthday.",
        "Call with the delivery date",
        "New vase sent by courier, arrives Thursday.",
        "Flowers delivered with the vase.",
        "Satisfied — Loved the flowers.",
    ]:
        assert text in html
    complaint.refresh_from_db()
    assert (complaint.stage, complaint.severity) == ("closed", "high")
    stage_events = [e for e in care_events(complaint) if e[0] == "case.stage_changed"]
    assert stage_events == [("case.stage_changed", "alice")] * 7


def test_closing_without_resolution_is_refused_with_the_message(desk_client, complaint):
    before = snapshot(complaint)
    # without JavaScript: the care page again, with the message
    response = desk_client.post(url("advance-stage", complaint), {"stage": "closed"})
    assert response.status_code == 400
    message = (
        "Before you close this case, record the resolution (what was done to put it right) and "
        "record the follow-up (a satisfaction check, or why it was not possible)."
    )
    assert message in response.content.decode()
    # with HTMX: the refreshed panel, with the message
    response = desk_client.post(url("advance-stage", complaint), {"stage": "closed"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('role="alert"') == 1 and message in html
    assert 'id="care-panel"' in html and "<html" not in html
    assert snapshot(complaint) == before


def test_htmx_action_returns_the_refreshed_panel(desk_client, complaint):
    response = desk_client.post(
        url("fair-outcome", complaint), {"fair_outcome": "Money back"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Recorded what the customer would consider fair." in html
    assert '<blockquote class="care-fair">Money back</blockquote>' in html


def test_gesture_above_limit_is_refused_then_approved_by_the_lead(
    client, desk_client, complaint, agent, lead, agent_limits
):
    data = {
        "gesture_type": "refund",
        "value": "75",
        "currency": "GBP",
        "description": "Refund of the delivery charge and the vase",
    }
    before = snapshot(complaint)
    # when: the agent tries to grant it directly
    refused = desk_client.post(url("gesture", complaint), data, **HTMX)
    # then
    assert (
        "75.00 GBP is above what you may grant: your limit is 50.00 GBP per gesture. "
        "Ask Lena Lead to approve it." in refused.content.decode()
    )
    assert snapshot(complaint) == before and not Gesture.objects.exists()
    # when: one click asks the lead
    asked = desk_client.post(url("gesture", complaint), {**data, "ask_approval": "1"}, **HTMX)
    assert "Sent to Lena Lead for approval." in asked.content.decode()
    gesture = Gesture.objects.get()
    # and the lead approves from the due page
    login(client, lead)
    due = client.get(reverse("care:due"))
    assert "Alice Agent asks for a <strong>refund</strong> of £75.00" in due.content.decode()
    response = client.post(
        reverse("care:approve-gesture", args=[gesture.pk]), {"next": reverse("care:due")}
    )
    assert response.status_code == 302 and response["Location"] == reverse("care:due")
    gesture.refresh_from_db()
    assert (gesture.status, gesture.decided_by_id) == ("approved", lead.pk)
    assert list(care_events(complaint)) == [
        ("gesture.requested", "alice"),
        ("gesture.approved", "lena"),
    ]


def test_decline_without_reason_is_refused_on_the_panel(client, complaint, agent, lead, refund):
    gesture = actions.grant_gesture(
        complaint, gesture_type=refund, value=Decimal("20"), currency="GBP", by=agent
    )
    login(client, lead)
    response = client.post(reverse("care:decline-gesture", args=[gesture.pk]), {}, **HTMX)
    assert "Give a reason for declining" in response.content.decode()
    assert Gesture.objects.get().status == "pending_approval"


def test_due_page_sections_and_fixed_queries(client, customer, agent, lead, refund):
    def build(n):
        with time_machine.travel(dt.datetime(2024, 3, 5, 9, 0, tzinfo=UTC), tick=False):
            for i in range(n):
                case, _ = case_actions.open_case(customer, text=f"Problem {i}")
                actions.record_commitment(
                    case,
                    what=f"Call back {i}",
                    due_at=dt.datetime(2024, 3, 5, 10, tzinfo=UTC),
                    how="call",
                    by=agent,
                    owner=lead,
                )
                actions.grant_gesture(
                    case, gesture_type=refund, value=Decimal("90"), currency="GBP", by=agent
                )
                actions.add_collaborator(case, staff=lead, by=agent)

    login(client, lead)
    counts = []
    for n in (1, 4):
        build(n)
        noon = dt.datetime(2024, 3, 5, 12, 0, tzinfo=UTC)
        with (
            time_machine.travel(noon, tick=False),
            CaptureQueriesContext(connection) as queries,
        ):
            response = client.get(reverse("care:due"))
        counts.append(len(queries))
    assert counts[0] == counts[1]
    html = response.content.decode()
    assert "Commitments due today or overdue (5)" in html
    assert "Waiting for my approval (5)" in html
    assert html.count("badge-overdue") == 5


def test_panel_runs_a_fixed_number_of_queries(
    desk_client, complaint, agent, other_agent, refund, agent_limits
):
    def add_things():
        actions.record_commitment(
            complaint,
            what="Call",
            due_at=dt.datetime(2099, 1, 1, tzinfo=UTC),
            how="call",
            by=agent,
        )
        actions.grant_gesture(
            complaint, gesture_type=refund, value=Decimal("5"), currency="GBP", by=agent
        )

    counts = []
    for _ in range(2):
        add_things()
        with CaptureQueriesContext(connection) as queries:
            response = desk_client.get(reverse("care:case", args=[complaint.reference]), **HTMX)
        assert response.status_code == 200
        counts.append(len(queries))
    actions.add_collaborator(complaint, staff=other_agent, by=agent)
    with CaptureQueriesContext(connection) as queries:
        desk_client.get(reverse("care:case", args=[complaint.reference]), **HTMX)
    assert counts[0] == counts[1] == len(queries)


def test_tone_check_hints_but_never_blocks(desk_client, complaint):
    response = desk_client.post(
        reverse("care:tone-check"),
        {
            "text": "As I already explained, our policy states no refunds.",
            "case": complaint.reference,
        },
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "“As I already explained” → <em>Let me put that more clearly.</em>" in html
    assert "“our policy states”" in html
    snippet = desk_client.post(
        reverse("care:tone-check"),
        {
            "text": "Dear Carla,\n\nThank you for explaining what happened. I want to put this "
            "right for you: what would you consider a fair outcome?\n\nAlice",
            "case": complaint.reference,
        },
    )
    assert "add something personal" in snippet.content.decode()
    assert desk_client.post(reverse("care:tone-check"), {"text": ""}).content.strip() == b""


def test_wait_and_resume_buttons(desk_client, complaint):
    desk_client.post(url("wait", complaint), {"reason": "Photo asked"})
    complaint.refresh_from_db()
    assert complaint.stage == "waiting"
    page = desk_client.get(reverse("care:case", args=[complaint.reference])).content.decode()
    assert "Waiting on customer — clock paused" in page
    desk_client.post(url("resume", complaint), {})
    complaint.refresh_from_db()
    assert complaint.stage == "received"


def test_commitment_keep_and_break_on_the_panel(desk_client, complaint, agent):
    made = actions.record_commitment(
        complaint, what="Visit", due_at=dt.datetime(2099, 1, 1, tzinfo=UTC), how="visit", by=agent
    )
    response = desk_client.post(url("break-commitment", complaint, made.pk), {"reason": ""}, **HTMX)
    assert "Say why the commitment cannot be kept" in response.content.decode()
    desk_client.post(url("keep-commitment", complaint, made.pk), {})
    assert Commitment.objects.get().status == "kept"
    missing = url("keep-commitment", complaint, 999999)
    assert desk_client.post(missing, {}).status_code == 404


def test_handoff_collaborator_link_merge_escalation_and_note(
    desk_client, complaint, agent, other_agent, lead, customer
):
    other, _ = case_actions.open_case(customer, text="Duplicate about the vase")
    posts = [
        ("collaborator", {"staff": lead.pk}),
        ("note", {"text": "@lena could you check the courier claim?"}),
        ("link", {"other": other.reference.lower()}),
        ("escalation", {"body": "ombudsman", "escalated_on": "2024-01-02", "reference": "OMB-9"}),
        (
            "handoff",
            {
                "to": other_agent.pk,
                "summary": "Vase broken twice; wants refund, not another vase. Courier claim open.",
                "tell_customer": "1",
            },
        ),
    ]
    for name, data in posts:
        response = desk_client.post(url(name, complaint), data)
        assert response.status_code == 302, (name, response.content[:300])
    response = desk_client.post(url("merge", other), {"into": complaint.reference})
    assert response.status_code == 302
    other.refresh_from_db()
    complaint.refresh_from_db()
    assert (other.is_open, complaint.owner_id) == (False, other_agent.pk)
    assert [e[0] for e in care_events(complaint)] == [
        "collaborator.added",
        "message.added",
        "staff.mentioned",
        "case.linked",
        "escalation.recorded",
        "case.owner_changed",
        "message.added",
        "handoff.warm",
        "case.merged",
    ]


def test_desk_views_are_for_staff_only(client, complaint):
    target = url("fair-outcome", complaint)
    response = client.post(target, {"fair_outcome": "x"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    outsider = get_user_model().objects.create_user(username="eve", password="x" * 20)
    client.force_login(outsider)
    assert client.post(target, {"fair_outcome": "x"}).status_code == 403
    assert client.get(reverse("care:due")).status_code == 403
    assert not state_of_exists(complaint)


def state_of_exists(case):
    from cherish.care.models import CareState

    return CareState.objects.filter(case=case).exists()


def test_unknown_case_is_not_found(desk_client):
    assert (
        desk_client.post("/desk/care/cases/CH-AAAAAA/resolution", {"resolution": "x"}).status_code
        == 404
    )
    assert GestureType.objects.filter(key="refund").exists()
