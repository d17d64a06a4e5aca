from __future__ import annotations

import pytest
from tests.conftest import assert_events

from cherish.cases import actions
from cherish.cases.errors import CaseError
from cherish.cases.models import Case, CaseEvent
from cherish.staff.models import Staff


def test_open_case_assigns_one_owner_and_writes_events(agent, other_agent, customer):
    # when
    first, _ = actions.open_case(customer, text="The heater is broken.")
    second, _ = actions.open_case(customer, text="And now the boiler too.")
    # then: round-robin gives the second case to the other available agent
    assert {first.owner_id, second.owner_id} == {agent.pk, other_agent.pk}
    assert_events(first, ["case.opened", "message.added", "case.owner_assigned"])
    assert first.reference.startswith("CH-") and len(first.reference) == 9


def test_reassign_refused_without_handoff_note(complaint, other_agent, agent):
    with pytest.raises(CaseError) as error:
        actions.reassign_case(complaint, to=other_agent, note="", by=agent)
    assert error.value.code == "handoff_note_required"
    complaint.refresh_from_db()
    assert complaint.owner_id == agent.pk
    assert not CaseEvent.objects.filter(case=complaint, type="case.owner_changed").exists()


def test_reassign_with_note_shows_note_to_new_owner(complaint, other_agent, agent):
    actions.reassign_case(
        complaint,
        to=other_agent,
        note="Customer wants a call after 5pm; parcel photos attached.",
        by=agent,
    )
    complaint.refresh_from_db()
    assert complaint.owner_id == other_agent.pk
    assert complaint.handoff_unread is True
    event = CaseEvent.objects.get(case=complaint, type="case.owner_changed")
    assert event.data["note"].startswith("Customer wants a call")
    assert event.actor_id == agent.pk


def test_staff_kind_is_not_overridden_by_system(complaint, agent):
    actions.change_kind(complaint, kind="inquiry", by=agent)
    actions.change_kind(complaint, kind="complaint", by=None)
    assert Case.objects.get(pk=complaint.pk).kind == "inquiry"


def test_no_staff_at_all_leaves_case_unassigned(db, customer):
    case, _ = actions.open_case(customer, text="Hello?")
    assert case.owner is None
    assert Staff.objects.count() == 0


def test_open_case_draws_a_new_reference_on_a_clash(complaint, customer, monkeypatch):
    # given: the random draw first repeats an existing reference
    draws = iter([complaint.reference, "CH-NEWREF"])
    monkeypatch.setattr(actions, "new_reference", lambda: next(draws))
    # when
    case, _ = actions.open_case(customer, text="Another problem.")
    # then
    assert case.reference == "CH-NEWREF"
    assert Case.objects.count() == 2


def test_reply_queues_one_email_with_reference_and_case_link(complaint, agent):
    from cherish.outbox.models import OutgoingEmail

    # when
    message = actions.reply_to_customer(complaint, text="I've booked a courier for you.", by=agent)
    # then
    email = OutgoingEmail.objects.get()
    assert email.to_address == "carla@example.com"
    assert f"[{complaint.reference}]" in email.subject
    assert "/c/" in email.text_body and "booked a courier" in email.text_body
    message.refresh_from_db()
    assert message.external_id == email.message_id


def test_note_queues_no_email(complaint, agent):
    from cherish.outbox.models import OutgoingEmail

    actions.add_internal_note(complaint, text="Customer is upset, handle gently.", by=agent)
    assert OutgoingEmail.objects.count() == 0


def test_intake_strips_nul_bytes(agent):
    from cherish.intake.actions import Contact, accept_contact

    result = accept_contact(
        Contact(
            channel="web", text="broken\x00 kettle", name="Ann\x00\nBcc: x", email="a@example.com"
        )
    )
    assert result.message.body_text == "broken kettle"
    assert result.customer.name == "Ann Bcc: x"
