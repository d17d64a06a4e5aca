from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from tests.conftest import assert_events

from cherish.cases.models import Case, CaseEvent
from cherish.intake.actions import Contact, receive_contact
from cherish.intake.email.acknowledgement import DEFAULT_TEMPLATES, send_acknowledgement
from cherish.intake.tasks import send_acknowledgement_task
from cherish.outbox.models import MessageTemplate, OutgoingEmail

FRIDAY = dt.datetime(2024, 9, 6, 15, 0, tzinfo=dt.UTC)


def contact(text: str, *, kind: str = "", email: str = "carla@example.com", channel: str = "web"):
    return receive_contact(
        Contact(channel=channel, text=text, name="Carla Customer", email=email, kind=kind)
    )


def ack_text(case: Case) -> str:
    return OutgoingEmail.objects.get(case_pk=case.pk, case_message_pk__isnull=False).text_body


@time_machine.travel(FRIDAY, tick=False)
def test_complaint_acknowledgement_is_personal_and_says_what_happens_by_when(agent):
    # given
    result = contact("The fridge you delivered leaks water all over my kitchen floor.")
    # when
    assert send_acknowledgement_task.call(result.message.pk, True) == "sent"
    # then
    case = Case.objects.get()
    text = ack_text(case)
    assert text.startswith("Dear Carla Customer,\n\nI am Alice Agent, and I will personally")
    assert "“The fridge you delivered leaks water all over my kitchen floor.”" in text
    assert "I will get back to you personally by Monday 9 September at the latest." in text
    assert "/c/" in text and case.reference in text
    assert text.rstrip().endswith("Alice Agent\nCherish Demo Company")
    email = OutgoingEmail.objects.get(case_pk=case.pk)
    assert email.from_name == "Alice Agent at Cherish Demo Company"
    assert email.subject.endswith(f"[{case.reference}]")
    assert case.stage == "acknowledged"
    assert_events(
        case,
        [
            "case.opened",
            "message.added",
            "case.owner_assigned",
            "message.added",
            "case.stage_changed",
        ],
    )


def test_acknowledgement_is_sent_once_per_case(agent):
    result = contact("Broken again.")
    assert send_acknowledgement_task.call(result.message.pk, True) == "sent"
    assert send_acknowledgement_task.call(result.message.pk, True) == "not due"
    assert send_acknowledgement_task.call(result.message.pk, False) == "not a new case"
    assert OutgoingEmail.objects.count() == 1
    assert Case.objects.get().messages.filter(direction="out").count() == 1


@time_machine.travel(FRIDAY, tick=False)
def test_inquiry_gets_a_shorter_different_text(agent):
    result = contact("Do you deliver on Sundays?", kind="inquiry")
    send_acknowledgement_task.call(result.message.pk, True)
    text = ack_text(result.case)
    assert text.startswith("Hello Carla Customer,\n\nYou asked: “Do you deliver on Sundays?”")
    assert "I will answer you by Tuesday 10 September." in text
    assert "sorry" not in text.lower()


def test_compliment_is_passed_on_to_the_staff_it_names(agent, other_agent):
    result = contact("Bob was wonderful on the phone yesterday!", kind="compliment")
    send_acknowledgement_task.call(result.message.pk, True)
    assert "I will pass your words on to Bob Other personally." in ack_text(result.case)
    to_bob = OutgoingEmail.objects.get(to_address="bob@example.com")
    assert "Bob was wonderful" in to_bob.text_body
    event = CaseEvent.objects.get(type="compliment.passed_on")
    assert event.data["staff_names"] == ["Bob Other"]


def test_suggestion_gets_thanks(agent):
    result = contact("Please add a vegan option.", kind="suggestion")
    send_acknowledgement_task.call(result.message.pk, True)
    assert ack_text(result.case).startswith("Dear Carla Customer,\n\nThank you for your suggestion")


def test_template_edited_by_a_manager_is_used(agent):
    MessageTemplate.objects.filter(key="ack.complaint").update(
        subject="We hear you", body="Hi {customer_name}, {owner_name} has {reference}."
    )
    result = contact("Terrible.")
    send_acknowledgement_task.call(result.message.pk, True)
    email = OutgoingEmail.objects.get()
    assert email.subject == f"We hear you [{result.case.reference}]"
    assert email.text_body.startswith(
        f"Hi Carla Customer, Alice Agent has {result.case.reference}."
    )


@pytest.mark.parametrize(
    ("email", "channel"),
    [("", "web"), ("carla@example.com", "phone")],
    ids=["no-email-address", "logged-phone-call"],
)
def test_no_acknowledgement_without_email_or_for_staff_logged_contacts(agent, email, channel):
    result = receive_contact(
        Contact(channel=channel, text="Broken", name="Carla", email=email, phone="+442079460018")
    )
    assert send_acknowledgement(result.message.pk) is None
    assert OutgoingEmail.objects.count() == 0
    assert not result.case.messages.filter(direction="out").exists()


def test_at_most_three_acknowledgements_a_day_per_customer(agent):
    for n in range(4):
        result = contact(f"Problem number {n}")
        send_acknowledgement_task.call(result.message.pk, True)
    assert OutgoingEmail.objects.count() == 3


def test_seeded_templates_match_the_built_in_texts(db):
    seeded = {t.key: (t.subject, t.body) for t in MessageTemplate.objects.all()}
    assert seeded == {key: (subject, body) for key, _, subject, body in DEFAULT_TEMPLATES}


@hsettings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=300).filter(
        lambda t: t.strip()
    )
)
def test_no_complaint_acknowledgement_ever_thanks_for_an_inquiry(agent, text):
    result = contact(text, email=f"c{uuid.uuid4().hex[:12]}@example.com")
    assert send_acknowledgement(result.message.pk) is not None
    for email in OutgoingEmail.objects.filter(case_pk=result.case.pk):
        assert "thank you for your inquiry" not in email.text_body.lower()
        assert "thank you for your inquiry" not in email.subject.lower()
