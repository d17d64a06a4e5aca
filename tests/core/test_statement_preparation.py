"""What a statement costs before the database sees it (issue #14: the intake applier's CPU)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.db import connection, transaction

from cherish.core.clock import now
from cherish.core.models import Job
from cherish.core.rows import Maker, RowInsert


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
    # An empty memory, its bound too: the tests before this one may have filled it.
    monkeypatch.setattr(cherish_sqlite, "_qmark", {}, raising=False)
    monkeypatch.setattr(cherish_sqlite, "_qmark_chars", 0, raising=False)
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


def _fields(obj: Any) -> dict[str, Any]:
    return {
        field.attname: getattr(obj, field.attname)
        for field in obj._meta.concrete_fields
        if not field.generated
    }


def test_a_maker_makes_the_instance_the_models_own_init_makes(agent: Any) -> None:
    """core.rows.Maker builds a batch's unsaved rows without Model.__init__ (issue #14: seven
    instances a complaint were a tenth of the intake applier's CPU): every column's value,
    the defaults made fresh for each instance, the relations set and cached, the state of
    an unsaved instance, and the row it inserts, are those of ``Model(**values)``."""
    from cherish.cases.models import Case, Message
    from cherish.customers.models import ContactPoint, Customer
    from cherish.intake.models import RawContact, RawStatus

    at = now()
    customer = Customer.objects.create(name="Zoë Maker")
    shapes: list[tuple[Any, dict[str, Any]]] = [
        (Customer, {"name": "Ada", "external_id": None}),
        (ContactPoint, {"customer": customer, "kind": "email", "value": "ada@example.com"}),
        (
            Case,
            {
                "reference": "CH-MAKER1",
                "customer": customer,
                "kind": "complaint",
                "channel": "api",
                "owner": agent,
                "team": agent.team,
                "created_at": at,
                "updated_at": at,
                "message_count": 1,
            },
        ),
        (RawContact, {"channel": "api", "received_at": at, "status": RawStatus.QUEUED}),
        (Job, {"key": "maker", "steps": ["a"], "args": [1], "due_at": at, "created_at": at}),
    ]
    for model, values in shapes:
        made, own = Maker(model)(**values), model(**values)
        assert type(made) is model
        # a default made by a function (a new UUID) is made for each: of the same kind
        drawn = {
            field.attname
            for field in model._meta.concrete_fields
            if field.has_default()
            and callable(field.default)
            and field.default not in (list, dict)
            and field.attname not in values
        }
        assert {k: v for k, v in _fields(made).items() if k not in drawn} == {
            k: v for k, v in _fields(own).items() if k not in drawn
        }
        for name in drawn:
            assert type(getattr(made, name)) is type(getattr(own, name))
            assert getattr(made, name) != getattr(Maker(model)(**values), name)
        assert made._state.adding and made._state.db is None
        for name, value in values.items():
            assert getattr(made, name) is value
    # the defaults that are lists or dictionaries are each instance's own
    first, second = Maker(Case)(reference="CH-MAKER2"), Maker(Case)(reference="CH-MAKER3")
    assert first.badges == second.badges and first.badges is not second.badges
    # a relation given unsaved is the same object once saved, as with __init__
    new_customer = Maker(Customer)(name="Unsaved", external_id=None)
    point = Maker(ContactPoint)(customer=new_customer, kind="email", value="u@example.com")
    assert point.customer_id is None and point.customer is new_customer
    # and what a maker made inserts the row the ORM inserts
    case = Maker(Case)(**dict(shapes[2][1]))
    with transaction.atomic():
        RowInsert(Case).add([case])
        RowInsert(Message).add(
            [Maker(Message)(case=case, direction="in", channel="api", body_text="x", created_at=at)]
        )
    stored = Case.objects.get(pk=case.pk)
    assert _fields(stored) == {**_fields(Case(**shapes[2][1])), "id": case.pk}
    assert stored.messages.get().body_text == "x"


def test_a_maker_leaves_what_it_cannot_vouch_for_to_the_models_init(db: Any) -> None:
    """A name that is not a field is refused as __init__ refuses it, and a model with
    post_init receivers is made by __init__, so they run."""
    from django.db.models.signals import post_init

    with pytest.raises(TypeError, match="unexpected keyword"):
        Maker(Job)(key="x", no_such_field=1)
    seen: list[Any] = []

    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        seen.append(instance)

    post_init.connect(receiver, sender=Job)
    try:
        job = Maker(Job)(key="signalled", steps=[], args=[])
    finally:
        post_init.disconnect(receiver, sender=Job)
    assert seen == [job]
