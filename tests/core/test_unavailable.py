"""When storage fails nothing is acknowledged: the page and the API answer 507 or 503 with
Retry-After, never 2xx or a bare 500, and a retry once storage is back succeeds."""

from __future__ import annotations

import errno
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import DatabaseError, OperationalError, connection
from django.test import Client

from cherish.cases.models import Case
from cherish.core.unavailable import storage_trouble
from cherish.intake.apikeys import create_api_key
from cherish.intake.models import RawContact, RawStatus
from cherish.staff.principal import KeyScope

FORM = {
    "text": "The washing machine flooded my kitchen on its first wash.",
    "name": "Pat Full",
    "email": "pat@example.com",
    "phone": "",
    "order_reference": "",
    "kind": "complaint",
    "website": "",
}


LONG_TEXT = "The washing machine flooded my kitchen on its first wash. " * 300


@contextmanager
def on_every_connection(sql: str) -> Iterator[None]:
    """Run ``sql`` on each connection opened meanwhile too: the intake applier writes through
    a connection of its own (intake.applier), and these settings are per connection."""
    from django.db.backends.signals import connection_created

    from cherish.intake.applier import stop_appliers

    def apply(sender: Any, connection: Any, **kwargs: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)

    stop_appliers()  # its connection predates the setting; the next batch opens a new one
    connection_created.connect(apply)
    try:
        yield
    finally:
        connection_created.disconnect(apply)
        stop_appliers()


@pytest.fixture
def full_database(transactional_db: Any) -> Iterator[None]:
    """SQLite may not grow past its current size: a real "database or disk is full" for any
    write that needs new pages (a long complaint needs several)."""
    if connection.vendor != "sqlite":
        pytest.skip("max_page_count is SQLite's; R7 of the fault suite fills a real filesystem")
    from cherish.intake.applier import stop_appliers

    # An applier left from an earlier test could free pages after they are counted below.
    stop_appliers()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE faults_filler (v BLOB)")
        # Pages freed by earlier tests would take the complaint: use them up first. After a
        # whole suite there are thousands, and a blob fills each page only up to its usable
        # size, so fill and count again until at most two are left.
        size = cursor.execute("PRAGMA page_size").fetchone()[0]
        for _ in range(10):
            free = cursor.execute("PRAGMA freelist_count").fetchone()[0]
            if free <= 2:
                break
            cursor.execute(
                "INSERT INTO faults_filler VALUES (zeroblob(%s))", [(free - 2) * (size - 64)]
            )
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")
    assert size >= 4096
    try:
        with on_every_connection(f"PRAGMA max_page_count = {pages}"):
            yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA max_page_count = 4294967294")
            cursor.execute("DROP TABLE faults_filler")


def test_a_full_database_answers_the_form_507_and_stores_nothing(
    client: Client, agent: Any, full_database: None
) -> None:
    # when a customer sends the form while the database has no room left
    response = client.post("/complain/", {**FORM, "text": LONG_TEXT})
    # then they are told to try again, and no case was opened (if the raw record still fit
    # before the disk filled up, it stays unprocessed, for staff to see, not as a case)
    assert response.status_code == 507
    assert response["Retry-After"] == "5"
    assert "Nothing was saved" in response.content.decode()
    assert not Case.objects.exists()
    assert not RawContact.objects.filter(status=RawStatus.PROCESSED).exists()


def test_a_full_database_answers_the_api_507_as_a_problem(agent: Any, full_database: None) -> None:
    # given
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA max_page_count = 4294967294")
    _, key = create_api_key("shop", scopes=list(KeyScope))
    with connection.cursor() as cursor:
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")
    api = Client(headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "full-1"})
    body = {"customer": {"name": "Pat", "email": "pat@example.com"}, "text": LONG_TEXT}
    # when
    response = api.post("/api/v1/cases", json.dumps(body), content_type="application/json")
    # then the answer tells the truth about what is durable: when the raw record still fit
    # before the disk filled up, the complaint is received (202, applied once there is room);
    # otherwise nothing was saved and the client is told to retry (507)
    assert not Case.objects.exists()
    if RawContact.objects.exists():
        assert response.status_code == 202
        assert response.json()["status"] == "received"
        assert response.json()["reference"] == RawContact.objects.get().reference
        return
    assert response.status_code == 507
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "insufficient_storage"
    assert response["Retry-After"] == "5"


def test_a_database_locked_past_its_timeout_answers_503(
    client: Client, agent: Any, transactional_db: Any
) -> None:
    # given another process's writer holding SQLite's write lock longer than we wait
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's single writer; the fault suite holds PostgreSQL's locks")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 300")
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        # when
        with on_every_connection("PRAGMA busy_timeout = 300"):
            response = client.post("/complain/", FORM)
    finally:
        other.execute("ROLLBACK")
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 20000")
    # then
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert not Case.objects.exists()
    # and once the writer is gone the same post is taken
    assert client.post("/complain/", FORM).status_code == 302
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), 507),
        (OperationalError("database or disk is full"), 507),
        (DatabaseError('could not extend file "base/1/2": No space left on device'), 507),
        (OperationalError("database is locked"), 503),
        (OperationalError("server closed the connection unexpectedly"), 503),
        (OSError(errno.EACCES, "Permission denied"), None),
        (ValueError("a bug"), None),
    ],
    ids=["enospc", "sqlite-full", "pg-full", "locked", "pg-restart", "eacces", "bug"],
)
def test_storage_trouble_tells_capacity_from_bugs(error: Exception, status: int | None) -> None:
    trouble = storage_trouble(error)
    assert (trouble.status if trouble else None) == status
