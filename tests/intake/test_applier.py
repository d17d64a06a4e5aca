"""Intake by design (issue #14): one short durable write per complaint, applied in batches.

These tests commit for real (``transactional_db``): the applier runs in its own thread with
its own connection, as it does in a web process.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from tests.conftest import assert_events

from cherish.cases import actions as case_actions
from cherish.cases.models import Case, Message
from cherish.core.errors import RateLimited
from cherish.core.models import Job, RateCount
from cherish.customers.models import ContactPoint, Customer, PossibleDuplicate
from cherish.intake import actions as intake_actions
from cherish.intake import applier as applier_module
from cherish.intake import journal
from cherish.intake.actions import (
    Contact,
    DuplicateRequest,
    IntakeResult,
    RateLimit,
    RawMaterial,
    Resent,
    _store_queued,
    accept_contact,
    queue_contact,
    resend_claim,
)
from cherish.intake.api_intake import claim_idempotency
from cherish.intake.apikeys import create_api_key
from cherish.intake.applier import Ticket, apply_waiting, store_together
from cherish.intake.models import IdempotencyKey, RawContact, RawStatus
from cherish.staff.actions import create_staff
from cherish.staff.principal import KeyScope

pytestmark = pytest.mark.django_db(transaction=True)


def _contact(n: int) -> Contact:
    return Contact(
        channel="web",
        text=f"Parcel {n} arrived crushed and nobody answers the phone.",
        name=f"Customer {n}",
        email=f"customer{n}@example.com",
    )


def _queue(n: int) -> RawContact:
    return queue_contact(_contact(n), RawMaterial(payload={"n": n}))


@pytest.fixture
def three_agents(agent: Any, other_agent: Any, care_team: Any) -> list[Any]:
    third = create_staff(
        username="cleo",
        password="correct horse battery staple",
        display_name="Cleo Third",
        email="cleo@example.com",
        team=care_team,
    )
    return [agent, other_agent, third]


def test_a_complaint_stored_before_a_crash_is_applied_on_restart(agent: Any, monkeypatch: Any):
    # given: a complaint durably stored, then its web process died before applying it
    raw = _queue(1)
    assert raw.status == RawStatus.QUEUED and raw.reference
    assert not Case.objects.exists()
    # when: the periodic applier of another process runs (cherish tick runs apply_intake)
    monkeypatch.setattr(applier_module, "ORPHAN_GRACE_S", 0.0)
    call_command("apply_intake", verbosity=0)
    # then: the case exists with the reference reserved at the durable write, the events and
    # the follow-on job of the one-by-one path, and the raw record is processed
    raw.refresh_from_db()
    case = Case.objects.get()
    assert raw.status == RawStatus.PROCESSED and raw.case == case
    assert case.reference == raw.reference
    assert case.owner == agent
    assert_events(case, ["case.opened", "message.added", "case.owner_assigned"])
    assert Job.objects.filter(key=f"follow-on:{raw.message_id}").count() == 1


def test_a_live_processes_complaint_is_not_taken_as_an_orphan_too_early(agent: Any):
    # given: a complaint just stored, its request still waiting for its own applier
    _queue(1)
    # when: another process's periodic applier runs within the grace period
    call_command("apply_intake", verbosity=0)
    # then: it leaves the complaint to its own applier
    assert RawContact.objects.get().status == RawStatus.QUEUED
    assert not Case.objects.exists()


def test_owners_take_turns_across_batches(three_agents: list[Any]):
    # given: two batches of complaints, 4 then 5
    first = [Ticket(_queue(n).pk) for n in range(4)]
    apply_waiting(first)
    second = [Ticket(_queue(n).pk) for n in range(4, 9)]
    apply_waiting(second)
    # then: every agent got 3, and no one got a second case before everyone had one
    owners = [t.outcome.case.owner.display_name for t in first + second]
    assert Counter(owners) == {"Alice Agent": 3, "Bob Other": 3, "Cleo Third": 3}
    for start in range(0, 9, 3):
        assert len(set(owners[start : start + 3])) == 3, owners


def test_a_change_to_the_team_between_batches_is_seen_by_the_next_batch(
    three_agents: list[Any],
):
    # given: a batch went round the three agents (the process keeps what it read of them)
    apply_waiting([Ticket(_queue(n).pk) for n in range(3)])
    # when: one agent goes off duty and another is renamed before the next batch
    alice, bob, _ = three_agents
    alice.is_available = False
    alice.save(update_fields=["is_available"])
    bob.display_name = "Bob Renamed"
    bob.save(update_fields=["display_name"])
    second = [Ticket(_queue(n).pk) for n in range(3, 7)]
    apply_waiting(second)
    # then: the off-duty agent gets none of them, and the events carry the new name
    owners = [t.outcome.case.owner for t in second]
    assert alice not in owners
    assert Counter(o.display_name for o in owners) == {"Bob Renamed": 2, "Cleo Third": 2}
    renamed = next(t.outcome.case for t in second if t.outcome.case.owner == bob)
    assert renamed.events.get(type="case.owner_assigned").data["owner_name"] == "Bob Renamed"


def test_follow_on_pipeline_queued_once_per_complaint_even_when_applied_twice(agent: Any):
    # given: three stored complaints
    raws = [_queue(n) for n in range(3)]
    # when: two appliers race for them and a third comes late
    threads = [
        threading.Thread(target=_apply_in_thread, args=([Ticket(r.pk) for r in raws],))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    apply_waiting([Ticket(r.pk) for r in raws])
    # then: one case, one message and one follow-on job per complaint
    assert Case.objects.count() == 3
    assert Message.objects.count() == 3
    keys = Counter(Job.objects.values_list("key", flat=True))
    assert sorted(keys.values()) == [1, 1, 1]
    assert set(keys) == {f"follow-on:{pk}" for pk in Message.objects.values_list("pk", flat=True)}


def _twelve_from_six_threads(send: Any) -> list[Any]:
    """``send(n)`` for n in 0..11 from 6 threads at once (each closes its connection)."""
    results: list[Any] = []

    def sender(numbers: range) -> None:
        try:
            for n in numbers:
                results.append(send(n))
        finally:
            connection.close()

    threads = [threading.Thread(target=sender, args=(range(i, 12, 6),)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _apply_in_thread(tickets: list[Ticket]) -> None:
    try:
        apply_waiting(tickets)
    finally:
        connection.close()


def test_accept_contact_waits_for_the_applier_thread_and_returns_the_case(agent: Any):
    # when: a contact enters by the one door outside any transaction
    result = accept_contact(_contact(1), raw=RawMaterial(payload={"text": "x"}))
    # then: it was queued and applied by the process's applier before the call returned
    assert result.opened is True
    assert result.case.owner == agent
    assert result.raw is not None and result.raw.reference == result.case.reference
    assert RawContact.objects.get().status == RawStatus.PROCESSED


def test_many_concurrent_complaints_each_get_one_case(agent: Any, other_agent: Any):
    # given: 12 complaints sent at once from 6 threads
    results = _twelve_from_six_threads(
        lambda n: accept_contact(_contact(n), raw=RawMaterial(payload={"n": n}))
    )
    # then: 12 answers, 12 distinct cases, owners shared fairly, nothing left queued
    assert len({r.case.pk for r in results}) == 12
    assert Counter(Case.objects.values_list("owner__display_name", flat=True)) == {
        "Alice Agent": 6,
        "Bob Other": 6,
    }
    assert not RawContact.objects.filter(status=RawStatus.QUEUED).exists()


def test_thank_you_page_shows_the_reference_and_the_owner(agent: Any):
    client = Client()
    # when: the public form is posted and the redirect followed
    response = client.post(
        "/complain/",
        {"text": "The sofa arrived torn.", "name": "Dana", "email": "dana@example.com"},
        follow=True,
    )
    # then: the page names the case's reference and its owner
    case = Case.objects.get()
    assert response.status_code == 200
    page = response.content.decode()
    assert case.reference in page
    assert "Alice Agent" in page
    assert RawContact.objects.get().reference == case.reference


def test_rate_limit_counted_with_the_complaint_refuses_without_storing(agent: Any, settings: Any):
    settings.CHERISH_PUBLIC_RATE_LIMIT = 2
    client = Client()
    form = {"name": "Dana", "email": "dana@example.com"}
    # when: the same address posts three complaints (three different ones: the same words
    # again would be the first complaint sent again)
    statuses = [
        client.post("/complain/", {**form, "text": f"The sofa arrived torn ({n})."}).status_code
        for n in range(3)
    ]
    # then: the third is refused and nothing of it was stored
    assert statuses == [302, 302, 429]
    assert RawContact.objects.count() == 2
    assert Case.objects.count() == 2


@pytest.mark.skipif("not connection.vendor == 'sqlite'", reason="SQLite's writer queue")
def test_a_writer_waits_in_the_writer_queue_not_in_sqlites_busy_handler():
    # given: another thread holds a write transaction for 0.3 s
    held = threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                held.set()
                time.sleep(0.3)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    # when: this thread writes with SQLite's own busy handler switched off
    other = connections.create_connection("default")
    try:
        other.ensure_connection()
        assert other.connection is not None
        other.connection.execute("PRAGMA busy_timeout=0")
        started = time.monotonic()
        other.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
        other.commit()
        other.set_autocommit(True)
        waited = time.monotonic() - started
    finally:
        other.close()
        holder.join()
    # then: it queued behind the holder and went in when it finished, instead of failing
    # with "database is locked" at once
    assert 0.1 < waited < 1.0


def test_a_refused_write_in_a_group_commit_leaves_the_others_stored(agent: Any):
    # given: three complaints from one address stored together, with room for two
    limit = RateLimit("test", "203.0.113.7", limit=2, window_s=3600)

    def store(n: int) -> Any:
        return lambda: _store_queued(_contact(n), RawMaterial(payload={"n": n}), limit, None)

    tickets = [Ticket(None, store=store(n)) for n in range(3)]
    # when: the applier stores them in one transaction
    store_together(tickets)
    # then: two are stored, the third is refused on its own
    assert [t.raw_id is not None for t in tickets] == [True, True, False]
    assert isinstance(tickets[2].outcome, RateLimited)
    assert RawContact.objects.filter(status=RawStatus.QUEUED).count() == 2


def _queued_ticket(n: int, *, limit: Any = None, claim: Any = None, text: str = "") -> Ticket:
    contact = _contact(n)
    if text:
        contact.text = text
    material = RawMaterial(payload={"n": n}, sender=contact.email)
    return Ticket(
        None,
        store=lambda: _store_queued(contact, material, limit, claim),
        queued=(contact, material, limit, claim),
    )


def test_a_group_is_stored_with_one_statement_per_kind_of_row_and_answered_in_one_turn(
    agent: Any,
):
    # given: four form complaints waiting for the applier, each counted and fingerprinted
    limit = RateLimit("test", "203.0.113.7", limit=10, window_s=3600)
    tickets = [
        _queued_ticket(
            n, limit=limit, claim=resend_claim("web", sender=f"c{n}@example.com", text=f"{n}")
        )
        for n in range(4)
    ]
    # when: one turn of the applier runs
    with CaptureQueriesContext(connection) as queries:
        left = applier_module.run_cycle(tickets, [])
    # then: every request has its case after this one turn
    assert left == []
    assert all(isinstance(t.outcome, IntakeResult) for t in tickets)
    assert sorted(t.outcome.case.reference for t in tickets) == sorted(
        RawContact.objects.values_list("reference", flat=True)
    )
    # and the group was stored with one count, one resend check and one INSERT for all
    sql = [q["sql"] for q in queries.captured_queries]
    assert len([s for s in sql if "INTO" in s and "core_ratecount" in s]) == 1
    assert len([s for s in sql if "INTO" in s and "intake_rawcontact" in s]) == 1
    assert len([s for s in sql if "fingerprint IN" in s]) == 1
    assert RateCount.objects.get().hits == 4


def test_a_group_with_one_refusal_is_stored_one_by_one_and_only_that_one_refused(agent: Any):
    # given: three complaints from one address with room for two, and a form sent twice
    limit = RateLimit("test", "203.0.113.7", limit=2, window_s=3600)
    over = [_queued_ticket(n, limit=limit) for n in range(3)]
    twice = [
        _queued_ticket(
            7, claim=resend_claim("web", sender="same@example.com", text="Same words."), text="x"
        )
        for _ in range(2)
    ]
    # when: the applier takes each group in a turn
    applier_module.run_cycle(over, [])
    applier_module.run_cycle(twice, [])
    # then: the first two are stored and applied, the third refused on its own
    assert [isinstance(t.outcome, IntakeResult) for t in over] == [True, True, False]
    assert isinstance(over[2].outcome, RateLimited)
    assert RateCount.objects.get(key__contains="test").hits == 2
    # and the form sent again is one complaint: the second is answered with the first
    assert isinstance(twice[0].outcome, IntakeResult)
    assert isinstance(twice[1].outcome, Resent)
    assert twice[1].outcome.earlier.pk == twice[0].raw_id
    assert Case.objects.count() == 3


def test_one_idempotency_key_twice_in_a_group_opens_one_case(agent: Any):
    # given: two API requests with the same key, waiting in one group
    api_key, _ = create_api_key("webshop", scopes=list(KeyScope))
    body = {"text": "Torn sofa."}
    claims = [
        claim_idempotency(api_key, "order-9", scope="POST /cases", body=body) for _ in range(2)
    ]
    tickets = [_queued_ticket(9, claim=claim) for claim in claims]
    # when: the applier stores and applies the group
    applier_module.run_cycle(tickets, [])
    # then: the first opened the case, the second was refused as a duplicate
    assert isinstance(tickets[0].outcome, IntakeResult)
    assert isinstance(tickets[1].outcome, DuplicateRequest)
    assert Case.objects.count() == 1
    assert IdempotencyKey.objects.get().raw_id == tickets[0].raw_id


def test_a_batch_matches_customers_as_one_contact_after_another_would(agent: Any, customer: Any):
    # given: Carla (email and phone) on file, and four complaints stored together
    contacts = [
        Contact(
            channel="web",
            text="One.",
            name="Dana",
            email="dana@example.com",
            phone="+44 20 7946 0018",
        ),
        Contact(channel="web", text="Two.", email="carla@example.com"),
        Contact(channel="web", text="Three.", name="Dana D", email="DANA@example.com"),
        Contact(
            channel="web",
            text="Four.",
            name="Eve",
            email="eve@example.com",
            phone="+44 20 7946 0999",
        ),
    ]
    tickets = [
        Ticket(queue_contact(c, RawMaterial(payload={"n": n})).pk) for n, c in enumerate(contacts)
    ]
    # when: one batch applies them
    apply_waiting(tickets)
    # then: the phone joins nobody (Dana is new, offered to staff beside Carla); a repeated
    # address, in any case, joins the customer the batch created for it moments before
    cases = [t.outcome.case for t in tickets]
    dana = cases[0].customer
    assert [c.customer_id for c in cases] == [dana.pk, customer.pk, dana.pk, cases[3].customer_id]
    assert dana.name == "Dana" and Customer.objects.count() == 3
    assert sorted(ContactPoint.objects.values_list("customer__name", "kind")) == [
        ("Carla Customer", "email"),
        ("Carla Customer", "phone"),
        ("Dana", "email"),
        ("Eve", "email"),
        ("Eve", "phone"),
    ]
    pair = PossibleDuplicate.objects.get()
    assert {pair.first_id, pair.second_id} == {customer.pk, dana.pk}
    assert pair.reasons == ["same_phone"]
    # and: each case as open_case writes it, answered to the address it came from
    assert [c.reply_to for c in cases] == [
        "dana@example.com",
        "carla@example.com",
        "dana@example.com",
        "eve@example.com",
    ]
    for case in cases:
        assert_events(case, ["case.opened", "message.added", "case.owner_assigned"])
        assert case.reference == RawContact.objects.get(case=case).reference
    assert Job.objects.count() == 4
    assert not RawContact.objects.exclude(status=RawStatus.PROCESSED).exists()


def test_a_batch_that_fails_as_a_whole_is_applied_one_by_one(agent: Any, monkeypatch: Any):
    # given: two stored complaints, and a batch insert that breaks
    tickets = [Ticket(_queue(n).pk) for n in range(2)]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise IntegrityError("UNIQUE constraint failed: cases_case.reference")

    monkeypatch.setattr(case_actions, "open_cases", broken)
    # when: the applier runs
    apply_waiting(tickets)
    # then: each complaint got its case by the one-by-one path, owners in turn as ever
    assert all(isinstance(t.outcome, IntakeResult) for t in tickets)
    assert Case.objects.count() == 2
    assert not RawContact.objects.exclude(status=RawStatus.PROCESSED).exists()


def _slow_in_the_database() -> None:
    """An apply that keeps the database busy, statement after statement, until stopped."""
    while True:
        time.sleep(0.02)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")


@pytest.fixture
def stuck_applier(monkeypatch: Any) -> Any:
    """The applier's one-transaction turn is slow in the database past its guard; taken in
    two, it stores what it is handed, then hangs before applying it, until set."""
    release = threading.Event()
    real = applier_module.apply_waiting

    def stuck(tickets: Any = (), **kwargs: Any) -> int:
        if kwargs.get("after_commit") is not None:  # in the turn's one transaction
            _slow_in_the_database()
        release.wait(60)
        return real(tickets, **kwargs)

    monkeypatch.setattr(applier_module, "apply_waiting", stuck)
    monkeypatch.setattr(applier_module, "TURN_GUARD_S", 0.1)
    monkeypatch.setattr(intake_actions, "APPLY_WAIT_S", 0.3)
    yield release
    release.set()


def test_a_stuck_applier_answers_the_form_received_with_its_reference(
    agent: Any, stuck_applier: Any
):
    client = Client()
    # when: the form is posted while the applier hangs after storing it
    response = client.post(
        "/complain/",
        {"text": "The sofa arrived torn.", "name": "Dana", "email": "dana@example.com"},
        follow=True,
    )
    # then: the customer reads that it is received, with the reference reserved for it
    raw = RawContact.objects.get()
    assert raw.status == RawStatus.QUEUED
    assert not Case.objects.exists()
    assert response.status_code == 200
    page = response.content.decode()
    assert raw.reference in page and "Thank you, Dana. We have your message." in page
    # when: the applier comes loose (stopping it finishes the batch in hand)
    stuck_applier.set()
    applier_module.stop_appliers()
    # then: the case has that reference, and the same page now names its owner
    case = Case.objects.get()
    assert case.reference == raw.reference
    assert "Alice Agent" in client.get(response.redirect_chain[-1][0]).content.decode()


def test_a_stuck_applier_answers_the_api_202_received(agent: Any, stuck_applier: Any):
    _, key = create_api_key("webshop", scopes=list(KeyScope))
    api = Client(headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "order-7"})
    body = {"customer": {"name": "Dana", "email": "dana@example.com"}, "text": "Torn sofa."}
    # when: a case is created while the applier hangs after storing it
    response = api.post("/api/v1/cases", json.dumps(body), content_type="application/json")
    # then: 202, received, with the reference the case will have
    raw = RawContact.objects.get()
    assert response.status_code == 202
    assert response.json() == {"status": "received", "reference": raw.reference}
    # when: the applier comes loose, a retry with the key gets the case itself
    stuck_applier.set()
    applier_module.stop_appliers()
    again = api.post("/api/v1/cases", json.dumps(body), content_type="application/json")
    assert again.status_code == 201
    assert again.json()["reference"] == raw.reference == Case.objects.get().reference


def test_an_applier_stuck_before_its_commit_answers_503_and_never_stores_it_later(
    agent: Any, monkeypatch: Any
):
    # given: an applier that hangs in the middle of its one-transaction turn, away from the
    # database (nothing of the turn is committed while it hangs)
    release = threading.Event()
    real = applier_module.apply_waiting

    def hung(tickets: Any = (), **kwargs: Any) -> int:
        if kwargs.get("after_commit") is not None:
            release.wait(60)
        return real(tickets, **kwargs)

    monkeypatch.setattr(applier_module, "apply_waiting", hung)
    monkeypatch.setattr(applier_module, "TURN_GUARD_S", 0.1)
    monkeypatch.setattr(intake_actions, "APPLY_WAIT_S", 0.2)
    form = {"text": "The sofa arrived torn.", "name": "Dana", "email": "dana@example.com"}
    # when: the form is posted while it hangs
    response = Client().post("/complain/", form)
    # then: the customer is told nothing was saved and to try again, never "received"
    assert response.status_code == 503
    assert "Nothing was saved" in response.content.decode()
    # when: the applier comes loose
    release.set()
    applier_module.stop_appliers()
    # then: the turn it was in is rolled back, and the complaint the customer was told was
    # not saved is not stored behind their back
    assert not RawContact.objects.exists()
    assert not Case.objects.exists()


def test_a_turn_stores_and_applies_its_group_with_one_commit(agent: Any, monkeypatch: Any):
    # given: four form complaints waiting for the applier, and a count of the commits
    commits: list[str] = []
    wrapper = type(connections["default"])
    real_commit = wrapper._commit

    def counted(self: Any) -> None:
        commits.append(self.alias)
        real_commit(self)

    monkeypatch.setattr(wrapper, "_commit", counted)
    tickets = [_queued_ticket(n) for n in range(4)]
    # when: one turn of the applier runs
    left = applier_module.run_cycle(tickets, [])
    # then: one commit made the group durable and applied it; every request has its case
    assert commits == ["default"]
    assert left == []
    assert all(isinstance(t.outcome, IntakeResult) and t.durable for t in tickets)
    assert Case.objects.count() == 4
    assert not RawContact.objects.exclude(status=RawStatus.PROCESSED).exists()


def test_a_turn_slow_in_the_database_is_rolled_back_and_taken_in_two(agent: Any, monkeypatch: Any):
    # given: an apply slow in the database past the turn's guard once, then well again
    real = applier_module.apply_waiting
    slow = [True]

    def slow_once(tickets: Any = (), **kwargs: Any) -> int:
        if kwargs.get("after_commit") is not None and slow:
            slow.clear()
            _slow_in_the_database()
        return real(tickets, **kwargs)

    monkeypatch.setattr(applier_module, "apply_waiting", slow_once)
    monkeypatch.setattr(applier_module, "TURN_GUARD_S", 0.1)
    tickets = [_queued_ticket(n) for n in range(3)]
    # when: one turn of the applier runs
    left = applier_module.run_cycle(tickets, [])
    # then: the slow transaction left nothing behind; stored, then applied, each got its case
    assert left == []
    assert all(isinstance(t.outcome, IntakeResult) for t in tickets)
    assert RawContact.objects.count() == 3 and Case.objects.count() == 3
    assert not RawContact.objects.exclude(status=RawStatus.PROCESSED).exists()


def test_a_case_opened_one_by_one_after_a_batch_goes_to_the_next_in_line(
    three_agents: list[Any], customer: Any
):
    # given: a batch of four complaints went round the three agents once and a bit
    tickets = [Ticket(_queue(n).pk) for n in range(4)]
    apply_waiting(tickets)
    batch_owners = [t.outcome.case.owner for t in tickets]
    assert len(set(batch_owners[:3])) == 3 and batch_owners[3] == batch_owners[0]
    # when: a case is opened one by one (an email, a call)
    case, _ = case_actions.open_case(customer, text="By phone.", channel="phone")
    # then: it goes to the agent whose turn it is (the batch's second), not by id
    assert case.owner == batch_owners[1]


def test_a_request_never_writes_outside_a_transaction(agent: Any):
    # A write outside a transaction takes SQLite's lock in its busy handler (sleeping in steps,
    # not woken when the lock frees) instead of the writer queue: a request thread must not.
    loose: list[str] = []

    def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        verb = sql.lstrip().split(" ", 1)[0].upper()
        writes = verb in {"INSERT", "UPDATE", "DELETE", "REPLACE"}
        if writes and not context["connection"].in_atomic_block:
            loose.append(sql)
        return execute(sql, params, many, context)

    _, key = create_api_key("webshop", scopes=list(KeyScope))
    api = Client(headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "order-8"})
    body = {"customer": {"name": "Dana", "email": "dana@example.com"}, "text": "Torn sofa."}
    with connection.execute_wrapper(watch):
        # when: a form is sent and thanked, and a case is created by a key used for the first
        # time (its last use is written)
        form = {"text": "The sofa arrived torn.", "name": "Eve", "email": "eve@example.com"}
        assert Client().post("/complain/", form, follow=True).status_code == 200
        created = api.post("/api/v1/cases", json.dumps(body), content_type="application/json")
        assert created.status_code == 201
    # then: every write of the request threads was in a transaction
    assert loose == []


# With an applier process (``cherish serve``: CHERISH_INTAKE_APPLIER=process) the web process
# only stores the public form's complaints and answers; the applier process adds them to
# their cases. Here that process's loop runs in a thread with its own connection.


@pytest.fixture
def applier_process(settings: Any, tmp_path: Any) -> Any:
    settings.CHERISH_INTAKE_APPLIER = "process"
    # Its own wake-up address (one per data directory): the SQLite and PostgreSQL runs of
    # the suite share ./var.
    settings.DATA_DIR = tmp_path
    stop = threading.Event()

    def run() -> None:
        applier_module.run_applier_loop(stop)

    thread = threading.Thread(target=run, name="applier process", daemon=True)

    def start() -> threading.Thread:
        thread.start()
        # Listening before the test's first request: one sent before would find nobody
        # there and take the way for an absent applier process (correct, but another path).
        _wait_for(_applier_listening)
        return thread

    yield start
    stop.set()
    if thread.is_alive() or thread.ident is not None:
        thread.join(10)


@pytest.fixture
def store_process(settings: Any, tmp_path: Any) -> Any:
    """The intake store process (intake.applier.run_store_loop), in a thread."""
    settings.CHERISH_INTAKE_APPLIER = "process"
    settings.DATA_DIR = tmp_path
    stop = threading.Event()
    thread = threading.Thread(
        target=applier_module.run_store_loop, args=(stop,), name="store process", daemon=True
    )

    def start() -> threading.Thread:
        thread.start()
        _wait_for(lambda: _listening(applier_module.store_address()))
        return thread

    yield start
    stop.set()
    if thread.ident is not None:
        thread.join(10)


def _listening(address: bytes) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(address)
        except OSError:
            return False
        return True


def _applier_listening() -> bool:
    return _listening(applier_module.applier_address())


def _post_form(client: Client, n: int, **extra: Any) -> Any:
    return client.post(
        "/complain/",
        {"text": f"The sofa {n} arrived torn.", "name": f"Dana {n}", "email": f"d{n}@example.com"},
        **extra,
    )


def test_with_an_applier_process_the_form_is_answered_once_its_complaint_is_durable(
    agent: Any, applier_process: Any, monkeypatch: Any
):
    monkeypatch.setattr("cherish.intake.views.THANKS_WAIT_S", 0.05)
    client = Client()
    # when: the public form is posted while no applier process runs yet
    response = _post_form(client, 1)
    # then: it is answered at once, the complaint durable with its reference, not yet a case
    # (on SQLite in the intake journal, elsewhere a queued raw record)
    assert response.status_code == 302
    if journal.in_use():
        (entry,) = journal.waiting()
        reference = entry.reference
        assert not RawContact.objects.exists()
    else:
        raw = RawContact.objects.get()
        assert raw.status == RawStatus.QUEUED and raw.reference
        reference = raw.reference
    assert not Case.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert reference in page and "Alice Agent" not in page
    # when: the applier process runs (as after a crash between the store and the apply)
    applier_process()
    case = _wait_for(lambda: Case.objects.filter(reference=reference).first())
    # then: the complaint is on its case with an owner, and the thank-you page names both
    assert case.owner == agent
    page = client.get(response["Location"]).content.decode()
    assert case.reference in page and "Alice Agent" in page
    assert Job.objects.filter(key=f"follow-on:{case.messages.get().pk}").count() == 1


def test_the_thank_you_page_waits_for_the_applier_process_and_shows_the_owner(
    agent: Any, applier_process: Any
):
    applier_process()
    # when: the form is posted and the redirect followed at once
    response = _post_form(Client(), 2, follow=True)
    # then: the page names the case's reference and its owner
    case = Case.objects.get()
    page = response.content.decode()
    assert response.status_code == 200
    assert case.reference in page and "Alice Agent" in page


def test_the_applier_process_puts_each_stored_complaint_on_one_case_with_fair_owners(
    agent: Any, other_agent: Any, applier_process: Any, settings: Any
):
    settings.CHERISH_PUBLIC_RATE_LIMIT = 1000  # every post comes from one address here
    applier_process()
    # when: 12 complaints are posted at once from 6 threads
    statuses = _twelve_from_six_threads(lambda n: _post_form(Client(), n).status_code)
    assert statuses == [302] * 12
    _wait_for(_all_applied)
    # then: 12 cases, one per complaint, owners shared fairly, one pipeline each
    raws = list(RawContact.objects.all())
    assert len(raws) == 12 and len({raw.case_id for raw in raws}) == 12
    assert Counter(Case.objects.values_list("owner__display_name", flat=True)) == {
        "Alice Agent": 6,
        "Bob Other": 6,
    }
    keys = Counter(Job.objects.values_list("key", flat=True))
    assert all(count == 1 for count in keys.values())


def test_the_api_is_still_answered_with_its_case_beside_an_applier_process(
    agent: Any, applier_process: Any
):
    applier_process()
    _, key = create_api_key("shop", scopes=[KeyScope.CASES_CREATE, KeyScope.CASES_READ])
    response = Client().post(
        "/api/v1/cases",
        data=json.dumps(
            {"customer": {"name": "Ann", "email": "ann@example.com"}, "text": "Broken again."}
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_IDEMPOTENCY_KEY="one",
    )
    assert response.status_code == 201
    assert response.json()["reference"] == Case.objects.get().reference


def test_a_store_wakes_the_applier_process_at_once(
    agent: Any, applier_process: Any, monkeypatch: Any
):
    # given: an applier process that would look by itself only every 30 s
    monkeypatch.setattr(applier_module, "IDLE_POLL_S", 30.0)
    applier_process()
    time.sleep(0.2)  # it has looked once and waits
    # when: a complaint is posted
    started = time.monotonic()
    assert _post_form(Client(), 3).status_code == 302
    # then: its case is made long before the next look
    _wait_for(lambda: Case.objects.exists(), timeout=10)
    assert time.monotonic() - started < 10


def _all_applied() -> bool:
    """No complaint waits: none in the intake journal, none queued in the database."""
    in_journal = journal.size() if journal.in_use() else 0
    return not in_journal and not RawContact.objects.filter(status=RawStatus.QUEUED).exists()


def _wait_for(probe: Any, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("not seen in time")


def test_the_applier_process_has_a_page_cache_of_its_own(
    agent: Any, applier_process: Any, monkeypatch: Any
):
    """Its batches touch every index of every table they write: with SQLite's default cache
    the pages were read back from the write-ahead log and spilled into it before the commit.
    The bigger cache is the applier's alone (a web worker's connections stay small), and so
    are its bigger cache of prepared statements and its longer write-ahead log."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's page cache")
    seen: list[tuple[int, int]] = []
    statements: list[int] = []
    checkpoints: list[int] = []
    receive = intake_actions.receive_queued_batch

    def spied(*args: Any, **kwargs: Any) -> Any:
        with connection.cursor() as cursor:  # the applier's own connection: its thread
            cursor.execute("PRAGMA cache_size")
            (size,) = cursor.fetchone()
            cursor.execute("PRAGMA temp_store")
            (temp_store,) = cursor.fetchone()
        seen.append((size, temp_store))
        statements.append(connection.settings_dict["OPTIONS"]["cached_statements"])
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint")
            checkpoints.append(cursor.fetchone()[0])
        return receive(*args, **kwargs)

    monkeypatch.setattr(intake_actions, "receive_queued_batch", spied)
    applier_process()
    response = _post_form(Client(), 1)
    assert response.status_code == 302
    _wait_for(lambda: Case.objects.exists())
    assert seen and seen[0] == (-applier_module.APPLIER_CACHE_KIB, 2)  # 2: MEMORY
    assert statements[0] == applier_module.APPLIER_CACHED_STATEMENTS
    assert connection.settings_dict["OPTIONS"]["cached_statements"] < statements[0]
    assert checkpoints[0] == applier_module.APPLIER_WAL_AUTOCHECKPOINT
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        assert cursor.fetchone()[0] != -applier_module.APPLIER_CACHE_KIB
