"""Status updates the customer gets unasked: at the interval of the case's kind and severity
and when a commitment changes; in their language, once per interval, never after close."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from cherish.care import actions as care_actions
from cherish.care.customer_updates import send_due_updates
from cherish.care.models import StatusUpdate, StatusUpdateInterval
from cherish.cases import actions as case_actions
from cherish.cases.models import CaseEvent
from cherish.customers.actions import LanguageSource, remember_language
from cherish.outbox.models import OutgoingEmail

OPENED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def german_complaint(agent, customer):
    with time_machine.travel(OPENED, tick=False):
        remember_language(customer, "de", source=LanguageSource.MESSAGE)
        case, _ = case_actions.open_case(
            customer, text="Mein Paket ist kaputt angekommen.", channel="web"
        )
    return case


def updates_sent(case) -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(case_pk=case.pk).order_by("id"))


def run_at(moment: dt.datetime) -> dict[str, int]:
    with time_machine.travel(moment, tick=False):
        return send_due_updates()


def test_update_comes_once_per_interval_in_the_customers_language(german_complaint):
    # a normal complaint: every 72 hours (settings.CHERISH_STATUS_UPDATE_HOURS)
    assert run_at(OPENED + 71 * HOUR)["interval_updates"] == 0
    assert run_at(OPENED + 72 * HOUR)["interval_updates"] == 1
    assert run_at(OPENED + 73 * HOUR)["interval_updates"] == 0
    assert run_at(OPENED + 143 * HOUR)["interval_updates"] == 0
    assert run_at(OPENED + 144 * HOUR)["interval_updates"] == 1
    emails = updates_sent(german_complaint)
    assert len(emails) == 2
    first = emails[0]
    assert first.subject == (
        f"Neuigkeiten zu Ihrem Anliegen {german_complaint.reference} [{german_complaint.reference}]"
    )
    assert first.text_body.startswith(
        "Guten Tag Carla Customer,\n\n"
        f"Kurz zum Stand Ihres Anliegens {german_complaint.reference}: "
        "Ihre Nachricht ist bei uns angekommen.\n\n"
        "Ihre Nachricht ist bei uns, und wir kümmern uns in Kürze darum."
    )
    assert "Sie müssen nichts weiter tun." in first.text_body
    assert "Received" not in first.text_body and "received" not in first.text_body
    assert first.to_address == "carla@example.com"
    assert [u.period for u in StatusUpdate.objects.order_by("id")] == [1, 2]
    assert (
        CaseEvent.objects.filter(case=german_complaint, type="customer.status_update_sent").count()
        == 2
    )


def test_our_own_reply_restarts_the_interval(german_complaint, agent):
    with time_machine.travel(OPENED + 60 * HOUR, tick=False):
        case_actions.reply_to_customer(german_complaint, text="Wir prüfen das.", by=agent)
    assert run_at(OPENED + 72 * HOUR)["interval_updates"] == 0
    assert run_at(OPENED + 132 * HOUR)["interval_updates"] == 1


def test_interval_set_in_the_admin_overrides_the_default(german_complaint):
    StatusUpdateInterval.objects.create(kind="complaint", severity="normal", every_hours=24)
    assert run_at(OPENED + 24 * HOUR)["interval_updates"] == 1
    StatusUpdateInterval.objects.filter(kind="complaint").update(every_hours=0)
    assert run_at(OPENED + 200 * HOUR)["interval_updates"] == 0


def test_no_update_after_close_nor_while_waiting_for_the_customer(german_complaint, agent):
    case_actions.change_stage(german_complaint, stage="waiting", by=agent)
    assert run_at(OPENED + 100 * HOUR)["interval_updates"] == 0
    case_actions.change_stage(german_complaint, stage="closed", by=agent)
    assert run_at(OPENED + 300 * HOUR)["interval_updates"] == 0
    assert updates_sent(german_complaint) == []
    assert not StatusUpdate.objects.exists()


def test_commitment_changes_are_told_once_in_the_customers_words(german_complaint, agent):
    # given: a promise made on Tuesday
    with time_machine.travel(OPENED + 24 * HOUR, tick=False):
        promise = care_actions.record_commitment(
            german_complaint,
            what="Ersatzlieferung",
            how="email",
            by=agent,
            due_at=OPENED + 72 * HOUR,
        )
    # when / then: told once
    assert run_at(OPENED + 25 * HOUR)["commitment_updates"] == 1
    assert run_at(OPENED + 26 * HOUR)["commitment_updates"] == 0
    made = updates_sent(german_complaint)[-1]
    assert (
        "  - Alice hat Ihnen zugesagt: Ersatzlieferung, bis Donnerstag, 5. März, 09:00."
        in made.text_body
    )
    # when: kept
    with time_machine.travel(OPENED + 30 * HOUR, tick=False):
        care_actions.keep_commitment(promise, by=agent)
    assert run_at(OPENED + 31 * HOUR)["commitment_updates"] == 1
    kept = updates_sent(german_complaint)[-1]
    assert "  - Erledigt: Ersatzlieferung." in kept.text_body
    assert len(updates_sent(german_complaint)) == 2


def test_commitment_news_is_not_sent_for_a_closed_case(german_complaint, agent):
    with time_machine.travel(OPENED + HOUR, tick=False):
        care_actions.record_commitment(
            german_complaint, what="Rückruf", how="call", by=agent, due_at=OPENED + 48 * HOUR
        )
        case_actions.change_stage(german_complaint, stage="closed", by=agent)
    assert run_at(OPENED + 2 * HOUR) == {"commitment_updates": 0, "interval_updates": 0}
    assert updates_sent(german_complaint) == []


def _open_cases(customer, n: int) -> None:
    with time_machine.travel(OPENED, tick=False):
        for i in range(n):
            case_actions.open_case(customer, text=f"Problem number {i}.", channel="web")


@pytest.mark.parametrize("n", [3, 12])
def test_checking_for_due_updates_costs_the_same_whatever_the_number_of_cases(
    agent, customer, n, django_assert_num_queries
):
    _open_cases(customer, n)
    # opened 30 hours ago: past the shortest interval (24 h), not yet due (72 h)
    with time_machine.travel(OPENED + 30 * HOUR, tick=False), django_assert_num_queries(6):
        assert send_due_updates() == {"commitment_updates": 0, "interval_updates": 0}
