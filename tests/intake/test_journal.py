"""The intake journal (issue #14): with an applier process on SQLite the public form's
complaints are made durable in a file of their own, and moved into the database by the batch
that applies them. These tests commit for real: the applier loop runs in a thread with its
own connection, as in its process."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.test import Client
from tests.intake.test_applier import (
    _all_applied,
    _post_form,
    _wait_for,
    applier_process,
    store_process,
    three_agents,
)

from cherish.cases.models import Case
from cherish.core.backup import backup_sqlite, restore_sqlite
from cherish.core.models import Job
from cherish.intake import api, journal
from cherish.intake import applier as applier_module
from cherish.intake.apikeys import create_api_key
from cherish.intake.applier import (
    WAKE_DATAGRAM_MAX,
    Applied,
    WakeBack,
    _sent_directly,
    _wake_datagrams,
    applier_address,
    apply_waiting,
)
from cherish.intake.models import IdempotencyKey, RawContact, RawStatus
from cherish.privacy import erase_customer
from cherish.staff.principal import KeyScope

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="the intake journal is SQLite's (one write lock)"
    ),
]

__all__ = ["applier_process", "store_process", "three_agents"]  # the fixtures, used by name


@pytest.fixture
def journaled(settings: Any, tmp_path: Any) -> Any:
    """A web process beside an applier process, not started: complaints stay in the journal."""
    settings.CHERISH_INTAKE_APPLIER = "process"
    settings.DATA_DIR = tmp_path
    assert journal.in_use()
    return tmp_path


def _on_disk(tmp_path: Any) -> list[tuple[str, str]]:
    """The journal's entries as another process reads them from the file."""
    with sqlite3.connect(tmp_path / journal.FILE_NAME) as conn:
        return conn.execute("SELECT reference, sender FROM entry ORDER BY id").fetchall()


def test_a_form_complaint_is_durable_in_the_journal_before_it_is_answered(
    agent: Any, journaled: Any, monkeypatch: Any
):
    monkeypatch.setattr("cherish.intake.views.THANKS_WAIT_S", 0.05)
    client = Client()
    # when: the form is posted with no applier process running
    response = _post_form(client, 1)
    # then: answered, the complaint is in the journal file with its reference, the database
    # holds nothing of it yet
    assert response.status_code == 302
    [(reference, sender)] = _on_disk(journaled)
    assert sender == "d1@example.com"
    assert not RawContact.objects.exists() and not Case.objects.exists()
    # and the thank-you page says received, with that reference
    page = client.get(response["Location"]).content.decode()
    assert reference in page and "Alice Agent" not in page
    # when: an applier takes it (the applier process, after a crash of the web process)
    assert apply_waiting(grace_s=0) == 1
    # then: one raw record with that reference, on a case of that reference with its owner
    raw = RawContact.objects.get()
    assert raw.reference == reference and raw.status == RawStatus.PROCESSED
    assert raw.case is not None and raw.case.reference == reference and raw.case.owner == agent
    assert _on_disk(journaled) == []
    page = client.get(response["Location"]).content.decode()
    assert "Alice Agent" in page
    assert Job.objects.filter(key=f"follow-on:{raw.message_id}").count() == 1


def test_a_crash_after_the_move_before_the_journal_forgets_adds_nothing_twice(
    agent: Any, journaled: Any, monkeypatch: Any
):
    for n in range(3):
        assert _post_form(Client(), n).status_code == 302
    # given: an applier whose batch commits, then dies before deleting the journal's entries
    forget = journal.forget
    monkeypatch.setattr(journal, "forget", lambda ids: None)
    assert apply_waiting(grace_s=0) == 3
    assert len(_on_disk(journaled)) == 3
    # when: the next applier runs
    monkeypatch.setattr(journal, "forget", forget)
    apply_waiting(grace_s=0)
    # then: the entries are gone from the journal and each complaint is one case
    assert _on_disk(journaled) == []
    assert RawContact.objects.count() == 3 and Case.objects.count() == 3


def test_the_applier_process_forgets_moved_entries_later_and_never_moves_them_twice(
    agent: Any, journaled: Any
):
    for n in range(3):
        assert _post_form(Client(), n).status_code == 302
    # when: a batch that puts off the journal's cleanup (the applier process's)
    moved: list[tuple[int, str]] = []
    assert apply_waiting(grace_s=0, forget_later=moved) == 3
    # then: the three are on cases and still in the journal, listed for a later cleanup
    assert Case.objects.count() == 3
    assert sorted(reference for _, reference in moved) == sorted(r for r, _ in _on_disk(journaled))
    # when: a fourth arrives and the next batch runs with the list
    assert _post_form(Client(), 3).status_code == 302
    assert apply_waiting(grace_s=0, forget_later=moved) == 1
    # then: only the fourth was moved (nothing found twice), and nothing is left to do
    assert len(moved) == 4 and RawContact.objects.count() == 4 and Case.objects.count() == 4
    assert apply_waiting(grace_s=0, forget_later=moved) == 0
    # when: the cleanup runs: the journal is empty
    journal.forget(moved)
    assert _on_disk(journaled) == []


def test_the_journal_forgets_an_entry_by_its_reference_not_an_id_that_came_round_again(
    agent: Any, journaled: Any
):
    assert _post_form(Client(), 1).status_code == 302
    [old] = journal.waiting()
    # given: another applier moved and deleted it, then a new complaint took the freed id
    apply_waiting(grace_s=0)
    assert _post_form(Client(), 2).status_code == 302
    [new] = journal.waiting()
    assert new.id == old.id and new.reference != old.reference
    # when: the first applier's late cleanup runs
    journal.forget([(old.id, old.reference)])
    # then: the new complaint is still in the journal and is applied
    assert [reference for reference, _ in _on_disk(journaled)] == [new.reference]
    assert apply_waiting(grace_s=0) == 1
    assert Case.objects.filter(reference=new.reference).exists()


def test_the_same_form_sent_again_is_one_complaint_in_the_journal_and_after(
    agent: Any, journaled: Any, monkeypatch: Any
):
    monkeypatch.setattr("cherish.intake.views.THANKS_WAIT_S", 0.05)
    client = Client()
    first = _post_form(client, 7)
    # when: the same form is sent again while the first is still in the journal
    again = _post_form(client, 7)
    # then: one entry, and the second answer shows the first's reference
    [(reference, _)] = _on_disk(journaled)
    assert again.status_code == 302
    assert reference in client.get(again["Location"]).content.decode()
    # when: the first is on its case and the form is sent a third time
    apply_waiting(grace_s=0)
    third = _post_form(client, 7)
    # then: still one complaint, one case, and the answer names that case
    assert _on_disk(journaled) == [] and Case.objects.count() == 1
    assert Case.objects.get().reference in client.get(third["Location"]).content.decode()
    assert first["Location"] != third["Location"]


def test_the_rate_limit_is_counted_in_the_journal(agent: Any, journaled: Any, settings: Any):
    settings.CHERISH_PUBLIC_RATE_LIMIT = 2
    statuses = [_post_form(Client(), n).status_code for n in range(3)]
    # then: the third from the address is refused and not stored
    assert statuses == [302, 302, 429]
    assert len(_on_disk(journaled)) == 2


def _stores_in_the_web_process(monkeypatch: Any) -> list[int]:
    """How many complaints the web process's applier thread stored in the journal."""
    stored: list[int] = []
    store = applier_module._store_in_journal

    def counted(fresh: Any, **kwargs: Any) -> Any:
        stored.append(len(fresh))
        return store(fresh, **kwargs)

    monkeypatch.setattr(applier_module, "_store_in_journal", counted)
    return stored


def test_the_store_process_stores_the_form_and_its_resends_once(
    agent: Any, journaled: Any, store_process: Any, monkeypatch: Any
):
    monkeypatch.setattr("cherish.intake.views.THANKS_WAIT_S", 0.05)
    in_web = _stores_in_the_web_process(monkeypatch)
    store_process()
    client = Client()
    # when: forms are posted while the intake store process runs, one of them twice
    first = _post_form(client, 1)
    again = _post_form(client, 1)
    other = _post_form(Client(), 2)
    # then: the store process stored them, one entry each, the copy answered as the first
    assert [first.status_code, again.status_code, other.status_code] == [302] * 3
    assert in_web == []
    references = [reference for reference, _ in _on_disk(journaled)]
    assert len(references) == 2
    assert references[0] in client.get(again["Location"]).content.decode()
    # and the applier adds them to their cases
    apply_waiting(grace_s=0)
    assert sorted(Case.objects.values_list("reference", flat=True)) == sorted(references)


def test_the_store_process_counts_the_rate_limit(
    agent: Any, journaled: Any, store_process: Any, settings: Any, monkeypatch: Any
):
    settings.CHERISH_PUBLIC_RATE_LIMIT = 2
    in_web = _stores_in_the_web_process(monkeypatch)
    store_process()
    statuses = [_post_form(Client(), n).status_code for n in range(3)]
    assert statuses == [302, 302, 429]
    assert in_web == []
    assert len(_on_disk(journaled)) == 2


def test_a_form_the_store_process_does_not_answer_is_stored_by_its_request(
    agent: Any, journaled: Any, monkeypatch: Any
):
    """The store process took the datagram and hung (or died): the request stores its form
    after STORE_WAIT_S. Should the store process store what it took after all, that copy
    is the same form sent again: still one complaint."""
    monkeypatch.setattr(applier_module, "STORE_WAIT_S", 0.2)
    in_web = _stores_in_the_web_process(monkeypatch)
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    silent.bind(applier_module.store_address())
    silent.setblocking(False)
    try:
        response = _post_form(Client(), 3)
        [took] = [json.loads(data) for data in applier_module._trusted_datagrams(silent, 8)]
    finally:
        silent.close()
    assert response.status_code == 302
    assert in_web == [1]
    [(reference, _)] = _on_disk(journaled)
    # when: the store process stores what it took, late
    item = journal.Item(**took["item"])
    [late] = journal.store([item])
    # then: the journal's resend check knows it
    assert isinstance(late, journal.SentBefore) and late.reference == reference
    assert [ref for ref, _ in _on_disk(journaled)] == [reference]


def test_a_reference_a_raw_record_holds_is_drawn_again(
    agent: Any, journaled: Any, monkeypatch: Any
):
    assert _post_form(Client(), 1).status_code == 302
    apply_waiting(grace_s=0)
    taken = RawContact.objects.get().reference
    # given: the next draw repeats that reference
    draws = iter([taken, "CH23456A"])
    monkeypatch.setattr("cherish.core.references.new_reference", lambda: next(draws))
    # when: the next form is stored
    assert _post_form(Client(), 2).status_code == 302
    # then: it holds a fresh reference, and becomes a case of its own
    assert [reference for reference, _ in _on_disk(journaled)] == ["CH23456A"]
    apply_waiting(grace_s=0)
    assert sorted(Case.objects.values_list("reference", flat=True)) == sorted([taken, "CH23456A"])


def test_without_its_journal_the_form_stores_in_the_database(
    agent: Any, journaled: Any, monkeypatch: Any
):
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("the intake journal could not be written: disk I/O error")

    monkeypatch.setattr(journal, "store", broken)
    # when: the journal cannot be written
    response = _post_form(Client(), 1)
    # then: the complaint is stored (and here applied) in the database, nothing is lost
    assert response.status_code == 302
    assert RawContact.objects.count() == 1 and Case.objects.count() == 1


def test_many_forms_at_once_through_the_journal_are_one_case_each_with_fair_owners(
    agent: Any, other_agent: Any, applier_process: Any, settings: Any
):
    settings.CHERISH_PUBLIC_RATE_LIMIT = 1000
    applier_process()
    statuses: list[int] = []

    def send(numbers: range) -> None:
        for n in numbers:
            statuses.append(_post_form(Client(), n).status_code)
        connection.close()

    threads = [threading.Thread(target=send, args=(range(i, 30, 6),)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * 30
    _wait_for(_all_applied)
    raws = list(RawContact.objects.all())
    assert len(raws) == 30 and len({raw.case_id for raw in raws}) == 30
    assert Counter(Case.objects.values_list("owner__display_name", flat=True)) == {
        "Alice Agent": 15,
        "Bob Other": 15,
    }
    assert all(count == 1 for count in Counter(Job.objects.values_list("key", flat=True)).values())


def test_a_backup_keeps_the_complaints_still_in_the_journal(
    agent: Any, journaled: Any, tmp_path_factory: Any
):
    assert _post_form(Client(), 1).status_code == 302
    [(reference, _)] = _on_disk(journaled)
    database = connection.settings_dict["NAME"]
    # when: a backup is taken while the complaint waits in the journal, and restored
    backup = tmp_path_factory.mktemp("backup") / "copy"
    backup_sqlite(Path(database), journaled, backup)
    restored = tmp_path_factory.mktemp("restored")
    restore_sqlite(backup, restored / "cherish.sqlite3", restored)
    # then: the restored installation's journal holds it
    with sqlite3.connect(restored / journal.FILE_NAME) as conn:
        assert conn.execute("SELECT reference FROM entry").fetchall() == [(reference,)]


def test_erasing_a_customer_forgets_what_they_sent_that_waits_in_the_journal(
    agent: Any, journaled: Any
):
    # given: a customer known from a first complaint, a second one of theirs in the journal
    assert _post_form(Client(), 1).status_code == 302
    apply_waiting(grace_s=0)
    customer = Case.objects.get().customer
    second = {"text": "And the lamp too.", "name": "Dana 1", "email": "D1@example.com"}
    assert Client().post("/complain/", second).status_code == 302
    assert len(_on_disk(journaled)) == 1
    # when: the customer is erased
    erase_customer(customer, by=None, note="asked by letter")
    # then: the journal no longer holds what they sent, and no case is made of it
    assert _on_disk(journaled) == []
    apply_waiting(grace_s=0)
    assert Case.objects.count() == 1


def _api(key: str, idempotency_key: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {key}"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return Client(headers=headers)


def _case_body(n: int) -> str:
    return json.dumps(
        {"customer": {"name": f"Ann {n}", "email": f"ann{n}@example.com"}, "text": f"Broken {n}."}
    )


def _post_case(client: Client, n: int) -> Any:
    return client.post("/api/v1/cases", _case_body(n), content_type="application/json")


@pytest.fixture
def api_key() -> str:
    return create_api_key("shop", scopes=[KeyScope.CASES_CREATE, KeyScope.CASES_READ])[1]


def _spy_make_durable(monkeypatch: Any) -> list[int]:
    """The journal's flushes to the disk, each with how many entries the journal held."""
    flushed: list[int] = []
    make_durable = journal.make_durable

    def spied() -> None:
        make_durable()
        flushed.append(journal.size())

    monkeypatch.setattr(journal, "make_durable", spied)
    return flushed


def test_an_api_complaint_is_stored_in_the_journal_and_answered_with_its_case(
    agent: Any, applier_process: Any, api_key: str, monkeypatch: Any
):
    stored: list[int] = []
    store = journal.store

    def counted(items: Any, **kwargs: Any) -> Any:
        stored.extend(1 for item in items if item.channel == "api")
        return store(items, **kwargs)

    monkeypatch.setattr(journal, "store", counted)
    flushed = _spy_make_durable(monkeypatch)
    read_back: list[str] = []
    monkeypatch.setattr(
        "cherish.intake.api.stored_answer", lambda *args: read_back.append("key") or None
    )
    result_of = api.result_of
    monkeypatch.setattr(
        "cherish.intake.api.result_of", lambda raw: read_back.append("raw") or result_of(raw)
    )
    applier_process()
    # when: a case is created by API, with a key and without one
    first = _post_case(_api(api_key, "order-1"), 1)
    second = _post_case(_api(api_key), 2)
    # then: the one with a key was sent straight to the applier process, the other went
    # through the journal; both are answered with their cases and owners, sent along with the
    # applier process's wake-up (not read back from the database)
    assert stored == [1]
    assert read_back == []
    # and stored by the request's own thread without an fsync: answered only once the
    # database's durable commit holds them, so nothing needed flushing
    assert journal._connect().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert flushed == []
    assert first.status_code == second.status_code == 201
    for response in (first, second):
        case = Case.objects.get(reference=response.json()["reference"])
        assert response.json()["owner"]["name"] == "Alice Agent" == case.owner.display_name
        assert response.json()["opened"] is True
    # and the journal forgets them once they are in the database (just after the wake-up:
    # the answers can be back first)
    _wait_for(lambda: journal.size() == 0)
    # and the key holds its response, stored by the applier process with the case
    record = IdempotencyKey.objects.get()
    assert record.status_code == 201 and record.response == first.json()
    assert record.raw is not None and record.raw.case is not None
    replay = _post_case(_api(api_key, "order-1"), 1)
    assert replay.json() == first.json() and replay["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 2


def test_an_api_complaint_waiting_in_the_journal_is_answered_once_applied(
    agent: Any, journaled: Any, api_key: str, monkeypatch: Any
):
    monkeypatch.setattr("cherish.intake.api.APPLY_WAIT_S", 0.2)
    monkeypatch.setattr("cherish.intake.api_intake.IDEMPOTENCY_WAIT_SECONDS", 0.2)
    flushed = _spy_make_durable(monkeypatch)
    # when: a case is created by API while no applier process runs
    response = _post_case(_api(api_key, "order-2"), 1)
    # then: received (durable in the journal, with its key), not yet a case: stored without
    # an fsync, the journal was flushed to the disk before the answer said received
    assert response.status_code == 202
    assert flushed == [1]
    reference = response.json()["reference"]
    [entry] = journal.waiting()
    assert (entry.reference, entry.idem_key) == (reference, "order-2")
    assert not Case.objects.exists() and not IdempotencyKey.objects.exists()
    # and a retry is told it is in progress; the same key with other words is refused
    assert _post_case(_api(api_key, "order-2"), 1).status_code == 409
    reused = _post_case(_api(api_key, "order-2"), 9)
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert len(journal.waiting()) == 1
    # when: the applier process takes it (started after a crash, say)
    assert apply_waiting(grace_s=0) == 1
    # then: a retry gets its case, with the reference it was told
    again = _post_case(_api(api_key, "order-2"), 1)
    assert again.status_code == 201 and again.json()["reference"] == reference
    assert Case.objects.get().reference == reference


def test_an_api_complaint_the_journal_cannot_take_is_stored_and_applied_in_the_database(
    agent: Any, journaled: Any, api_key: str, monkeypatch: Any
):
    """The API's request stores its own journal entry (no applier thread between): should the
    journal fail, the request stores its contact in the database itself and answers 201."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("the intake journal could not be written: disk I/O error")

    monkeypatch.setattr(journal, "store", broken)
    # when: a case is created by API while the journal cannot be written
    response = _post_case(_api(api_key, "order-9"), 9)
    # then: stored and applied in the database, answered with the case and its owner
    assert response.status_code == 201
    case = Case.objects.get(reference=response.json()["reference"])
    assert response.json()["owner"]["name"] == "Alice Agent" == case.owner.display_name
    assert RawContact.objects.get().case == case
    # and the key holds that answer: a retry replays it
    replay = _post_case(_api(api_key, "order-9"), 9)
    assert replay.json() == response.json() and replay["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1


def test_concurrent_retries_of_one_api_request_through_the_journal_make_one_case(
    agent: Any, applier_process: Any, api_key: str
):
    applier_process()
    answers: list[Any] = []

    def send() -> None:
        answers.append(_post_case(_api(api_key, "order-3"), 1))
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer.status_code for answer in answers) == [201] * 6
    assert len({answer.json()["reference"] for answer in answers}) == 1
    assert Case.objects.count() == 1 and RawContact.objects.count() == 1
    assert IdempotencyKey.objects.get().status_code == 201


def _direct_entry(api_key_id: int, key: str, reference: str, waker: str, n: int = 1) -> Any:
    """A contact as a web process sends it to the applier process (send_to_applier)."""
    contact = {
        "channel": "api",
        "name": f"Ann {n}",
        "email": f"ann{n}@example.com",
        "text": f"Broken {n}.",
    }
    return journal.Entry(
        0,
        time.time(),
        reference,
        "api",
        f"ann{n}@example.com",
        "",
        {"n": n},
        contact,
        api_key=api_key_id,
        idem_key=key,
        request_hash="",
        waker=waker,
    )


def _api_key_id() -> int:
    from cherish.intake.models import ApiKey

    return ApiKey.objects.get().pk


def test_an_api_complaint_with_a_key_never_touches_the_journal(
    agent: Any, applier_process: Any, api_key: str, monkeypatch: Any
):
    """With an Idempotency-Key the request sends its contact straight to the applier
    process, which stores it in the batch that applies it: nothing is written to the
    journal, nothing read back from it, nothing deleted from it."""
    written: list[str] = []
    monkeypatch.setattr(journal, "store", lambda *a, **k: written.append("store"))
    monkeypatch.setattr(journal, "forget", lambda *a, **k: written.append("forget"))
    applier_process()
    responses = [_post_case(_api(api_key, f"order-{n}"), n) for n in range(1, 4)]
    assert [response.status_code for response in responses] == [201] * 3
    assert written == []
    assert journal.size() == 0
    for response in responses:
        case = Case.objects.get(reference=response.json()["reference"])
        assert response.json()["owner"]["name"] == case.owner.display_name
        raw = RawContact.objects.get(case=case)
        assert raw.reference == case.reference and raw.status == RawStatus.PROCESSED
        key = IdempotencyKey.objects.get(raw=raw)
        assert key.status_code == 201 and key.response == response.json()
    # the follow-on pipeline is queued once for each, as for every complaint
    assert Job.objects.filter(key__startswith="follow-on:").count() == 3


def test_a_contact_sent_to_a_silent_applier_process_goes_to_the_journal_and_is_one_case(
    agent: Any, journaled: Any, api_key: str, monkeypatch: Any
):
    """The applier process took the datagram and then hung (or died): the request stores
    its contact in the journal after DIRECT_WAIT_S. Should that process wake up later and
    apply what it took, the key held by the journal refuses it: one case per key."""
    monkeypatch.setattr(applier_module, "DIRECT_WAIT_S", 0.2)
    monkeypatch.setattr("cherish.intake.api.APPLY_WAIT_S", 0.2)
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    silent.bind(applier_address())
    silent.setblocking(False)
    try:
        # when: a case is created by API while the applier process reads but never answers
        response = _post_case(_api(api_key, "order-5"), 5)
        # then: received, from the journal (durable there), with the key
        assert response.status_code == 202
        [entry] = journal.waiting()
        assert (entry.reference, entry.idem_key) == (response.json()["reference"], "order-5")
        [took] = _sent_directly(silent)
        assert took.idem_key == "order-5" and took.reference != entry.reference
    finally:
        silent.close()
    # when: the applier process wakes up and applies what it took, then the journal
    back = WakeBack()
    try:
        late = dataclasses.replace(took, waker=back.address)
        apply_waiting(grace_s=0, direct=[late], forget_later=[])
        # then: the contact it took is refused (its key is the journal's), told to nobody
        # harmful: that request answered from the journal already
        assert back.wait(late.reference, 5) == Applied(refusal="key")
    finally:
        back.sock.close()
    assert Case.objects.count() == 1
    assert Case.objects.get().reference == entry.reference
    assert IdempotencyKey.objects.get(key="order-5").raw.reference == entry.reference
    again = _post_case(_api(api_key, "order-5"), 5)
    assert again.status_code == 201 and again.json()["reference"] == entry.reference


def test_a_contact_sent_directly_is_refused_when_its_key_or_reference_is_taken(
    agent: Any, journaled: Any, api_key: str
):
    back = WakeBack()
    try:
        api_key_id = _api_key_id()
        # given: a complaint applied with the key "order-6" and the reference CH-TAKEN1
        first = _direct_entry(api_key_id, "order-6", "CH-TAKEN1", back.address, 1)
        apply_waiting(grace_s=0, direct=[first], forget_later=[])
        assert back.wait("CH-TAKEN1", 5).answer[0] == 201
        # when: one with that key, one with that reference, and two with one new key arrive
        again = _direct_entry(api_key_id, "order-6", "CH-AGAIN1", back.address, 2)
        clash = _direct_entry(api_key_id, "order-7", "CH-TAKEN1", back.address, 3)
        twin_a = _direct_entry(api_key_id, "order-8", "CH-TWINA1", back.address, 4)
        twin_b = _direct_entry(api_key_id, "order-8", "CH-TWINB1", back.address, 5)
        apply_waiting(grace_s=0, direct=[again, clash, twin_a, twin_b], forget_later=[])
        # then: the key's second use and the second twin are refused "key", the taken
        # reference "reference" (its request draws another); the first twin is applied
        assert back.wait("CH-AGAIN1", 5) == Applied(refusal="key")
        assert back.wait("CH-TWINB1", 5) == Applied(refusal="key")
        assert back.wait("CH-TAKEN1", 5) == Applied(refusal="reference")
        assert back.wait("CH-TWINA1", 5).answer[0] == 201
    finally:
        back.sock.close()
    assert sorted(Case.objects.values_list("reference", flat=True)) == ["CH-TAKEN1", "CH-TWINA1"]
    assert IdempotencyKey.objects.count() == 2


def test_contacts_sent_directly_are_stored_already_applied_or_else_queued_first(
    three_agents: Any, journaled: Any, api_key: str, monkeypatch: Any
):
    """A batch of contacts sent directly is inserted on its new cases (raw records
    processed, each key with its response); one that is not a plain new case (it names the
    customer's external id), or a batch that fails, is stored queued and applied as the
    journal's are: every contact is applied once, answered, and its key holds the answer."""
    from cherish.intake import actions

    back = WakeBack()
    try:
        api_key_id = _api_key_id()
        plain = _direct_entry(api_key_id, "order-20", "CH-PLAIN2", back.address, 20)
        named = _direct_entry(api_key_id, "order-21", "CH-NAMED2", back.address, 21)
        named = dataclasses.replace(named, contact={**named.contact, "external_id": "crm-21"})
        # when: a plain contact and one that names its customer's id come in one batch
        apply_waiting(grace_s=0, direct=[plain, named], forget_later=[])
        # then: both applied and answered 201 with their cases
        for reference in ("CH-PLAIN2", "CH-NAMED2"):
            said = back.wait(reference, 5)
            assert said.answer[0] == 201
            assert json.loads(said.answer[1])["reference"] == reference
        # when: the batch fails once as a whole (a database error in its savepoint)
        batch = actions.receive_queued_batch
        failed: list[int] = []

        def fail_once(items: Any, **kwargs: Any) -> Any:
            if not failed:
                failed.append(len(items))
                raise IntegrityError("a clash")
            return batch(items, **kwargs)

        monkeypatch.setattr(actions, "receive_queued_batch", fail_once)
        twins = [
            _direct_entry(api_key_id, f"order-{n}", f"CH-FAIL{n}", back.address, n)
            for n in (22, 23)
        ]
        apply_waiting(grace_s=0, direct=twins, forget_later=[])
        # then: stored queued and applied after all, each once
        assert failed == [2]
        for n in (22, 23):
            assert back.wait(f"CH-FAIL{n}", 5).answer[0] == 201
    finally:
        back.sock.close()
    assert Case.objects.count() == 4 == RawContact.objects.count()
    for raw in RawContact.objects.all():
        assert raw.status == RawStatus.PROCESSED and raw.case.reference == raw.reference
        key = IdempotencyKey.objects.get(raw=raw)
        assert key.status_code == 201 and key.response["reference"] == raw.reference
    # owners in turn across the batches, the failed one's picks put back in line
    owners = list(Case.objects.order_by("id").values_list("owner_id", flat=True))
    assert owners == [agent.pk for agent in three_agents] + [three_agents[0].pk]
    assert Job.objects.filter(key__startswith="follow-on:").count() == 4


def test_a_request_whose_reference_is_taken_is_sent_again_with_another(
    agent: Any, applier_process: Any, api_key: str, monkeypatch: Any
):
    from cherish.core import references

    applier_process()
    taken = _post_case(_api(api_key, "order-10"), 10).json()["reference"]
    fresh = references.new_reference()
    drawn = [taken, fresh]
    draw = references.new_reference
    monkeypatch.setattr(references, "new_reference", lambda: drawn.pop(0) if drawn else draw())
    # when: the next request draws that reference first
    response = _post_case(_api(api_key, "order-11"), 11)
    # then: refused by the applier process, sent again with a fresh one: one case each
    assert response.status_code == 201
    assert response.json()["reference"] == fresh
    assert Case.objects.count() == 2


def test_a_bare_wake_up_ends_a_direct_wait_only_once_the_key_names_the_contact(
    agent: Any, journaled: Any, api_key: str, monkeypatch: Any
):
    """A wake-up without an answer (another user's, or an answer too big for a datagram)
    is no proof that the contact was stored: the request believes it only once its key
    names a raw record with its reference."""
    monkeypatch.setattr(applier_module, "DIRECT_WAIT_S", 0.3)
    back = WakeBack()
    try:
        api_key_id = _api_key_id()

        def bare(reference: str) -> None:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(reference.encode(), b"\0" + back.address.encode())

        # when: a bare wake-up comes for a contact nothing holds
        bare("CH-BARE01")
        # then: the request goes on waiting, and gives up (the journal's way next)
        assert applier_module._wait_direct(back, "CH-BARE01", (api_key_id, "order-13")) is None
        # when: the contact is stored with its key, and a bare wake-up comes
        entry = _direct_entry(api_key_id, "order-13", "CH-BARE01", "nobody", 13)
        apply_waiting(grace_s=0, direct=[entry], forget_later=[])
        bare("CH-BARE01")
        # then: it ends the wait
        said = applier_module._wait_direct(back, "CH-BARE01", (api_key_id, "order-13"))
        assert said == Applied()
    finally:
        back.sock.close()


def test_the_applier_process_takes_contacts_only_from_a_process_of_this_user(
    settings: Any, tmp_path: Any
):
    if os.getuid() != 0:
        pytest.skip("sending as another user needs root (CI runs as root)")
    settings.DATA_DIR = tmp_path
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    listener.bind(applier_address())
    listener.setblocking(False)
    entry = _direct_entry(1, "order-12", "CH-FORGE01", "nobody")
    datagram = json.dumps(dataclasses.asdict(entry)).encode()

    def send_as(uid: int) -> None:
        pid = os.fork()
        if pid == 0:  # the child only sends, then leaves without running any cleanup
            try:
                os.setuid(uid)
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                    sock.sendto(datagram, applier_address())
            finally:
                os._exit(0)
        os.waitpid(pid, 0)

    try:
        # when: another local user sends a contact, then a process of this user
        send_as(65534)
        send_as(os.getuid())
        # then: only this user's is taken
        assert _sent_directly(listener) == [entry]
    finally:
        listener.close()


def test_a_wake_up_carries_a_response_only_from_a_process_of_this_user(
    settings: Any, tmp_path: Any
):
    if os.getuid() != 0:
        pytest.skip("sending as another user needs root (CI runs as root)")
    settings.DATA_DIR = tmp_path
    back = WakeBack()

    def send_as(uid: int, line: bytes) -> None:
        pid = os.fork()
        if pid == 0:  # the child only sends, then leaves without running any cleanup
            try:
                os.setuid(uid)
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                    sock.sendto(line, b"\0" + back.address.encode())
            finally:
                os._exit(0)
        os.waitpid(pid, 0)

    try:
        # when: another local user sends a wake-up with a forged response
        send_as(65534, b'CH-FORGED\t201\t{"reference": "CH-EVIL"}')
        # then: it ends the wait, but its response is not believed
        assert back.wait("CH-FORGED", 5) == Applied(None)
        # when: a process of this user (the applier process) sends one
        send_as(os.getuid(), b'CH-MINE\t201\t{"reference": "CH-MINE"}')
        # then: the request answers with it
        assert back.wait("CH-MINE", 5) == Applied((201, '{"reference": "CH-MINE"}'))
    finally:
        back.sock.close()


def test_wake_ups_are_split_into_datagrams_and_a_response_too_big_is_left_out():
    answered = SimpleNamespace(response=(201, '{"reference": "CH-1", "text": "ü"}'))
    huge = SimpleNamespace(response=(201, '{"text": "%s"}' % ("x" * WAKE_DATAGRAM_MAX)))
    unanswered = SimpleNamespace(response=None)
    woken = [("CH-1", answered), ("CH-2", huge), ("CH-3", None), ("CH-3b", unanswered)]
    woken += [(f"CH-{n}", answered) for n in range(4, 2000)]
    datagrams = list(_wake_datagrams(woken))
    assert len(datagrams) > 1
    assert all(len(datagram) <= WAKE_DATAGRAM_MAX for datagram in datagrams)
    lines = [line for datagram in datagrams for line in datagram.decode().split("\n")]
    assert len(lines) == len(woken)
    assert lines[0] == 'CH-1\t201\t{"reference": "CH-1", "text": "ü"}'
    # the huge one and those without a response read theirs from the database
    assert lines[1:4] == ["CH-2", "CH-3", "CH-3b"]


# Run in a fresh interpreter: forking this test process (other tests' threads still running)
# could copy a lock another thread holds, and the child would wait for it for ever.
_OPEN_TOGETHER = """
import os, sys, time
import django
django.setup()
from cherish.intake import journal

data_dir = sys.argv[1]
failures = 0
for attempt in range(12):
    for name in os.listdir(data_dir):
        if name.startswith(journal.FILE_NAME):
            os.unlink(os.path.join(data_dir, name))
    moment = time.time() + 0.2
    children = []
    for _ in range(8):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            time.sleep(max(0.0, moment - time.time()))
            try:
                journal._connect().execute("SELECT count(*) FROM entry").fetchone()
                said = b"ok"
            except Exception as error:
                said = repr(error).encode()
            os.write(write, said)
            os._exit(0)
        os.close(write)
        children.append((pid, read))
    for pid, read in children:
        said = os.read(read, 4096).decode()
        os.close(read)
        os.waitpid(pid, 0)
        if said != "ok":
            failures += 1
            print(said)
print("failures", failures)
"""


def test_many_processes_opening_a_new_journal_at_once_all_get_it(journaled: Any):
    """The first complaints after a start open the journal file together (the web process's
    threads and the applier process): none of them may be told "database is locked" (a 503
    to a customer, seen on a fresh data directory) because another was making the file.
    Eight processes open a new journal at the same moment, twelve times."""
    env = {**os.environ, "CHERISH_DATA_DIR": str(journaled)}
    done = subprocess.run(
        [sys.executable, "-c", _OPEN_TOGETHER, str(journaled)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "failures 0", done.stdout[-2000:]
    with sqlite3.connect(journaled / journal.FILE_NAME) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
