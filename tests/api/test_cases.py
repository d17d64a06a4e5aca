"""Creating, threading, reading and listing cases through the API."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from tests.api.conftest import assert_problem, new_case_body, post_json
from tests.conftest import assert_events, staff_api

from cherish.cases import actions as case_actions
from cherish.cases.models import Attachment, Case, Message
from cherish.customers.actions import find_or_create_customer
from cherish.customers.models import Customer
from cherish.intake.models import RawContact, RawStatus
from cherish.staff.models import Staff

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_creating_a_case_stores_the_raw_request_and_opens_a_case(api: Client, agent: Staff) -> None:
    # when an integration posts a customer's complaint
    response = post_json(api, "/api/v1/cases", new_case_body())
    # then a case opens with one owner, and the answer says so
    assert response.status_code == 201
    body = response.json()
    case = Case.objects.get()
    assert body["reference"] == case.reference
    assert body["opened"] is True
    assert body["kind"] == "complaint"
    assert body["stage"] == "received"
    assert body["channel"] == "api"
    assert body["order"] == "ORD-1001"
    assert body["owner"] == {"name": "Alice Agent", "username": "alice"}
    assert body["customer"] == {"id": str(case.customer_id), "name": "Dana Doe"}
    assert body["message_id"] == Message.objects.get().pk
    assert body["triage"] is None
    assert_events(case, ["case.opened", "message.added", "case.owner_assigned"])
    # and the raw request was kept and linked
    raw = RawContact.objects.get()
    assert (raw.channel, raw.status, raw.case_id) == ("api", RawStatus.PROCESSED, case.pk)
    assert raw.payload["customer"]["email"] == "dana@example.com"
    assert raw.sender == "dana@example.com"


def test_a_kind_chosen_by_the_customer_is_kept(api: Client, agent: Staff) -> None:
    response = post_json(api, "/api/v1/cases", new_case_body(kind="inquiry"))
    assert response.json()["kind"] == "inquiry"


def test_a_reference_of_the_same_customer_threads_into_that_case(api: Client, agent: Staff) -> None:
    # given a case opened through the API
    reference = post_json(api, "/api/v1/cases", new_case_body()).json()["reference"]
    # when the same customer writes again naming the case
    response = post_json(
        api,
        "/api/v1/cases",
        new_case_body(text="Any news about my blender?", reference=reference.lower()),
    )
    # then the message joins that case (200, not 201)
    assert response.status_code == 200
    assert response.json()["reference"] == reference
    assert response.json()["opened"] is False
    assert Case.objects.count() == 1
    assert Case.objects.get().message_count == 2


def test_a_reference_of_another_customer_opens_a_new_case(
    api: Client, agent: Staff, complaint: Case
) -> None:
    # when a stranger quotes someone else's case reference
    response = post_json(api, "/api/v1/cases", new_case_body(reference=complaint.reference))
    # then they do not write into it
    assert response.status_code == 201
    assert response.json()["reference"] != complaint.reference
    assert complaint.messages.count() == 1


def test_attachments_are_stored_and_listed(api: Client, agent: Staff) -> None:
    attachment = {
        "filename": "receipt.png",
        "content_type": "image/png",
        "content_base64": base64.b64encode(PNG).decode(),
    }
    response = post_json(api, "/api/v1/cases", new_case_body(attachments=[attachment]))
    assert response.status_code == 201
    stored = Attachment.objects.get()
    assert (stored.original_name, stored.content_type, stored.size) == (
        "receipt.png",
        "image/png",
        len(PNG),
    )
    detail = api.get(f"/api/v1/cases/{response.json()['reference']}").json()
    assert detail["messages"][0]["attachments"] == [
        {
            "id": stored.public_id,
            "filename": "receipt.png",
            "content_type": "image/png",
            "size": len(PNG),
        }
    ]


@pytest.mark.parametrize(
    ("attachment", "field"),
    [
        (
            {"filename": "a.txt", "content_type": "text/plain", "content_base64": "aGVsbG8="},
            "attachments.0.content_type",
        ),
        (
            {"filename": "a.png", "content_type": "image/png", "content_base64": "%%%notbase64"},
            "attachments.0.content_base64",
        ),
        (
            {
                "filename": "a.png",
                "content_type": "image/png",
                "content_base64": base64.b64encode(b"MZ\x90\x00 an exe file").decode(),
            },
            "attachments.0",
        ),
    ],
)
def test_attachments_other_than_images_and_pdf_are_refused(
    api: Client, agent: Staff, attachment: dict[str, str], field: str
) -> None:
    response = post_json(api, "/api/v1/cases", new_case_body(attachments=[attachment]))
    body = assert_problem(response, 422, "validation_error")
    assert field in {error["field"] for error in body["errors"]}
    assert not Case.objects.exists() and not RawContact.objects.exists()


def test_an_attachment_over_the_size_limit_is_refused(
    api: Client, agent: Staff, settings: Any
) -> None:
    settings.CHERISH_MAX_ATTACHMENT_BYTES = 1024
    big = b"%PDF-1.4\n" + b"x" * 2000
    attachment = {
        "filename": "big.pdf",
        "content_type": "application/pdf",
        "content_base64": base64.b64encode(big).decode(),
    }
    response = post_json(api, "/api/v1/cases", new_case_body(attachments=[attachment]))
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "attachments.0.content_base64"
    assert "larger than" in body["errors"][0]["message"]
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("customer", "field"),
    [
        ({"name": "Nobody"}, "customer"),
        ({"email": "not-an-address"}, "customer.email"),
        ({"phone": "12"}, "customer.phone"),
        ({"email": "a@example.com", "name": "Line\nbreak"}, "customer.name"),
    ],
)
def test_a_customer_that_cannot_be_identified_is_refused_with_field_errors(
    api: Client, agent: Staff, customer: dict[str, str], field: str
) -> None:
    response = post_json(api, "/api/v1/cases", new_case_body(customer=customer))
    body = assert_problem(response, 422, "validation_error")
    assert [error["field"] for error in body["errors"]] == [field]
    assert not Case.objects.exists() and not Customer.objects.exists()
    assert not RawContact.objects.exists()


def test_empty_text_and_unknown_channel_are_field_errors(api: Client, agent: Staff) -> None:
    response = post_json(api, "/api/v1/cases", new_case_body(text="  \x00 ", channel="pigeon"))
    body = assert_problem(response, 422, "validation_error")
    assert {error["field"] for error in body["errors"]} == {"text", "channel"}
    assert not Case.objects.exists()


# -------------------------------------------------------------------------- reading


def test_reading_a_case_shows_messages_events_and_triage(
    api: Client, complaint: Case, agent: Staff
) -> None:
    # given a case with a reply, a note and a triage result
    case_actions.reply_to_customer(complaint, text="Sorry, a new one is on its way.", by=agent)
    case_actions.add_internal_note(complaint, text="Courier damaged it.", by=agent)
    triage = {
        "kind": "complaint",
        "kind_confidence": 0.93,
        "emotion": "frustration",
        "intensity": 0.6,
        "urgency": "normal",
        "urgency_reason": "",
        "flags": ["leaving"],
        "topic": "delivery",
        "phase": "after",
        "language": "en",
        "reasons": {"kind": ["broken"]},
        "model_version": "2026.1",
        "kind_scores": {"complaint": 0.93},
    }
    Case.objects.filter(pk=complaint.pk).update(triage=triage)
    # when the API reads it
    response = api.get(f"/api/v1/cases/{complaint.reference}")
    # then everything is there, oldest first
    assert response.status_code == 200
    body = response.json()
    assert [m["direction"] for m in body["messages"]] == ["in", "out", "note"]
    assert body["messages"][1]["author"] == {"name": "Alice Agent", "username": "alice"}
    assert [e["type"] for e in body["events"]][:3] == [
        "case.opened",
        "message.added",
        "case.owner_assigned",
    ]
    assert body["triage"]["flags"] == ["leaving"]
    assert body["triage"]["kind_confidence"] == 0.93
    assert body["triage"]["reasons"] == {"kind": ["broken"]}
    assert "kind_scores" not in body["triage"]
    # and notes can be left out
    without = api.get(f"/api/v1/cases/{complaint.reference}?include_notes=false").json()
    assert [m["direction"] for m in without["messages"]] == ["in", "out"]


def test_reading_a_case_takes_a_fixed_number_of_queries(
    api: Client, complaint: Case, agent: Staff, django_assert_max_num_queries: Any
) -> None:
    api.get(f"/api/v1/cases/{complaint.reference}")  # the key's last_used_at is written once
    with django_assert_max_num_queries(5) as few:
        api.get(f"/api/v1/cases/{complaint.reference}")
    for n in range(5):
        case_actions.add_internal_note(complaint, text=f"note {n}", by=agent)
        case_actions.reply_to_customer(complaint, text=f"reply {n}", by=agent)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = api.get(f"/api/v1/cases/{complaint.reference}")
    assert len(response.json()["messages"]) == 11


def test_an_unknown_reference_is_404(api: Client, agent: Staff) -> None:
    assert_problem(api.get("/api/v1/cases/CH-ZZZZZZ"), 404, "not_found")
    assert_problem(api.get("/api/v1/cases/nonsense"), 404, "not_found")


# -------------------------------------------------------------------------- listing


def _case_for(email: str, *, at: dt.datetime, kind: str = "complaint") -> Case:
    customer, _ = find_or_create_customer(name=email, email=email)
    with time_machine.travel(at, tick=False):
        case, _ = case_actions.open_case(customer, text="Something went wrong.", kind=kind)
    return case


def test_listing_filters_and_pages_by_cursor(api: Client, agent: Staff, other_agent: Staff) -> None:
    # given five cases changed one hour apart
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    cases = [
        _case_for(
            f"c{n}@example.com",
            at=start + dt.timedelta(hours=n),
            kind="inquiry" if n == 4 else "complaint",
        )
        for n in range(5)
    ]
    case_actions.change_stage(cases[0], stage="closed", by=agent, reason="Solved.")
    # when listing two at a time
    first = api.get("/api/v1/cases?limit=2").json()
    second = api.get(f"/api/v1/cases?limit=2&cursor={first['next_cursor']}").json()
    third = api.get(f"/api/v1/cases?limit=2&cursor={second['next_cursor']}").json()
    # then every case appears once, most recently changed first
    seen = [c["reference"] for page in (first, second, third) for c in page["items"]]
    assert len(seen) == 5 and len(set(seen)) == 5
    assert seen[0] == cases[0].reference  # closing it just now changed it last
    assert third["next_cursor"] is None

    def refs(query: str) -> set[str]:
        response = api.get(f"/api/v1/cases?{query}")
        assert response.status_code == 200, response.content
        return {c["reference"] for c in response.json()["items"]}

    assert refs("kind=inquiry") == {cases[4].reference}
    assert refs("is_open=false") == {cases[0].reference}
    assert refs("stage=closed") == {cases[0].reference}
    assert refs(f"customer={cases[2].customer_id}") == {cases[2].reference}
    assert refs("customer=nope") == set()
    owners = {c.owner.user.username for c in cases if c.owner}
    assert refs("owner=alice") | refs("owner=bob") == {c.reference for c in cases}
    assert owners == {"alice", "bob"}
    since = (start + dt.timedelta(hours=3)).isoformat().replace("+00:00", "Z")
    assert refs(f"updated_since={since}") == {
        cases[0].reference,
        cases[3].reference,
        cases[4].reference,
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("kind=rant", "kind"),
        ("updated_since=yesterday", "updated_since"),
        ("cursor=abc", "cursor"),
    ],
)
def test_bad_list_parameters_are_field_errors(
    api: Client, agent: Staff, query: str, field: str
) -> None:
    response = api.get(f"/api/v1/cases?{query}")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


# ------------------------------------------------------------------------- messages


def test_a_customer_message_takes_the_intake_path_and_reopens_a_closed_case(
    api: Client, complaint: Case, agent: Staff
) -> None:
    # given a closed case
    case_actions.change_stage(complaint, stage="closed", by=agent, reason="Replaced.")
    # when the integration passes on the customer's new message
    response = post_json(
        api,
        f"/api/v1/cases/{complaint.reference}/messages",
        {"direction": "in", "text": "The replacement is broken too.", "channel": "social"},
    )
    # then it is added, stored raw first, and the case is open again
    assert response.status_code == 201
    assert response.json()["direction"] == "in"
    assert response.json()["channel"] == "social"
    complaint.refresh_from_db()
    assert complaint.is_open and complaint.message_count == 2
    raw = RawContact.objects.get()
    assert (raw.status, raw.case_id, raw.message_id) == (
        RawStatus.PROCESSED,
        complaint.pk,
        response.json()["id"],
    )


def test_a_reply_and_a_note_are_written_by_the_keys_staff_member(
    complaint: Case, agent: Staff
) -> None:
    url = f"/api/v1/cases/{complaint.reference}/messages"
    alice = staff_api(agent)
    reply = post_json(alice, url, {"direction": "out", "text": "We are on it."})
    note = post_json(alice, url, {"direction": "note", "text": "Check stock."})
    assert (reply.status_code, note.status_code) == (201, 201)
    assert reply.json()["author"]["name"] == "Alice Agent"
    complaint.refresh_from_db()
    assert complaint.first_response_at is not None
    assert list(complaint.messages.values_list("direction", flat=True)) == ["in", "out", "note"]
    assert not RawContact.objects.exists()  # staff writing is not inbound material


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"direction": "sideways", "text": "x"}, 422, "validation_error", "direction"),
        ({"direction": "out", "text": " "}, 422, "validation_error", "text"),
    ],
)
def test_a_message_that_cannot_be_added_is_refused(
    api: Client,
    complaint: Case,
    agent: Staff,
    body: dict[str, str],
    status: int,
    code: str,
    field: str,
) -> None:
    response = post_json(api, f"/api/v1/cases/{complaint.reference}/messages", body)
    problem = assert_problem(response, status, code)
    assert problem["errors"][0]["field"] == field
    assert complaint.messages.count() == 1


def test_a_message_to_an_unknown_case_is_404(api: Client, agent: Staff) -> None:
    response = post_json(api, "/api/v1/cases/CH-ZZZZZZ/messages", {"direction": "in", "text": "x"})
    assert_problem(response, 404, "not_found")
    assert not RawContact.objects.exists()


@pytest.mark.parametrize(
    "since",
    [
        # offsets PostgreSQL refuses (it allows 16 hours, Python 24), found by schemathesis
        "0750-05-11T11:11:34-16:26",
        "2024-01-01T00:00:00+23:59",
        # so early that UTC falls before year 1: from the start
        "0001-01-01T00:00:00+05:00",
    ],
)
def test_updated_since_takes_any_offset_on_every_database(
    api: Client, agent: Staff, complaint: Any, since: str
) -> None:
    cases = api.get("/api/v1/cases", {"updated_since": since})
    answers = api.get("/api/v1/survey-responses", {"updated_since": since})
    assert (cases.status_code, answers.status_code) == (200, 200)
    if since.startswith("2024"):
        assert [row["reference"] for row in cases.json()["items"]] == [complaint.reference]


# sqlite_stat1 of bench_desk.py's 1M data set (200k customers, 30 % of cases open): SQLite plans
# for the size it believes the tables are.
MILLION_CASES = {
    "case_open_updated": "298896 1 1 1 1 1 1 1 1",
    "case_topic": "1000000 1000000 500000 62500 1 1 1",
    "case_stage": "1000000 142858 17858 1 1 1",
    "case_at_risk": "1000000 500000 333334 41667 1 1 1",
    "case_open": "1000000 500000 62500 1 1 1",
    "case_mine": "1000000 47620 24391 3049 1 1",
    "case_closed": "1000000 2",
    "case_kind_open": "1000000 250000 125000 15625 1",
    "case_customer": "1000000 6 1",
    "case_team": "1000000 333334 200000 25000 1",
    "case_updated": "1000000 1 1 1 1 1 1 1",
    "cases_case_team_id_60679476": "1000000 333334",
    "cases_case_owner_id_352cf2f7": "1000000 47620",
    "cases_case_customer_id_3e0cf925": "1000000 6",
    "cases_case_created_at_1f9faaa8": "1000000 1",
    "sqlite_autoindex_cases_case_1": "1000000 1",
}
TWO_HUNDRED_THOUSAND_CUSTOMERS = {
    None: "200000",
    "customers_c_name_f018e2_idx": "200000 125",
    "customers_customer_merged_into_id_2994ddb6": "200000 200000",
    "customers_customer_created_at_b0f7c38c": "200000 1",
    "sqlite_autoindex_customers_customer_1": "200000 200000",
}


def _statistics_of_a_million_cases() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        for table, stats in (
            ("cases_case", MILLION_CASES),
            ("customers_customer", TWO_HUNDRED_THOUSAND_CUSTOMERS),
        ):
            cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = %s", [table])
            cursor.executemany(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (%s, %s, %s)",
                [(table, index, stat) for index, stat in stats.items()],
            )
        cursor.execute("ANALYZE sqlite_schema")  # the planner reads them again


@pytest.mark.parametrize("query", ["", "is_open=true", "is_open=false&kind=complaint"])
def test_the_list_is_read_in_order_from_an_index_within_the_staff_boundary(
    agent: Staff, other_agent: Staff, query: str
) -> None:
    """At 1M cases the list sorted every visible case (a temp B-tree over an
    ``id IN (every case in bounds)``): 1.6 s of CPU a call (issue #14). Now a page is read
    in change order from case_updated (case_open_updated for open cases) with the boundary
    checked on each entry, and shows the same cases."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    cases = [_case_for(f"p{n}@example.com", at=start + dt.timedelta(hours=n)) for n in range(4)]
    client = staff_api(agent)
    if connection.vendor == "sqlite":
        _statistics_of_a_million_cases()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/api/v1/cases?limit=3&{query}")
    assert response.status_code == 200, response.content
    shown = [c["reference"] for c in response.json()["items"]]
    if query != "is_open=false&kind=complaint":
        assert shown == [c.reference for c in reversed(cases)][:3]
    order = 'ORDER BY "cases_case"."updated_at" DESC'
    (listing,) = [q["sql"] for q in captured.captured_queries if order in q["sql"]]
    assert "IN (SELECT U0" not in listing  # the boundary's own terms, not every case in bounds
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + listing)
            plan = " / ".join(str(row[-1]) for row in cursor.fetchall())
        assert "TEMP B-TREE" not in plan, plan
        assert "USING INDEX case_updated" in plan or "USING INDEX case_open_updated" in plan, plan
