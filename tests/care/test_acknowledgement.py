"""The acknowledgement: care's respond step for a new case, through the intake's pipeline."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
import time_machine
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from tests.conftest import assert_events

from cherish.care.acknowledgement import DEFAULT_TEMPLATES, QUOTE_CHARS, send_acknowledgement
from cherish.care.models import BusinessHours, Holiday, WorkingDay
from cherish.care.tasks import respond_to_contact_task
from cherish.cases.models import Case, CaseEvent
from cherish.core.pipeline import queue_steps, run_steps_task
from cherish.core.text import ABBREVIATIONS
from cherish.intake.actions import Contact, accept_contact
from cherish.outbox.models import DeliveryStatus, MessageTemplate, OutgoingEmail
from cherish.staff.models import Team

FRIDAY = dt.datetime(2024, 9, 6, 15, 0, tzinfo=dt.UTC)
OTHER_TEMPLATE_PHRASES = {
    "complaint": ["thank you so much for taking the time", "you asked:", "your suggestion"],
    "inquiry": ["i am sorry", "kind words", "your suggestion"],
}


def contact(text: str, *, kind: str = "", email: str = "carla@example.com", channel: str = "web"):
    return accept_contact(
        Contact(channel=channel, text=text, name="Carla Customer", email=email, kind=kind)
    )


def follow_on(result: Any) -> None:
    """The intake's whole follow-on pipeline, as the worker runs it (triage, then respond)."""
    job = queue_steps(settings.CHERISH_INTAKE_FOLLOW_ON, [result.message.pk, True])
    assert run_steps_task.call(str(job.pk)) == "done"


def ack_text(case: Case) -> str:
    return OutgoingEmail.objects.get(case_pk=case.pk, case_message_pk__isnull=False).text_body


def london_hours(team: Team, *, holidays: tuple[dt.date, ...] = ()) -> None:
    hours = BusinessHours.objects.create(team=team, time_zone="Europe/London")
    for weekday in range(5):
        WorkingDay.objects.create(hours=hours, weekday=weekday, start=dt.time(9), end=dt.time(17))
    for day in holidays:
        Holiday.objects.create(team=team, date=day, name="Bank holiday")


@time_machine.travel(FRIDAY, tick=False)
def test_complaint_acknowledgement_is_personal_and_says_what_happens_by_when(agent):
    # given
    result = contact("The fridge you delivered leaks water all over my kitchen floor.")
    # when
    assert respond_to_contact_task.call(result.message.pk, True) == "acknowledged"
    # then
    case = Case.objects.get()
    text = ack_text(case)
    assert text.startswith("Dear Carla Customer,\n\nI am Alice Agent, and I will personally")
    assert "“The fridge you delivered leaks water all over my kitchen floor.”" in text
    # nine to five UTC, 4 business hours for a normal complaint: Friday 15:00 → Monday 11:00
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


@pytest.mark.parametrize(
    ("sent_at", "severity", "promised"),
    [
        # 16:00 in London, 1 h left on Friday, Monday is a bank holiday: 3 h on Tuesday.
        (dt.datetime(2024, 8, 23, 15, 0, tzinfo=dt.UTC), "normal", "Tuesday 27 August"),
        # The same complaint rated high has a 2 h target: 1 h Friday, 1 h Tuesday.
        (dt.datetime(2024, 8, 23, 15, 0, tzinfo=dt.UTC), "high", "Tuesday 27 August"),
        # Critical (1 h) fits in what is left of Friday.
        (dt.datetime(2024, 8, 23, 15, 0, tzinfo=dt.UTC), "critical", "Friday 23 August"),
        # Monday morning, 08:30 UTC = 09:30 in London (summer time), 4 h: still Monday.
        (dt.datetime(2024, 8, 19, 8, 30, tzinfo=dt.UTC), "normal", "Monday 19 August"),
        # 23:30 UTC on Monday is already Tuesday 00:30 in London: due Tuesday 13:00.
        (dt.datetime(2024, 8, 19, 23, 30, tzinfo=dt.UTC), "normal", "Tuesday 20 August"),
    ],
    ids=["holiday-monday", "high-severity", "critical-same-day", "same-day", "time-zone"],
)
def test_promised_day_follows_the_teams_hours_holidays_and_target(
    agent, care_team, sent_at, severity, promised
):
    # given a team working nine to five in London, with the late August bank holiday
    london_hours(care_team, holidays=(dt.date(2024, 8, 26),))
    with time_machine.travel(sent_at, tick=False):
        result = contact("The lid was smashed and the box was soaked through.")
        Case.objects.filter(pk=result.case.pk).update(severity=severity)
        # when
        respond_to_contact_task.call(result.message.pk, True)
    # then
    assert f"by {promised} at the latest." in ack_text(result.case)


def test_a_long_message_is_quoted_in_whole_sentences(agent):
    # given a message whose third sentence would cross the quote's length
    first = "The courier left my parcel in the rain for the whole afternoon."
    second = "Everything inside, including the birthday present for my daughter, was ruined."
    third = "I rang your line four times, waited forty minutes each time and nobody ever answered."
    result = contact(f"{first} {second}\n\n{third}")
    # when
    respond_to_contact_task.call(result.message.pk, True)
    # then the quote stops at the end of the second sentence, and says it goes on
    assert f"“{first} {second} …”" in ack_text(result.case)


def test_one_compliment_writes_one_event_and_is_passed_on(agent, other_agent):
    # given a compliment naming Bob, through the whole follow-on pipeline (triage first)
    result = contact("Bob was wonderful on the phone yesterday, thank you so much!")
    # when
    follow_on(result)
    # then the customer hears that Bob will hear it, and Bob does
    case = Case.objects.get()
    assert case.kind == "compliment"
    assert "I will pass your words on to Bob Other personally." in ack_text(case)
    to_bob = OutgoingEmail.objects.get(to_address="bob@example.com")
    assert "Bob was wonderful" in to_bob.text_body
    compliment_events = CaseEvent.objects.filter(case=case, type__startswith="compliment.")
    assert [(e.type, e.data["staff_name"]) for e in compliment_events] == [
        ("compliment.credited", "Bob Other")
    ]
    # and running the pipeline again changes nothing
    follow_on(result)
    assert CaseEvent.objects.filter(case=case, type__startswith="compliment.").count() == 1
    assert OutgoingEmail.objects.filter(to_address="bob@example.com").count() == 1


def test_suggestion_gets_thanks(agent):
    result = contact("Please add a vegan option.", kind="suggestion")
    respond_to_contact_task.call(result.message.pk, True)
    assert ack_text(result.case).startswith("Dear Carla Customer,\n\nThank you for your suggestion")


@time_machine.travel(FRIDAY, tick=False)
def test_inquiry_gets_a_shorter_different_text(agent):
    result = contact("Do you deliver on Sundays?", kind="inquiry")
    respond_to_contact_task.call(result.message.pk, True)
    text = ack_text(result.case)
    assert text.startswith("Hello Carla Customer,\n\nYou asked: “Do you deliver on Sundays?”")
    # 8 business hours for a normal inquiry: 2 h on Friday, 6 h on Monday
    assert "I will answer you by Monday 9 September." in text
    assert "sorry" not in text.lower()


def test_acknowledgement_is_sent_once_per_case(agent):
    result = contact("Broken again.")
    assert respond_to_contact_task.call(result.message.pk, True) == "acknowledged"
    assert respond_to_contact_task.call(result.message.pk, True) == "not due"
    assert respond_to_contact_task.call(result.message.pk, False) == "nothing to do"
    assert OutgoingEmail.objects.count() == 1
    assert Case.objects.get().messages.filter(direction="out").count() == 1


def test_template_edited_by_a_manager_is_used(agent):
    MessageTemplate.objects.filter(key="ack.complaint").update(
        subject="We hear you", body="Hi {customer_name}, {owner_name} has {reference}."
    )
    result = contact("Terrible.")
    respond_to_contact_task.call(result.message.pk, True)
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
    result = accept_contact(
        Contact(channel=channel, text="Broken", name="Carla", email=email, phone="+442079460018")
    )
    assert send_acknowledgement(result.message.pk) is None
    assert OutgoingEmail.objects.count() == 0
    assert not result.case.messages.filter(direction="out").exists()


def test_at_most_three_acknowledgements_a_day_per_customer(agent):
    for n in range(4):
        result = contact(f"Problem number {n}")
        respond_to_contact_task.call(result.message.pk, True)
    assert OutgoingEmail.objects.count() == 3


def test_seeded_templates_match_the_built_in_texts(db):
    seeded = {t.key: (t.subject, t.body) for t in MessageTemplate.objects.all()}
    assert seeded == {key: (subject, body) for key, _, subject, body in DEFAULT_TEMPLATES}


def _flat(text: str) -> str:
    """Line breaks and runs of spaces read as one space in a quote."""
    return re.sub(r"[ \t]+", " ", text.replace("\n", " ")).strip()


def _sentence_ends(text: str) -> list[int]:
    return [
        m.end()
        for m in re.finditer(r"[.!?…]+[\"”’')\]]*(?=\s)", text)
        if not (
            m.group().startswith(".")
            and text[: m.start()].rsplit(" ", 1)[-1].lower() in ABBREVIATIONS
        )
    ]


words = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=10, max_size=80)


@hsettings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sentences=st.lists(
        st.tuples(words, st.sampled_from([".", "!", "?", "", ","])), min_size=2, max_size=10
    ),
    kind=st.sampled_from(["complaint", "inquiry"]),
)
def test_every_acknowledgement_quotes_the_customer_and_promises_a_working_day(
    agent, sentences, kind
):
    # given any message, of a kind the customer chose
    text = " ".join(words + end for words, end in sentences)
    if not _flat(text):
        return
    result = contact(text, kind=kind, email=f"c{uuid.uuid4().hex[:12]}@example.com")
    # when
    assert send_acknowledgement(result.message.pk) is not None
    # then the text is this kind's, never another kind's
    body = ack_text(result.case)
    lowered = body.lower()
    for phrase in OTHER_TEMPLATE_PHRASES[kind]:
        assert phrase not in lowered
    # the quote is the customer's words: all of them, or whole sentences, or a cut marked "…"
    opening = "told us:\n\n    “" if kind == "complaint" else "You asked: “"
    quoted = body.split(opening, 1)[1].rsplit("”", 1)[0]
    words_given = _flat(result.message.body_text)
    assert len(quoted) <= QUOTE_CHARS + 2
    if quoted == words_given:
        pass
    elif quoted.endswith(" …"):
        kept = quoted.removesuffix(" …")
        assert words_given.startswith(kept) and kept[-1] in ".!?…\"”’')]"
        assert words_given[len(kept)].isspace()
    else:
        # cut inside the first sentence: only when no sentence ends early enough
        assert quoted.endswith("…")
        assert words_given.startswith(quoted.removesuffix("…"))
        assert not _sentence_ends(words_given[: QUOTE_CHARS + 1])
    # and the promised day is a working day (nine to five, Monday to Friday) within the target
    today = result.case.created_at.date()
    promised = re.search(r" by (\w+ \d+ \w+)", body)
    assert promised is not None
    within = [today + dt.timedelta(days=n) for n in range(5)]
    day = next(d for d in within if f"{d:%A} {d.day} {d:%B}" == promised.group(1))
    assert day.weekday() < 5


@pytest.mark.parametrize("kind", sorted(OTHER_TEMPLATE_PHRASES))
def test_the_phrases_the_property_test_refuses_are_in_other_kinds_texts(kind):
    # The property test above can only fail if each phrase it refuses is really written in
    # another kind's acknowledgement (a phrase no template contains would always pass).
    others = {
        key.removeprefix("ack."): (body + _next_steps(key)).lower()
        for key, _, _, body in DEFAULT_TEMPLATES
        if key != f"ack.{kind}"
    }
    for phrase in OTHER_TEMPLATE_PHRASES[kind]:
        assert any(phrase in text for text in others.values()), phrase
    assert not any(phrase in (_own_text(kind)) for phrase in OTHER_TEMPLATE_PHRASES[kind]), (
        "a refused phrase is in the kind's own text"
    )


def _next_steps(key: str) -> str:
    from cherish.care.acknowledgement import _next_step

    kind = key.removeprefix("ack.")
    day = dt.date(2024, 9, 9)
    return " ".join(_next_step(kind, due, []) for due in (day, None))


def _own_text(kind: str) -> str:
    (body,) = [b for key, _, _, b in DEFAULT_TEMPLATES if key == f"ack.{kind}"]
    return (body + _next_steps(f"ack.{kind}")).lower()


def test_the_respond_step_sends_the_acknowledgement_itself(agent, mail_sink, tasks):
    # given
    result = contact("The fridge you delivered leaks water all over my kitchen floor.")
    tasks.clear()
    # when: the step runs as a worker runs it
    assert tasks.call(respond_to_contact_task, result.message.pk, True) == "acknowledged"
    # then: the email left with it; no delivery task waits behind the backlog
    (email,) = OutgoingEmail.objects.filter(case_pk=result.case.pk)
    assert (email.status, email.attempts, email.last_error) == (DeliveryStatus.SENT, 1, "")
    assert [m["Message-ID"] for m in mail_sink.messages()] == [email.message_id]
    assert tasks.names() == []


def test_an_acknowledgement_the_mail_server_refuses_now_is_retried_by_a_task(
    agent, mail_sink, tasks
):
    # given the mail server down
    mail_sink.stop()
    result = contact("The fridge you delivered leaks water all over my kitchen floor.")
    tasks.clear()
    # when
    assert tasks.call(respond_to_contact_task, result.message.pk, True) == "acknowledged"
    # then: the failure is recorded and a delivery task will try again
    (email,) = OutgoingEmail.objects.filter(case_pk=result.case.pk)
    assert (email.status, email.attempts) == (DeliveryStatus.PENDING, 1)
    assert "ConnectionRefusedError" in email.last_error
    assert tasks.names() == ["deliver_email_task"]
    # and once the server is back, that task sends it once
    mail_sink.start()
    assert tasks.run() == ["sent"]
    assert [m["Message-ID"] for m in mail_sink.messages()] == [email.message_id]
