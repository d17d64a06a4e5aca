"""Notifications derived from case events, read marks per case, presence and stale views."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from cherish.care import actions as care_actions
from cherish.cases import actions as case_actions
from cherish.cases.models import Case
from cherish.core.clock import now
from cherish.customers.actions import find_or_create_customer
from cherish.desk import actions
from cherish.desk import queries_live as queries
from cherish.desk.models import DeskState, Notification
from cherish.outbox.models import OutgoingEmail

UTC = dt.UTC


def settle(*people) -> None:
    """Each person has looked, and what happened so far is settled history for them."""
    with time_machine.travel(now() + dt.timedelta(minutes=2)):
        for person in people:
            actions.sync_notifications(person)
            actions.mark_notifications_read(person)
    Notification.objects.all().delete()


def kinds(staff) -> list[tuple[str, str]]:
    return [
        (n.kind, n.case.reference)
        for n in Notification.objects.filter(staff=staff).select_related("case").order_by("id")
    ]


def test_customer_reply_notifies_the_owner_once(complaint, agent, other_agent):
    # given: both have looked before the customer writes again
    actions.sync_notifications(agent)
    actions.sync_notifications(other_agent)
    # when
    case_actions.add_inbound_message(complaint, text="Any news on my parcel?", channel="email")
    made = actions.sync_notifications(agent)
    again = actions.sync_notifications(agent)
    # then
    assert [n.kind for n in made] == ["customer_replied"]
    assert again == []
    # the complaint itself was news too: Alice was told it arrived and is hers
    assert kinds(agent) == [
        ("customer_replied", complaint.reference),
        ("assigned", complaint.reference),
        ("customer_replied", complaint.reference),
    ]
    assert actions.sync_notifications(other_agent) == []
    assert queries.describe(made[0]) == (
        f"Carla Customer wrote on {complaint.reference}: “Any news on my parcel?”"
    )


def test_a_follower_hears_the_customer_and_the_helper_request(complaint, agent, other_agent):
    settle(other_agent)
    care_actions.add_collaborator(complaint, staff=other_agent, by=agent)
    case_actions.add_inbound_message(complaint, text="Hello again.", channel="web")
    actions.sync_notifications(other_agent)
    assert kinds(other_agent) == [
        ("asked_to_help", complaint.reference),
        ("customer_replied", complaint.reference),
    ]


def test_handoff_and_mention_notify_the_person_named_not_the_actor(complaint, agent, other_agent):
    settle(agent, other_agent)
    care_actions.add_note_with_mentions(complaint, text="@bob can you check?", by=agent)
    case_actions.reassign_case(complaint, to=other_agent, note="Yours now, see my note.", by=agent)
    actions.sync_notifications(other_agent)
    assert kinds(other_agent) == [
        ("mentioned", complaint.reference),
        ("handed_over", complaint.reference),
    ]
    assert actions.sync_notifications(agent) == []


def test_approval_waiting_notifies_the_approver(complaint, agent, lead, refund, agent_limits):
    care_actions.grant_gesture(
        complaint,
        gesture_type=refund,
        value=Decimal("60"),
        currency="GBP",
        by=agent,
        description="Refund of the broken vase",
        plus_one=False,
        reason="Third time this month",
    )
    [made] = actions.sync_notifications(lead)
    assert made.kind == "approval_waiting"
    assert queries.describe(made) == (
        f"Alice Agent asks you to approve a gesture of 60 GBP on {complaint.reference}."
    )


def test_a_promise_about_to_slip_notifies_its_owner(complaint, agent):
    tuesday = dt.datetime(2024, 3, 5, 9, tzinfo=UTC)
    with time_machine.travel(tuesday, tick=False) as clock:
        promise = care_actions.record_commitment(
            complaint,
            what="Call with the engineer's date",
            due_at=tuesday + dt.timedelta(hours=3),
            how="call",
            by=agent,
        )
        clock.move_to(tuesday + dt.timedelta(hours=2, minutes=30))
        care_actions.check_commitment(promise.pk)
        actions.sync_notifications(agent)
    assert ("commitment_due", complaint.reference) in kinds(agent)


def test_a_newcomer_starts_from_now(complaint, agent, other_agent):
    # given: history older than the settling time
    with time_machine.travel(now() + dt.timedelta(minutes=5)):
        # when: Bob's first look
        assert actions.sync_notifications(other_agent) == []
        state = DeskState.objects.get(staff=other_agent)
    # then: his watermark is past the history, so old events are never news to him
    assert state.last_event_id > 0


def test_watermark_only_passes_settled_events(complaint, agent):
    actions.sync_notifications(agent)
    state = DeskState.objects.get(staff=agent)
    assert state.last_event_id == 0  # everything is younger than SETTLE: read again next time
    with time_machine.travel(now() + dt.timedelta(minutes=2)):
        actions.sync_notifications(agent)
    state.refresh_from_db()
    assert state.last_event_id == complaint.events.order_by("-id").first().pk


@pytest.mark.parametrize("replies", [1, 12], ids=["one reply", "twelve replies"])
def test_sync_costs_the_same_whatever_happened(
    complaint, agent, replies, django_assert_num_queries
):
    actions.sync_notifications(agent)
    for number in range(replies):
        case_actions.add_inbound_message(complaint, text=f"Reply {number}", channel="web")
    # savepoint, watermark (locked), settled id, relevant events, known, opened, insert,
    # release
    with django_assert_num_queries(8):
        made = actions.sync_notifications(agent)
    assert len(made) == replies


def test_mark_read_touches_only_ones_own(complaint, agent, other_agent):
    settle(agent, other_agent)
    care_actions.add_note_with_mentions(complaint, text="@bob, look.", by=agent)
    case_actions.add_inbound_message(complaint, text="Hello?", channel="web")
    case_actions.add_inbound_message(complaint, text="Anyone?", channel="web")
    actions.sync_notifications(agent)
    actions.sync_notifications(other_agent)
    bobs = Notification.objects.get(staff=other_agent)
    first = Notification.objects.filter(staff=agent).order_by("id").first()
    # when: Alice marks one of hers and (by a forged id) Bob's
    assert actions.mark_notifications_read(agent, ids=[bobs.pk, first.pk]) == 1
    # then
    assert (queries.count_unread(agent), queries.count_unread(other_agent)) == (1, 1)
    assert actions.mark_notifications_read(agent) == 1
    assert (queries.count_unread(agent), queries.count_unread(other_agent)) == (0, 1)


def test_opening_a_case_clears_its_news(complaint, agent, customer):
    second, _ = case_actions.open_case(customer, text="And the lid is missing too.")
    actions.sync_notifications(agent)
    cases = list(Case.objects.filter(pk__in=[complaint.pk, second.pk]).order_by("id"))
    assert queries.cases_with_news(agent, cases) == {complaint.pk, second.pk}
    # when
    actions.mark_case_read(agent, complaint)
    # then
    assert queries.cases_with_news(agent, cases) == {second.pk}
    assert not Notification.objects.filter(staff=agent, case=complaint, read_at=None).exists()
    # and a new message from the customer is news again
    with time_machine.travel(now() + dt.timedelta(seconds=5)):
        case_actions.add_inbound_message(complaint, text="Hello?", channel="web")
    cases = list(Case.objects.filter(pk__in=[complaint.pk, second.pk]).order_by("id"))
    assert queries.cases_with_news(agent, cases) == {complaint.pk, second.pk}


def test_email_copies_go_through_the_outbox_for_those_who_asked(complaint, agent, other_agent):
    actions.set_notification_email(agent, enabled=True)
    case_actions.add_inbound_message(complaint, text="Still broken.", channel="web")
    # when: the periodic tick runs while Alice is not looking
    call_command("desk_tick", verbosity=0)
    call_command("desk_tick", verbosity=0)
    # then: one email per notification, once
    emails = list(OutgoingEmail.objects.filter(to_address="alice@example.com").order_by("id"))
    assert [e.subject for e in emails] == [
        f"[Cherish] Carla Customer wrote on {complaint.reference}: “My parcel arrived broken "
        "and nobody answers the phone.”",
        f"[Cherish] {complaint.reference} was assigned to you.",
        f"[Cherish] Carla Customer wrote on {complaint.reference}: “Still broken.”",
    ]
    assert not OutgoingEmail.objects.filter(to_address="bob@example.com").exists()


def test_presence_shows_others_until_their_heartbeat_stops(complaint, agent, other_agent):
    actions.beat_presence(agent, complaint, replying=False)
    actions.beat_presence(other_agent, complaint, replying=True)
    present = queries.present_on_case(complaint, besides=agent)
    assert [(p.staff.display_name, p.activity) for p in present] == [("Bob Other", "replying")]
    with time_machine.travel(now() + queries.PRESENCE_TIMEOUT + dt.timedelta(seconds=1)):
        assert queries.present_on_case(complaint, besides=agent) == []


def test_a_view_is_stale_when_others_wrote_since(complaint, agent, other_agent):
    seen = queries.last_message_id(complaint)
    case_actions.add_internal_note(complaint, text="My own note.", by=agent)
    assert queries.messages_since(complaint, seen, besides=agent) == []
    reply = case_actions.reply_to_customer(complaint, text="We are on it.", by=other_agent)
    inbound = case_actions.add_inbound_message(complaint, text="Thanks!", channel="web")
    assert queries.messages_since(complaint, seen, besides=agent) == [reply, inbound]


def test_notification_page_costs_the_same_for_any_number(agent, django_assert_num_queries):
    customer, _ = find_or_create_customer(name="Dora", email="dora@example.com")
    for number in range(12):
        case, _ = case_actions.open_case(customer, text=f"Problem {number}")
        case_actions.add_inbound_message(case, text=f"Reply {number}", channel="web")
    actions.sync_notifications(agent)
    with django_assert_num_queries(2):
        page = queries.notification_page(agent)
    # each case: the customer wrote, it was assigned to Alice, the customer wrote again
    assert len(page.rows) == 36 and page.unread == 36


def test_what_happened_before_opening_the_case_arrives_read(complaint, agent):
    # given: Alice opened the case before her badge ever polled
    actions.mark_case_read(agent, complaint)
    actions.set_notification_email(agent, enabled=True)
    # when
    made = actions.sync_notifications(agent)
    # then: she has seen those; nothing to read, nothing mailed
    assert [n.kind for n in made] == ["customer_replied", "assigned"]
    assert queries.count_unread(agent) == 0
    assert not OutgoingEmail.objects.exists()
