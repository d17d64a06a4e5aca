"""What a statement costs before the database sees it (issue #14: the intake applier's CPU)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.db import connection, transaction

from cherish.core.clock import now
from cherish.core.models import Job
from cherish.core.rows import RowInsert


def test_sqlite_turns_a_statements_placeholders_into_its_own_once(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Django rewrites every "%s" into SQLite's "?" with a regular expression, for every
    statement it runs: the applier's long multi-row INSERTs were rewritten again each turn."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's placeholders")
    from django.db.backends.sqlite3 import base as django_sqlite

    from cherish.core.backends.sqlite3 import base as cherish_sqlite

    pattern = django_sqlite.FORMAT_QMARK_REGEX
    rewrites: list[str] = []

    class Counting:
        def sub(self, repl: str, query: str) -> str:
            rewrites.append(query)
            return pattern.sub(repl, query)

    monkeypatch.setattr(django_sqlite, "FORMAT_QMARK_REGEX", Counting())
    monkeypatch.setattr(cherish_sqlite, "_qmark", {}, raising=False)
    query = "SELECT %s, '100%%', %s -- statement preparation test"
    # when the same statement runs three times with other values
    with connection.cursor() as cursor:
        answers = []
        for n in range(3):
            cursor.execute(query, [n, f"v{n}"])
            answers.append(cursor.fetchone())
    # then each run had its own values, and the statement was rewritten once
    assert answers == [(0, "100%", "v0"), (1, "100%", "v1"), (2, "100%", "v2")]
    assert rewrites.count(query) == 1


def test_rows_sharing_one_time_get_it_adapted_once_and_stored_exactly(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch's rows carry one "now" in several columns each (the intake applier's cases,
    messages, jobs): the database's form of it is made once per statement."""
    at = now().replace(microsecond=123456)
    later = at + dt.timedelta(seconds=5)
    adapt = connection.ops.adapt_datetimefield_value
    adapted: list[Any] = []

    def counting(value: Any) -> Any:
        adapted.append(value)
        return adapt(value)

    monkeypatch.setattr(connection.ops, "adapt_datetimefield_value", counting)
    jobs = [
        Job(id=uuid.uuid4(), key=f"prep-{n}", steps=["x"], args=[n], due_at=at, created_at=at)
        for n in range(3)
    ]
    jobs.append(Job(id=uuid.uuid4(), key="prep-3", steps=["x"], due_at=later, created_at=at))
    # when the four jobs are inserted with one statement
    with transaction.atomic():
        RowInsert(Job).add(jobs)
    # then each column adapted each run of one time object once, and stored it as given
    assert len(adapted) == 3  # due_at: two times; created_at: one (each was 4)
    stored = {job.key: (job.due_at, job.created_at, job.args) for job in Job.objects.all()}
    assert stored == {
        "prep-0": (at, at, [0]),
        "prep-1": (at, at, [1]),
        "prep-2": (at, at, [2]),
        "prep-3": (later, at, []),
    }


def test_json_values_are_written_as_the_orm_writes_them(db: Any) -> None:
    """RowInsert writes JSON columns itself on SQLite (issue #14: the applier's CPU): the
    stored text must be the ORM's, so lookups into it and reads of it behave the same."""
    from cherish.intake.models import RawContact, RawStatus

    at = now()
    values = [
        ({"name": "Zoë Ærø", "items": [1, 2.5, None, True], "nested": {"a": []}}, None),
        ([], {"text": 'quote " and \\ backslash', "emoji": "\U0001f600"}),
    ]

    def raw(payload: Any, contact: Any, sender: str) -> RawContact:
        return RawContact(
            channel="api",
            received_at=at,
            payload=payload,
            sender=sender,
            status=RawStatus.QUEUED,
            contact=contact,
        )

    # when the same values are stored by RowInsert and by the ORM
    with transaction.atomic():
        RowInsert(RawContact).add([raw(p, c, f"rows-{n}") for n, (p, c) in enumerate(values)])
        for n, (p, c) in enumerate(values):
            raw(p, c, f"orm-{n}").save()
    # then the columns hold the same text (SQL NULL for None) and read back the same
    with connection.cursor() as cursor:
        cursor.execute("SELECT sender, payload, contact FROM intake_rawcontact ORDER BY sender")
        stored = {sender: (payload, contact) for sender, payload, contact in cursor.fetchall()}
    for n in range(len(values)):
        assert stored[f"rows-{n}"] == stored[f"orm-{n}"]
    assert stored["rows-0"][1] is None
    read = {r.sender: (r.payload, r.contact) for r in RawContact.objects.all()}
    for n, expected in enumerate(values):
        assert read[f"rows-{n}"] == read[f"orm-{n}"] == expected
