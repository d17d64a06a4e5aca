import datetime as dt

import pytest
import time_machine
from tests.conftest import assert_events
from tests.feedback.conftest import answers, close, invite, question, survey

from cherish.cases import actions as case_actions
from cherish.cases.models import Case, CaseEvent
from cherish.core.pipeline import queue_steps, run_steps_task
from cherish.customers.models import CustomerEvent
from cherish.feedback import actions
from cherish.feedback.errors import FeedbackError, SurveyClosed
from cherish.feedback.models import (
    Answer,
    Compliment,
    CustomerFeedback,
    Invitation,
    Measure,
    SurveyPolicy,
    SurveyResponse,
)
from cherish.outbox.models import OutgoingEmail, WebhookDelivery, WebhookSubscription

T0 = dt.datetime(2025, 6, 2, 10, 0, tzinfo=dt.UTC)


# --- every question type -------------------------------------------------------------------

VALID = [
    ("satisfaction", "after-case", Measure.CSAT, "4", (4, "")),
    ("likelihood 0", "relationship", Measure.NPS, 0, (0, "")),
    ("likelihood 10", "relationship", Measure.NPS, "10", (10, "")),
    ("agreement", "relationship", Measure.PRIDE, 5, (5, "")),
    ("choice by text", "after-case", Measure.RESOLVED, "Partly", (1, "Partly")),
    ("choice by index", "after-case", Measure.RESOLVED, 2, (2, "No")),
    ("number", "expectations", Measure.EXPECT_COMPLAINT, " 3 ", (3, "")),
    ("text", "after-case", Measure.COMMENT, "  Quick and kind.\x00 ", (None, "Quick and kind.")),
]


@pytest.mark.parametrize(("label", "key", "measure", "raw", "stored"), VALID)
def test_each_question_type_stores_its_value(customer, label, key, measure, raw, stored):
    # given
    invitation = invite(key, customer)
    # when
    actions.record_answers(invitation, answers(key, **{measure: raw}))
    # then
    answer = Answer.objects.get(question=question(key, measure))
    assert (answer.value_int, answer.value_text) == stored


INVALID = [
    ("satisfaction 0", "after-case", Measure.CSAT, 0),
    ("satisfaction 6", "after-case", Measure.CSAT, "6"),
    ("likelihood 11", "relationship", Measure.NPS, 11),
    ("likelihood not a number", "relationship", Measure.NPS, "ten"),
    ("agreement 0", "relationship", Measure.PRIDE, 0),
    ("choice unknown", "after-case", Measure.RESOLVED, "Maybe"),
    ("choice index out of range", "after-case", Measure.RESOLVED, 3),
    ("number negative", "expectations", Measure.EXPECT_COMPLAINT, -1),
    ("number too large", "expectations", Measure.EXPECT_COMPLAINT, 366),
]


@pytest.mark.parametrize(("label", "key", "measure", "raw"), INVALID)
def test_each_question_type_refuses_invalid_values(customer, label, key, measure, raw):
    # given
    invitation = invite(key, customer)
    events_before = CustomerEvent.objects.count()
    # when
    with pytest.raises(FeedbackError) as refused:
        actions.record_answers(invitation, answers(key, **{measure: raw}))
    # then: refused with the field named, nothing written
    assert refused.value.code == "invalid_answer"
    assert refused.value.field == f"q{question(key, measure).pk}"
    assert not SurveyResponse.objects.exists()
    assert not Answer.objects.exists()
    assert CustomerEvent.objects.count() == events_before


def test_loyalty_level_needs_every_level_below_it():
    m = Measure
    assert actions.loyalty_level({}) == ""
    assert actions.loyalty_level({m.CONFIDENCE: 3, m.FAIRNESS: 5}) == "none"
    assert actions.loyalty_level({m.CONFIDENCE: 4}) == "confidence"
    assert actions.loyalty_level({m.CONFIDENCE: 5, m.FAIRNESS: 4, m.PRIDE: 2}) == "fairness"
    # pride without fairness does not count: the levels are a hierarchy (seed 000)
    assert actions.loyalty_level({m.CONFIDENCE: 5, m.FAIRNESS: 2, m.PRIDE: 5}) == "confidence"
    assert actions.loyalty_level({m.CONFIDENCE: 4, m.FAIRNESS: 4, m.PRIDE: 4, m.PASSION: 5}) == (
        "passion"
    )


def test_raving_fan_needs_both_statements():
    m = Measure
    assert actions.raving_fan({m.RAVING_PERFECT: 5}) is None
    assert actions.raving_fan({m.RAVING_PERFECT: 5, m.RAVING_WORLD: 4}) is True
    assert actions.raving_fan({m.RAVING_PERFECT: 5, m.RAVING_WORLD: 3}) is False


def test_relationship_answers_set_nps_group_loyalty_and_raving_fan(customer):
    # given
    invitation = invite("relationship", customer)
    # when
    recorded = actions.record_answers(
        invitation,
        answers(
            "relationship",
            nps=9,
            raving_perfect=5,
            raving_world=4,
            loyalty_confidence=5,
            loyalty_fairness=4,
            loyalty_pride=4,
            loyalty_passion=3,
        ),
    )
    # then
    response = recorded.response
    assert (response.nps, response.nps_group, response.loyalty_level, response.raving_fan) == (
        9,
        "promoter",
        "pride",
        True,
    )
    state = CustomerFeedback.objects.get(customer=customer)
    assert (state.nps, state.nps_group, state.loyalty_level, state.raving_fan) == (
        9,
        "promoter",
        "pride",
        True,
    )
    assert list(CustomerEvent.objects.filter(customer=customer).values_list("type", flat=True)) == [
        "survey.sent",
        "survey.answered",
    ]


# --- invitations ---------------------------------------------------------------------------


def test_invitation_email_answers_the_first_question_in_one_click(customer):
    # when
    with time_machine.travel(T0, tick=False):
        invitation = invite("relationship", customer)
        urls = [actions.survey_url(invitation, score) for score in range(11)]
        page = actions.survey_url(invitation)
    # then: eleven score links (0–10), the page and the opt-out link
    email = OutgoingEmail.objects.get()
    assert (invitation.status, invitation.sent_to, invitation.email_pk) == (
        "sent",
        "carla@example.com",
        email.pk,
    )
    assert email.to_address == "carla@example.com"
    assert email.text_body.count("/a/") == 11
    for url in urls:
        assert url in email.text_body
        assert url in email.html_body
    assert page in email.text_body
    assert "/opt-out/" in email.text_body
    assert invitation.expires_at == T0 + dt.timedelta(days=30)


def test_closing_a_complaint_invites_its_customer_once(complaint):
    # given
    close(complaint)
    # when: the ticker runs twice
    assert actions.invite_after_closed_cases() == 1
    assert actions.invite_after_closed_cases() == 0
    # then
    [invitation] = Invitation.objects.all()
    assert (invitation.survey.key, invitation.case, invitation.status) == (
        "after-case",
        complaint,
        "sent",
    )
    assert OutgoingEmail.objects.filter(to_address="carla@example.com").count() == 1
    assert CaseEvent.objects.filter(case=complaint, type="survey.sent").count() == 1


def test_a_reopened_case_waits_until_it_closes_again(complaint):
    close(complaint)
    case_actions.change_stage(complaint, stage="received", by=None, reason="more to do")
    assert actions.invite_after_closed_cases() == 0
    assert not Invitation.objects.exists()


def test_survey_kinds_decide_which_cases_are_surveyed(complaint):
    survey("after-case").__class__.objects.filter(key="after-case").update(case_kinds=["inquiry"])
    close(complaint)
    assert actions.invite_after_closed_cases() == 0


@pytest.mark.parametrize(
    ("label", "setup", "reason"),
    [
        ("cap", "cap", "cap"),
        ("another complaint open", "open_complaint", "open_complaint"),
        ("opted out of surveys", "survey_opt_out", "opted_out"),
        ("opted out of all proactive contact", "no_contact", "opted_out"),
        ("no email address", "no_email", "no_email"),
    ],
)
def test_invitation_skipped_with_its_reason(customer, agent, label, setup, reason):
    # given
    if setup == "cap":
        with time_machine.travel(T0):
            invite("expectations", customer)
    elif setup == "open_complaint":
        case_actions.open_case(customer, text="Still broken.")
    elif setup == "survey_opt_out":
        actions.opt_out_of_surveys(customer)
    elif setup == "no_contact":
        customer.__class__.objects.filter(pk=customer.pk).update(opted_out=True)
        customer.refresh_from_db()
    elif setup == "no_email":
        customer.contact_points.filter(kind="email").delete()
    emails_before = OutgoingEmail.objects.count()
    # when
    with time_machine.travel(T0 + dt.timedelta(days=29)):
        invitation = invite("relationship", customer)
    # then
    assert (invitation.status, invitation.skip_reason) == ("skipped", reason)
    assert OutgoingEmail.objects.count() == emails_before


def test_cap_allows_the_next_survey_after_the_period(customer):
    with time_machine.travel(T0):
        invite("expectations", customer)
    with time_machine.travel(T0 + dt.timedelta(days=30, minutes=1)):
        invitation = invite("relationship", customer)
    assert invitation.status == "sent"


def test_cap_is_the_policys(customer):
    SurveyPolicy.objects.filter(pk=1).update(max_invitations=2, per_days=7)
    with time_machine.travel(T0):
        first = invite("expectations", customer)
        second = invite("relationship", customer)
        third = invite("after-case", customer)
    assert (first.status, second.status, third.skip_reason) == ("sent", "sent", "cap")


def test_the_case_being_surveyed_does_not_count_as_an_open_complaint(complaint, customer):
    policy = SurveyPolicy.objects.get()
    assert actions.reason_not_to_ask(customer, at=T0, policy=policy) == "open_complaint"
    assert actions.reason_not_to_ask(customer, at=T0, policy=policy, case=complaint) == ""


def test_periodic_surveys_go_to_due_customers_within_the_daily_limit(customer, db):
    from cherish.customers.actions import find_or_create_customer

    find_or_create_customer(name="Olu Other", email="olu@example.com")
    survey("relationship").__class__.objects.filter(key="expectations").update(is_active=False)
    survey("relationship").__class__.objects.filter(key="relationship").update(daily_limit=1)
    with time_machine.travel(T0):
        assert actions.invite_periodic() == 1
        assert actions.invite_periodic() == 0  # the day's limit is used
    with time_machine.travel(T0 + dt.timedelta(days=1)):
        assert actions.invite_periodic() == 1
    with time_machine.travel(T0 + dt.timedelta(days=2)):
        assert actions.invite_periodic() == 0  # both asked within every_days
    assert sorted(Invitation.objects.values_list("customer__name", flat=True)) == [
        "Carla Customer",
        "Olu Other",
    ]


# --- editing ---------------------------------------------------------------------------------


def test_answers_can_be_changed_within_seven_days(customer):
    invitation = invite("after-case", customer)
    with time_machine.travel(T0):
        actions.record_answers(invitation, answers("after-case", csat=3))
    with time_machine.travel(T0 + dt.timedelta(days=6, hours=23)):
        recorded = actions.record_answers(invitation, answers("after-case", csat=4))
    response = recorded.response
    assert (response.csat, response.changes) == (4, 1)
    assert response.editable_until == T0 + dt.timedelta(days=7)
    assert SurveyResponse.objects.count() == 1


def test_answers_cannot_be_changed_after_seven_days(customer):
    invitation = invite("after-case", customer)
    with time_machine.travel(T0):
        actions.record_answers(invitation, answers("after-case", csat=3))
    later = T0 + dt.timedelta(days=7, seconds=1)
    with time_machine.travel(later), pytest.raises(SurveyClosed) as refused:
        actions.record_answers(invitation, answers("after-case", csat=5))
    assert refused.value.code == "answers_locked"
    assert SurveyResponse.objects.get().csat == 3
    assert Answer.objects.get().value_int == 3


def test_an_unanswered_invitation_expires(customer):
    with time_machine.travel(T0):
        invitation = invite("after-case", customer)
    later = T0 + dt.timedelta(days=30, seconds=1)
    with time_machine.travel(later), pytest.raises(SurveyClosed) as refused:
        actions.record_answers(invitation, answers("after-case", csat=5))
    assert refused.value.code == "survey_expired"
    assert not SurveyResponse.objects.exists()


def test_replaying_the_same_answers_changes_nothing(customer):
    invitation = invite("after-case", customer)
    actions.record_answers(invitation, answers("after-case", csat=4))
    events = CustomerEvent.objects.count()
    again = actions.record_answers(invitation, answers("after-case", csat=4))
    assert (again.changed, again.response.changes) == (False, 0)
    assert CustomerEvent.objects.count() == events


def test_replacing_the_whole_form_clears_a_question_left_empty(customer):
    invitation = invite("after-case", customer)
    actions.record_answers(invitation, answers("after-case", csat=4, fair=5))
    actions.record_answers(invitation, answers("after-case", csat=4), replace=True)
    assert SurveyResponse.objects.get().fair is None


def test_opted_out_customer_is_not_asked_again(customer):
    actions.opt_out_of_surveys(customer)
    actions.opt_out_of_surveys(customer)
    assert CustomerEvent.objects.filter(type="survey.opted_out").count() == 1
    assert invite("relationship", customer).skip_reason == "opted_out"
    assert OutgoingEmail.objects.count() == 0


# --- closing the loop ----------------------------------------------------------------------


def test_detractor_opens_exactly_one_case_even_if_the_answer_changes_twice(customer, agent):
    # given: a relationship survey (no case)
    invitation = invite("relationship", customer)
    # when: a detractor answers, then changes the answer twice
    first = actions.record_answers(invitation, answers("relationship", nps=3))
    actions.record_answers(invitation, answers("relationship", nps=2, raving_perfect=1))
    actions.record_answers(invitation, answers("relationship", nps=0))
    # then: one case, owned, with the customer's answers, opened through intake
    [case] = Case.objects.all()
    assert case.customer == customer
    assert case.owner == agent
    assert case.kind == "complaint"
    assert "answered: would recommend us 3 of 10 (detractor)" in case.messages.get().body_text
    response = SurveyResponse.objects.get()
    assert (response.nps, response.changes, response.loop_case) == (0, 2, case)
    assert first.response.loop_case == case
    assert CaseEvent.objects.filter(case=case, type="survey.loop_opened").count() == 1
    # and it is triaged like any complaint: run the intake's follow-on steps
    job = queue_steps(["cherish.triage.tasks.triage_message_task"], [case.messages.get().pk, True])
    run_steps_task.call(str(job.pk))
    case.refresh_from_db()
    assert case.triage is not None
    assert "triage.completed" in set(case.events.values_list("type", flat=True))


def test_low_satisfaction_reopens_the_surveyed_case(complaint, agent):
    # given: a closed complaint and its survey
    close(complaint)
    actions.invite_after_closed_cases()
    invitation = Invitation.objects.get()
    # when
    actions.record_answers(invitation, answers("after-case", csat=1, comment="Still broken."))
    # then: the same case is open again with the answers as the customer's message
    complaint.refresh_from_db()
    assert complaint.is_open
    assert complaint.owner == agent
    assert Case.objects.count() == 1
    last = complaint.messages.order_by("-id").first()
    assert last.direction == "in"
    assert "satisfaction 1 of 5" in last.body_text
    assert "Still broken." in last.body_text
    assert SurveyResponse.objects.get().loop_case == complaint
    assert_events(
        complaint,
        [
            "case.opened",
            "message.added",
            "case.owner_assigned",
            "case.stage_changed",
            "case.closed",
            "survey.sent",
            "survey.answered",
            "case.reopened",
            "case.stage_changed",
            "message.added",
            "survey.loop_opened",
        ],
    )


@pytest.mark.parametrize(
    ("key", "measure", "value"), [("after-case", "csat", 3), ("relationship", "nps", 7)]
)
def test_a_passable_score_opens_nothing(customer, key, measure, value):
    actions.record_answers(invite(key, customer), answers(key, **{measure: value}))
    assert not Case.objects.exists()


def test_a_one_click_low_score_waits_before_opening_the_case(
    customer, agent, django_capture_on_commit_callbacks
):
    from cherish.feedback.tasks import close_loop_task

    invitation = invite("relationship", customer)
    with django_capture_on_commit_callbacks(execute=True):
        actions.record_click(invitation, 2)
    # nothing yet: the task runs after the settle time
    assert not Case.objects.exists()
    response = SurveyResponse.objects.get()
    assert close_loop_task.call(response.pk) != "nothing to do"
    assert close_loop_task.call(response.pk) == "nothing to do"
    assert Case.objects.count() == 1


def test_the_ticker_closes_a_loop_whose_task_was_lost(customer, agent):
    invitation = invite("relationship", customer)
    with time_machine.travel(T0):
        actions.record_click(invitation, 1)
    with time_machine.travel(T0 + dt.timedelta(seconds=20)):
        assert actions.close_open_loops() == 0  # still settling
    with time_machine.travel(T0 + dt.timedelta(minutes=1)):
        assert actions.close_open_loops() == 1
        assert actions.close_open_loops() == 0
    assert Case.objects.count() == 1


def test_a_burst_of_different_clicks_is_a_link_scanner(customer):
    invitation = invite("relationship", customer)
    with time_machine.travel(T0):
        actions.record_click(invitation, 0)
    with time_machine.travel(T0 + dt.timedelta(seconds=1)):
        assert actions.record_click(invitation, 1) is None
    with time_machine.travel(T0 + dt.timedelta(seconds=2)):
        assert actions.record_click(invitation, 2) is None
    # the scanner left no answer and no response
    assert not SurveyResponse.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == "sent"
    # a person clicking later is heard
    with time_machine.travel(T0 + dt.timedelta(minutes=5)):
        recorded = actions.record_click(invitation, 9)
    assert recorded.response.nps == 9


# --- compliments, webhooks -------------------------------------------------------------------


def test_a_compliment_names_staff_and_is_credited_once(complaint, agent, other_agent):
    close(complaint)
    actions.invite_after_closed_cases()
    invitation = Invitation.objects.get()
    text = "Alice was wonderful and kept every promise."
    actions.record_answers(invitation, answers("after-case", csat=5, comment=text))
    actions.record_answers(invitation, answers("after-case", csat=5, comment=text + " Thanks!"))
    [compliment] = Compliment.objects.all()
    assert (compliment.staff, compliment.text) == (agent, text)
    credited = CaseEvent.objects.get(case=complaint, type="compliment.credited")
    assert credited.data["staff_id"] == agent.pk
    assert credited.data["source"] == "survey"


def test_a_name_in_a_complaint_is_not_a_compliment(customer, agent):
    invitation = invite("after-case", customer)
    actions.record_answers(invitation, answers("after-case", csat=1, comment="Alice was rude."))
    assert not Compliment.objects.exists()


def test_survey_answered_webhook(customer):
    WebhookSubscription.objects.create(
        name="CRM", url="https://crm.example.com/hook", secret="s", event_types=["survey.answered"]
    )
    invitation = invite("relationship", customer)
    actions.record_answers(invitation, answers("relationship", nps=10, comment="Love it"))
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "survey.answered"
    assert delivery.payload["nps"] == 10
    assert delivery.payload["nps_group"] == "promoter"
    assert delivery.payload["survey"] == "relationship"
    assert delivery.payload["comment"] == "Love it"
    assert delivery.payload["customer_id"] == customer.pk


def test_answers_about_a_case_appear_on_its_timeline(complaint):
    close(complaint)
    actions.invite_after_closed_cases()
    actions.record_answers(Invitation.objects.get(), answers("after-case", csat=5))
    assert_events(
        complaint,
        [
            "case.opened",
            "message.added",
            "case.owner_assigned",
            "case.stage_changed",
            "case.closed",
            "survey.sent",
            "survey.answered",
        ],
    )
