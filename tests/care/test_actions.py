from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from tests.care.conftest import care_events, event_types, snapshot, state_of, told

from cherish.care import actions, queries
from cherish.care.errors import CareError
from cherish.care.models import (
    CaseLink,
    CaseMerge,
    Collaborator,
    Commitment,
    Gesture,
    GestureType,
)
from cherish.cases import actions as case_actions
from cherish.cases.errors import CaseError
from cherish.cases.models import Case, Message
from cherish.customers.actions import find_or_create_customer

UTC = dt.UTC
MONDAY_9 = dt.datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def close_ready(case, by):
    actions.record_resolution(case, text="Replaced the parcel and refunded postage.", by=by)
    actions.record_follow_up(case, outcome="satisfied", note="Happy with the new one.", by=by)


# --- stages ------------------------------------------------------------------------------


def test_complaint_walks_every_stage_with_events_in_order(complaint, agent):
    # when
    for stage in ["acknowledged", "listening", "responding"]:
        actions.advance_stage(complaint, stage, by=agent)
    actions.record_fair_outcome(complaint, text="A replacement before Friday.", by=agent)
    actions.advance_stage(complaint, "recovering", by=agent)
    actions.record_resolution(complaint, text="Replacement sent by courier.", by=agent)
    actions.advance_stage(complaint, "plus_one", by=agent)
    actions.record_plus_one(complaint, text="Free delivery on the next order.", by=agent)
    actions.advance_stage(complaint, "following_up", by=agent)
    actions.record_follow_up(complaint, outcome="satisfied", by=agent)
    actions.advance_stage(complaint, "closed", by=agent)
    # then
    complaint.refresh_from_db()
    assert (complaint.stage, complaint.is_open) == ("closed", False)
    assert care_events(complaint) == [
        ("case.stage_changed", "alice"),
        ("case.stage_changed", "alice"),
        ("case.stage_changed", "alice"),
        ("fair_outcome.recorded", "alice"),
        ("case.stage_changed", "alice"),
        ("resolution.recorded", "alice"),
        ("case.stage_changed", "alice"),
        ("plus_one.recorded", "alice"),
        ("case.stage_changed", "alice"),
        ("follow_up.recorded", "alice"),
        ("case.stage_changed", "alice"),
        ("case.closed", "alice"),
    ]
    closed = complaint.events.get(type="case.closed")
    assert closed.data["resolution"] == "Replacement sent by courier."


@pytest.mark.parametrize(
    ("record", "code", "message"),
    [
        (
            [],
            "close_without_resolution",
            "Before you close this case, record the resolution (what was done to put it right) "
            "and record the follow-up (a satisfaction check, or why it was not possible).",
        ),
        (
            ["resolution"],
            "close_without_follow_up",
            "Before you close this case, record the follow-up (a satisfaction check, or why it "
            "was not possible).",
        ),
    ],
    ids=["no resolution", "no follow-up"],
)
def test_close_refused_without_resolution_or_follow_up(complaint, agent, record, code, message):
    # given
    if "resolution" in record:
        actions.record_resolution(complaint, text="Refunded in full.", by=agent)
    before = snapshot(complaint)
    # when
    with pytest.raises(CareError) as refused:
        actions.advance_stage(complaint, "closed", by=agent)
    # then
    assert (refused.value.code, refused.value.message) == (code, message)
    assert snapshot(complaint) == before


def test_following_up_needs_a_resolution_first(complaint, agent):
    with pytest.raises(CareError) as refused:
        actions.advance_stage(complaint, "following_up", by=agent)
    assert refused.value.code == "stage_without_resolution"


def test_inquiry_has_a_shorter_flow(agent, customer):
    # given
    inquiry, _ = case_actions.open_case(customer, text="Do you deliver to Jersey?", kind="inquiry")
    before = snapshot(inquiry)
    # when / then: no recovering stage for an inquiry
    with pytest.raises(CareError) as refused:
        actions.advance_stage(inquiry, "recovering", by=agent)
    assert refused.value.code == "stage_not_in_flow"
    assert "Received, Acknowledged, Answering, Closed" in refused.value.message
    # and closing needs a personal answer
    with pytest.raises(CareError) as refused:
        actions.advance_stage(inquiry, "closed", by=agent)
    assert refused.value.code == "close_without_personal_reply"
    assert snapshot(inquiry) == before
    case_actions.reply_to_customer(inquiry, text="Yes, within three days.", by=agent)
    actions.advance_stage(inquiry, "closed", by=agent)
    assert Case.objects.get(pk=inquiry.pk).is_open is False


def test_required_steps_are_configurable(complaint, agent):
    # given: the organisation requires the fair outcome before recovering
    from cherish.care.models import WorkflowStage

    WorkflowStage.objects.filter(kind="complaint", stage="recovering").update(
        required=["fair_outcome"]
    )
    with pytest.raises(CareError) as refused:
        actions.advance_stage(complaint, "recovering", by=agent)
    assert refused.value.code == "stage_without_fair_outcome"
    assert refused.value.message == (
        "Before you move to “Recovering”, record what the customer would consider fair."
    )


def test_reopening_keeps_everything(complaint, agent):
    # given: a closed complaint
    close_ready(complaint, agent)
    actions.advance_stage(complaint, "closed", by=agent)
    # when
    actions.advance_stage(complaint, "listening", by=agent, reason="Not fixed after all")
    # then
    complaint.refresh_from_db()
    assert (complaint.stage, complaint.is_open) == ("listening", True)
    assert state_of(complaint).resolution == "Replaced the parcel and refunded postage."
    assert event_types(complaint)[-2:] == ["case.stage_changed", "case.reopened"]


def test_follow_up_not_done_needs_a_reason(complaint, agent):
    before = snapshot(complaint)
    with pytest.raises(CareError) as refused:
        actions.record_follow_up(complaint, outcome="not_done", by=agent)
    assert refused.value.code == "follow_up_reason_required"
    assert snapshot(complaint) == before
    actions.record_follow_up(
        complaint, outcome="not_done", note="Customer asked not to be contacted.", by=agent
    )
    assert state_of(complaint).has_follow_up


def test_assessment_sets_severity_and_marks_urgent(complaint, agent):
    actions.assess_case(
        complaint,
        severity="high",
        complexity="complex",
        impact="high",
        needs_immediate_action=True,
        note="Medical equipment",
        by=agent,
    )
    complaint.refresh_from_db()
    assert (complaint.severity, complaint.priority, complaint.at_risk) == ("high", 20, True)
    assert "urgent" in complaint.badges
    assert care_events(complaint) == [
        ("case.severity_changed", "alice"),
        ("assessment.recorded", "alice"),
    ]
    assert queries.target_for(complaint) == (120, 960)


# --- waiting on the customer -------------------------------------------------------------


def test_waiting_pauses_the_resolution_clock(agent, customer):
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        case, _ = case_actions.open_case(customer, text="The lid is cracked.")
        clock.shift(dt.timedelta(hours=1))
        actions.wait_on_customer(case, by=agent, reason="Asked for a photo")
        with pytest.raises(CareError) as refused:
            actions.wait_on_customer(case, by=agent)
        assert refused.value.code == "already_waiting"
        clock.shift(dt.timedelta(hours=3))  # 13:00
        actions.resume_case(case, by=agent)
        clock.shift(dt.timedelta(hours=1))  # 14:00
        summary = queries.clock_summary(case)
    case.refresh_from_db()
    assert case.stage == "received"
    state = state_of(case)
    assert (state.waited_seconds, state.waited_business_seconds) == (3 * 3600, 3 * 3600)
    assert summary.resolution.elapsed_minutes == 120
    assert summary.first_response.elapsed_minutes == 300
    assert (summary.waiting_on_customer_seconds, summary.waiting_on_us_seconds) == (10800, 7200)
    assert care_events(case) == [
        ("waiting.started", "alice"),
        ("case.stage_changed", "alice"),
        ("waiting.ended", "alice"),
        ("case.stage_changed", "alice"),
    ]


def test_resume_refused_when_not_waiting(complaint, agent):
    before = snapshot(complaint)
    with pytest.raises(CareError) as refused:
        actions.resume_case(complaint, by=agent)
    assert refused.value.code == "not_waiting"
    assert snapshot(complaint) == before


# --- commitments -------------------------------------------------------------------------


def test_commitment_kept_on_time_and_late(complaint, agent):
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        first = actions.record_commitment(
            complaint,
            what="Call you back with the courier's answer",
            due_at=MONDAY_9 + dt.timedelta(hours=3),
            how="call",
            by=agent,
        )
        second = actions.record_commitment(
            complaint,
            what="Email the refund note",
            due_at=MONDAY_9 + dt.timedelta(hours=1),
            how="email",
            by=agent,
        )
        clock.shift(dt.timedelta(hours=2))
        actions.keep_commitment(first, by=agent)
        actions.keep_commitment(second, by=agent, note="Sorry for the delay")
    first.refresh_from_db()
    assert (first.status, first.owner_id, first.kept_on_time) == ("kept", agent.pk, True)
    kept = [e.data["on_time"] for e in complaint.events.filter(type="commitment.kept")]
    assert kept == [True, False]
    assert queries.commitments_kept_on_time_rate() == {"due": 2, "kept_on_time": 1, "rate": 0.5}


@pytest.mark.parametrize(
    ("what", "due", "how", "code"),
    [
        ("", dt.timedelta(hours=2), "call", "commitment_what_required"),
        ("Call back", -dt.timedelta(minutes=1), "call", "commitment_in_past"),
        ("Call back", dt.timedelta(hours=2), "pigeon", "unknown_commitment_how"),
    ],
    ids=["no what", "past", "unknown how"],
)
def test_commitment_refusals(complaint, agent, what, due, how, code):
    with time_machine.travel(MONDAY_9, tick=False):
        before = snapshot(complaint)
        with pytest.raises(CareError) as refused:
            actions.record_commitment(
                complaint, what=what, due_at=MONDAY_9 + due, how=how, by=agent
            )
    assert refused.value.code == code
    assert snapshot(complaint) == before
    assert not Commitment.objects.exists()


def test_break_commitment_needs_a_reason_and_only_once(complaint, agent):
    with time_machine.travel(MONDAY_9, tick=False):
        made = actions.record_commitment(
            complaint,
            what="Visit on Tuesday",
            due_at=MONDAY_9 + dt.timedelta(days=1),
            how="visit",
            by=agent,
        )
        with pytest.raises(CareError) as refused:
            actions.break_commitment(made, by=agent, reason=" ")
        assert refused.value.code == "break_reason_required"
        actions.break_commitment(made, by=agent, reason="Engineer is ill; rebooked Wednesday")
        with pytest.raises(CareError) as refused:
            actions.keep_commitment(made, by=agent)
    assert refused.value.code == "commitment_not_open"
    assert Commitment.objects.get().status == "broken"
    assert event_types(complaint).count("commitment.broken") == 1


# --- gestures ----------------------------------------------------------------------------


def test_gesture_within_limit_is_granted(complaint, agent, refund, agent_limits):
    gesture = actions.grant_gesture(
        complaint, gesture_type=refund, value=Decimal("30"), currency="gbp", by=agent
    )
    assert (gesture.status, gesture.currency, gesture.approver) == ("granted", "GBP", None)
    assert care_events(complaint) == [("gesture.granted", "alice")]


def test_gesture_above_limit_is_refused_without_approval(
    complaint, agent, lead, refund, agent_limits
):
    before = snapshot(complaint)
    with pytest.raises(CareError) as refused:
        actions.grant_gesture(
            complaint,
            gesture_type=refund,
            value=Decimal("60"),
            currency="GBP",
            by=agent,
            ask_approval=False,
        )
    assert refused.value.code == "gesture_above_limit"
    assert refused.value.status == 403
    assert refused.value.message == (
        "60.00 GBP is above what you may grant: your limit is 50.00 GBP per gesture. "
        "Ask Lena Lead to approve it."
    )
    assert snapshot(complaint) == before
    assert not Gesture.objects.exists() and told(lead) == []


def test_gesture_above_limit_waits_for_the_lead_who_approves(
    complaint, agent, lead, refund, agent_limits
):
    # when
    gesture = actions.grant_gesture(
        complaint,
        gesture_type=refund,
        value=Decimal("60"),
        currency="GBP",
        by=agent,
        description="Refund of the broken vase",
        plus_one=True,
        reason="Third time this month",
    )
    # then: pending, and the lead is told
    assert (gesture.status, gesture.approver_id) == ("pending_approval", lead.pk)
    assert told(lead) == [("lena", "approval_waiting", False)]
    assert [g.pk for g in queries.awaiting_my_approval(lead)] == [gesture.pk]
    # when the lead approves
    actions.decide_gesture(gesture, approve=True, by=lead)
    # then
    gesture.refresh_from_db()
    assert (gesture.status, gesture.decided_by_id) == ("approved", lead.pk)
    assert state_of(complaint).plus_one == "Refund of the broken vase"
    assert care_events(complaint) == [
        ("gesture.requested", "alice"),
        ("gesture.approved", "lena"),
        ("plus_one.recorded", "lena"),
    ]
    # the agent hears of the decision; the lead's request is settled by deciding it
    assert told(agent, lead) == [
        ("lena", "approval_waiting", True),
        ("alice", "gesture_decided", False),
    ]
    totals = queries.gesture_totals(case=complaint)
    assert [(t.currency, t.count, t.total) for t in totals] == [("GBP", 1, Decimal("60.00"))]


def test_monthly_limit_counts_what_was_already_given(complaint, agent, lead, refund, agent_limits):
    with time_machine.travel(MONDAY_9, tick=False):
        actions.grant_gesture(
            complaint, gesture_type=refund, value=Decimal("50"), currency="GBP", by=agent
        )
        with pytest.raises(CareError) as refused:
            actions.grant_gesture(
                complaint,
                gesture_type=refund,
                value=Decimal("40"),
                currency="GBP",
                by=agent,
                ask_approval=False,
            )
    assert refused.value.code == "gesture_above_limit"
    assert "90.00 GBP this month; your monthly limit is 80.00 GBP" in refused.value.message
    # a new month starts afresh
    with time_machine.travel(MONDAY_9 + dt.timedelta(days=30), tick=False):
        again = actions.grant_gesture(
            complaint, gesture_type=refund, value=Decimal("40"), currency="GBP", by=agent
        )
    assert again.status == "granted"


def test_personal_note_needs_no_authority(complaint, agent):
    note_type = GestureType.objects.get(key="personal_note")
    gesture = actions.grant_gesture(
        complaint,
        gesture_type=note_type,
        value=Decimal("12"),
        currency="GBP",
        by=agent,
        description="Handwritten card from the shop manager",
    )
    assert (gesture.status, gesture.value) == ("granted", Decimal("0"))


@pytest.mark.parametrize(
    ("decider", "approve", "reason", "code"),
    [
        ("other_agent", True, "", "not_an_approver"),
        ("lead", False, "", "decline_reason_required"),
    ],
    ids=["agent cannot approve", "decline without reason"],
)
def test_decision_refusals(
    request,
    complaint,
    agent,
    lead,
    other_agent,
    refund,
    agent_limits,
    decider,
    approve,
    reason,
    code,
):
    gesture = actions.grant_gesture(
        complaint, gesture_type=refund, value=Decimal("70"), currency="GBP", by=agent
    )
    before = snapshot(complaint)
    with pytest.raises(CareError) as refused:
        actions.decide_gesture(
            gesture, approve=approve, by=request.getfixturevalue(decider), reason=reason
        )
    assert refused.value.code == code
    assert snapshot(complaint) == before
    assert Gesture.objects.get().status == "pending_approval"


def test_lead_cannot_approve_own_gesture_and_it_goes_to_a_manager(
    complaint, lead, admin_staff, refund
):
    gesture = actions.grant_gesture(
        complaint, gesture_type=refund, value=Decimal("70"), currency="GBP", by=lead
    )
    assert gesture.approver_id == admin_staff.pk
    with pytest.raises(CareError) as refused:
        actions.decide_gesture(gesture, approve=True, by=lead)
    assert refused.value.code == "own_gesture"
    actions.decide_gesture(gesture, approve=False, by=admin_staff, reason="Use a voucher instead")
    assert Gesture.objects.get().status == "declined"


# --- handoffs and collaboration ----------------------------------------------------------


def test_warm_handoff_tells_the_customer_who_helps_now(complaint, agent, other_agent):
    actions.warm_handoff(
        complaint,
        to=other_agent,
        summary="Parcel broken twice; she wants a refund, not a third parcel. Photos attached.",
        tell_customer=True,
        why="Bob handles our courier claims",
        by=agent,
    )
    complaint.refresh_from_db()
    assert complaint.owner_id == other_agent.pk
    message = Message.objects.get(case=complaint, direction="out")
    assert message.body_text == (
        "Hello Carla,\n\nBob Other is now looking after your case "
        f"{complaint.reference} — Bob handles our courier claims.\n"
        "Bob has everything you have told us so far, so you will not need to explain it again."
    )
    assert message.is_automatic is True
    assert care_events(complaint) == [
        ("case.owner_changed", "alice"),
        ("message.added", "alice"),
        ("handoff.warm", "alice"),
    ]
    assert queries.clock_summary(complaint).owners_count == 2
    assert queries.clock_summary(complaint).repeat_count == 0


def test_short_handoff_note_counts_as_a_repeat_and_empty_is_refused(complaint, agent, other_agent):
    before = snapshot(complaint)
    with pytest.raises(CaseError) as refused:
        actions.warm_handoff(complaint, to=other_agent, summary="", by=agent)
    assert refused.value.code == "handoff_note_required"
    assert snapshot(complaint) == before
    actions.warm_handoff(complaint, to=other_agent, summary="Please take this.", by=agent)
    assert queries.clock_summary(complaint).repeat_count == 1


def test_collaborators_and_mentions_notify_staff(complaint, agent, other_agent, lead):
    actions.add_collaborator(complaint, staff=other_agent, by=agent)
    for staff, code in [(other_agent, "already_collaborator"), (agent, "collaborator_is_owner")]:
        with pytest.raises(CareError) as refused:
            actions.add_collaborator(complaint, staff=staff, by=agent)
        assert refused.value.code == code
    actions.add_note_with_mentions(
        complaint, text="@lena can we waive the fee? cc @BOB and @alice and @nobody", by=agent
    )
    assert Collaborator.objects.filter(case=complaint).count() == 1
    assert sorted(told(other_agent, lead)) == [
        ("bob", "asked_to_help", False),
        ("bob", "mentioned", False),
        ("lena", "mentioned", False),
    ]
    mentioned = complaint.events.get(type="staff.mentioned")
    assert mentioned.data["staff_names"] == ["Lena Lead", "Bob Other"]


# --- merge, link, escalation -------------------------------------------------------------


def test_merge_keeps_both_timelines_and_closes_the_duplicate(complaint, agent, customer):
    duplicate, _ = case_actions.open_case(customer, text="Me again about the broken parcel!")
    messages_before = Message.objects.filter(case=duplicate).count()
    actions.merge_cases(duplicate, into=complaint, by=agent)
    duplicate.refresh_from_db()
    assert (duplicate.stage, duplicate.is_open) == ("closed", False)
    assert Message.objects.filter(case=duplicate).count() == messages_before
    assert CaseMerge.objects.get().into_id == complaint.pk
    assert CaseLink.objects.get().type == "duplicate"
    assert care_events(duplicate) == [
        ("case.merged_into", "alice"),
        ("case.stage_changed", "alice"),
        ("case.closed", "alice"),
    ]
    assert care_events(complaint) == [("case.merged", "alice")]
    with pytest.raises(CareError) as refused:
        actions.merge_cases(duplicate, into=complaint, by=agent)
    assert refused.value.code == "already_merged"


def test_merge_refused_across_customers_but_link_works(complaint, agent):
    stranger, _ = find_or_create_customer(name="Sam Stranger", email="sam@example.com")
    other, _ = case_actions.open_case(stranger, text="Same courier broke mine too.")
    before = snapshot(other)
    with pytest.raises(CareError) as refused:
        actions.merge_cases(other, into=complaint, by=agent)
    assert refused.value.code == "merge_other_customer"
    assert snapshot(other) == before
    actions.link_cases(complaint, other=other, by=agent)
    with pytest.raises(CareError) as refused:
        actions.link_cases(other, other=complaint, by=agent)
    assert refused.value.code == "already_linked"
    assert care_events(other) == [("case.linked", "alice")]


def test_escalation_is_recorded_with_outcome(complaint, agent):
    with time_machine.travel(MONDAY_9, tick=False):
        with pytest.raises(CareError) as refused:
            actions.record_escalation(
                complaint, body="ombudsman", escalated_on=dt.date(2024, 3, 5), by=agent
            )
        assert refused.value.code == "escalation_in_future"
        row = actions.record_escalation(
            complaint,
            body="ombudsman",
            body_name="Financial Ombudsman Service",
            escalated_on=dt.date(2024, 3, 1),
            reference="FOS-123",
            outcome="Upheld; pay 100 GBP",
            decided_on=dt.date(2024, 3, 4),
            by=agent,
        )
    assert (row.body, row.reference, row.outcome) == ("ombudsman", "FOS-123", "Upheld; pay 100 GBP")
    assert care_events(complaint) == [
        ("escalation.recorded", "alice"),
        ("escalation.outcome_recorded", "alice"),
    ]
