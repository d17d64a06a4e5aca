"""Idempotency-Key: a retried POST /api/v1/cases never creates a second case."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
import time
import urllib.parse
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from tests.api.conftest import assert_problem, new_case_body, post_json
from tests.conftest import staff_api

from cherish.cases import actions as case_actions
from cherish.cases.errors import CaseError
from cherish.cases.models import Case, Message
from cherish.intake import api_intake
from cherish.intake.actions import Contact, RawMaterial, queue_contact
from cherish.intake.models import ApiKey, IdempotencyKey, RawContact
from cherish.staff.models import Staff


def test_a_retry_with_the_same_key_replays_the_first_response(api: Client, agent: Staff) -> None:
    # given a case created with an Idempotency-Key
    first = post_json(api, "/api/v1/cases", new_case_body(), **{"Idempotency-Key": "order-1"})
    assert first.status_code == 201
    # when the client retries the same request with the same key
    again = post_json(api, "/api/v1/cases", new_case_body(), **{"Idempotency-Key": "order-1"})
    # then it gets the same answer and nothing new was written
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1
    assert Message.objects.count() == 1
    assert RawContact.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(api: Client, agent: Staff) -> None:
    # given a key already used for one request
    post_json(api, "/api/v1/cases", new_case_body(), **{"Idempotency-Key": "k-7"})
    # when it is sent with a different body
    response = post_json(
        api,
        "/api/v1/cases",
        new_case_body(text="Something else entirely."),
        **{"Idempotency-Key": "k-7"},
    )
    # then it is refused and nothing else was written
    body = assert_problem(response, 422, "idempotency_key_reused")
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert Case.objects.count() == 1
    assert Message.objects.count() == 1
    assert RawContact.objects.count() == 1


def test_keys_belong_to_one_api_key(api: Client, agent: Staff) -> None:
    # given a key used by one integration
    post_json(api, "/api/v1/cases", new_case_body(), **{"Idempotency-Key": "shared"})
    other_key = ApiKey.objects.create(
        name="crm",
        prefix="chk_other",
        key_hash=ApiKey.hash_key("chk_" + "o" * 40),
        scopes=["cases:create"],
    )
    other = Client(headers={"Authorization": "Bearer chk_" + "o" * 40})
    # when another integration uses the same key for its own request
    response = post_json(
        other,
        "/api/v1/cases",
        new_case_body(text="A different complaint from the CRM."),
        **{"Idempotency-Key": "shared"},
    )
    # then it is its own request
    assert response.status_code in (200, 201)
    assert IdempotencyKey.objects.filter(api_key=other_key, key="shared").exists()


def test_a_request_still_in_flight_gets_409(
    api: Client, api_key_record: ApiKey, agent: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a first request with this key that has not finished
    body = new_case_body()
    IdempotencyKey.objects.create(
        api_key=api_key_record,
        key="slow",
        request_hash=api_intake.request_fingerprint("POST /cases", _canonical(body)),
    )
    monkeypatch.setattr(api_intake, "IDEMPOTENCY_WAIT_SECONDS", 0.2)
    # when a retry arrives
    response = post_json(api, "/api/v1/cases", body, **{"Idempotency-Key": "slow"})
    # then it is told to come back, and nothing was written
    assert_problem(response, 409, "request_in_progress")
    assert Case.objects.count() == 0
    assert RawContact.objects.count() == 0


def test_a_key_abandoned_by_a_crashed_request_is_taken_over(
    api: Client, api_key_record: ApiKey, agent: Staff
) -> None:
    # given a key whose request died long ago without writing anything
    body = new_case_body()
    record = IdempotencyKey.objects.create(
        api_key=api_key_record,
        key="crashed",
        request_hash=api_intake.request_fingerprint("POST /cases", _canonical(body)),
    )
    IdempotencyKey.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=10)
    )
    # when the client retries
    response = post_json(api, "/api/v1/cases", body, **{"Idempotency-Key": "crashed"})
    # then the retry does the work once and stores its response
    assert response.status_code == 201
    assert Case.objects.count() == 1
    record = IdempotencyKey.objects.get(key="crashed")
    assert record.status_code == 201
    assert record.response["reference"] == response.json()["reference"]


def test_an_empty_key_is_refused(api: Client, agent: Staff) -> None:
    response = post_json(api, "/api/v1/cases", new_case_body(), **{"Idempotency-Key": " "})
    assert_problem(response, 422, "invalid_idempotency_key")
    assert Case.objects.count() == 0


def _canonical(body: dict[str, Any]) -> dict[str, Any]:
    """The body as the API sees it after validation (defaults filled in)."""
    from cherish.cases.schemas import CaseIn

    return CaseIn.model_validate(body).model_dump(mode="json")


@pytest.mark.django_db(transaction=True)
def test_five_concurrent_retries_with_one_key_create_one_case(
    live_server: Any, agent: Staff, api_key: str
) -> None:
    # given five copies of one request, sent at the same moment over real HTTP
    url = urllib.parse.urlsplit(live_server.url)
    payload = json.dumps(new_case_body()).encode()
    start = threading.Barrier(5)
    results: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def send() -> None:
        connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=60)
        start.wait()
        connection.request(
            "POST",
            "/api/v1/cases",
            body=payload,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Content-Type": "application/json",
                "Idempotency-Key": "checkout-42",
            },
        )
        response = connection.getresponse()
        result = (response.status, json.loads(response.read()))
        connection.close()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=send) for _ in range(5)]
    # when they all arrive
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then exactly one case exists, and every answer is that case (or "still in progress")
    assert Case.objects.count() == 1
    assert Message.objects.count() == 1
    assert RawContact.objects.count() == 1
    reference = Case.objects.get().reference
    assert len(results) == 5
    for status, body in results:
        assert (status, body.get("reference")) == (201, reference) or (
            status == 409 and body["code"] == "request_in_progress"
        ), (status, body)
    assert sum(1 for status, _ in results if status == 201) >= 1


@pytest.mark.django_db(transaction=True)
def test_a_retry_after_a_crash_right_after_the_claim_is_answered_at_once(
    api_key_record: ApiKey, api_key: str, agent: Staff
) -> None:
    # given: a request stored its contact and claimed its key, then its process was killed
    # before the contact became a case (nothing applied it, nobody answered)
    body = new_case_body()
    claim = api_intake.Claim(
        api_key=api_key_record,
        key="killed",
        fingerprint=api_intake.request_fingerprint("POST /cases", _canonical(body)),
    )
    raw = queue_contact(
        Contact(channel="api", text=body["text"], email=body["customer"]["email"]),
        RawMaterial(payload=_canonical(body)),
        claim=claim.take,
    )
    # when: the client retries with the same key at once
    started = time.monotonic()
    client = Client(headers={"Authorization": f"Bearer {api_key}"})
    response = post_json(client, "/api/v1/cases", body, **{"Idempotency-Key": "killed"})
    # then: it gets the case of the stored contact promptly, not a 409 for minutes
    assert time.monotonic() - started < 5
    assert response.status_code == 201, response.content
    case = Case.objects.get()
    assert response.json()["reference"] == case.reference == raw.reference
    assert RawContact.objects.count() == 1
    assert IdempotencyKey.objects.get(key="killed").status_code == 201


def test_a_key_of_a_request_refused_before_it_was_taken_binds_nothing(
    complaint: Case, agent: Staff
) -> None:
    # given: a request refused as invalid (an empty note) with a key
    alice = staff_api(agent)
    url = f"/api/v1/cases/{complaint.reference}/messages"
    first = post_json(alice, url, {"direction": "note", "text": " "}, **{"Idempotency-Key": "k"})
    assert_problem(first, 422, "validation_error")
    assert not IdempotencyKey.objects.exists()
    # when: the corrected request is sent with the same key
    second = post_json(alice, url, {"direction": "note", "text": "x"}, **{"Idempotency-Key": "k"})
    # then: it is done (docs/api.md: only a request that was taken binds its key)
    assert second.status_code == 201
    assert complaint.messages.count() == 2


def test_a_key_of_a_request_refused_by_a_business_rule_keeps_that_answer(
    complaint: Case, agent: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a note refused by a business rule after the request was taken
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise CaseError("Notes are closed today.", code="notes_closed")

    monkeypatch.setattr(case_actions, "add_internal_note", refuse)
    alice = staff_api(agent)
    url = f"/api/v1/cases/{complaint.reference}/messages"
    note = {"direction": "note", "text": "x"}
    first = post_json(alice, url, note, **{"Idempotency-Key": "k"})
    assert_problem(first, 400, "notes_closed")
    monkeypatch.undo()
    # when: the same request is retried, and another body is sent with the same key
    retry = post_json(alice, url, note, **{"Idempotency-Key": "k"})
    other = post_json(alice, url, {**note, "text": "y"}, **{"Idempotency-Key": "k"})
    # then: the retry gets the same refusal, the other body is refused as a reused key
    assert_problem(retry, 400, "notes_closed")
    assert retry["Idempotent-Replayed"] == "true"
    assert_problem(other, 422, "idempotency_key_reused")
    assert complaint.messages.count() == 1
