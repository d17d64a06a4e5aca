"""Identity matching over every combination of email, phone and name (property-based).

The rule (issue #9, defect 5): a weak match — a phone number or a name another record
also has — never joins a contact to that record and never sends mail anywhere but the
address the contact came from; a possible duplicate is offered to staff instead.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from cherish.customers.actions import find_or_create_customer, match_customer
from cherish.customers.models import ContactPoint, Customer, PossibleDuplicate
from cherish.customers.normalise import normalise_email, normalise_phone

# name, email, phone of the people already known (None: they never gave one)
KNOWN = [
    ("Ann Able", "ann@example.com", "+447700900001"),
    ("Bob Baker", "bob@example.com", "+447700900002"),
    ("Cy Cole", None, "+447700900003"),
    ("Di Dee", "di@example.com", None),
]
emails = st.sampled_from(
    ["", "ann@example.com", "BOB@Example.com", "di@example.com", "new@example.com", "not-mail"]
)
phones = st.sampled_from(
    ["", "07700 900001", "+44 7700 900002", "07700900003", "07700 900999", "12"]
)
names = st.sampled_from(["", "Ann Able", "Bob Baker", "Cy Cole", "Newt New"])


def _snapshot() -> dict[int, tuple[str, set[tuple[str, str]]]]:
    points: dict[int, set[tuple[str, str]]] = {}
    for cid, kind, value in ContactPoint.objects.values_list("customer_id", "kind", "value"):
        points.setdefault(cid, set()).add((kind, value))
    return {c.pk: (c.name, points.get(c.pk, set())) for c in Customer.objects.all()}


def _holder(kind: str, value: str | None) -> int | None:
    if not value:
        return None
    point = ContactPoint.objects.filter(kind=kind, value=value).first()
    return point.customer_id if point else None


@hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(email=emails, phone=phones, name=names)
def test_only_the_email_identifies_and_mail_goes_only_where_the_contact_came_from(
    db: Any, email: str, phone: str, name: str
) -> None:
    with transaction.atomic():
        # given the people we know
        for known_name, known_email, known_phone in KNOWN:
            find_or_create_customer(
                name=known_name, email=known_email or "", phone=known_phone or ""
            )
        before = _snapshot()
        email_n = normalise_email(email) if email else None
        phone_n = normalise_phone(phone) if phone else None
        email_holder = _holder("email", email_n)
        phone_holder = _holder("phone", phone_n)

        # when a contact arrives with this email, phone and name
        match = match_customer(name=name, email=email, phone=phone)

        # then only the exact email finds an existing customer; nothing else does
        if email_holder is not None:
            assert (match.customer.pk, match.created) == (email_holder, False)
        else:
            assert match.created
            assert match.customer.pk not in before
        # mail about this contact goes to the address it came from, never to another one
        assert match.reply_to == (email_n or "")
        # nobody else's record changed: no name, no email, no phone moved or added
        after = _snapshot()
        for pk, state in before.items():
            if pk != match.customer.pk:
                assert after[pk] == state
        # a phone someone else holds stays theirs, and staff are asked about the pair
        if phone_holder is not None and phone_holder != match.customer.pk:
            assert _holder("phone", phone_n) == phone_holder
            pair = PossibleDuplicate.objects.get(
                first_id=min(phone_holder, match.customer.pk),
                second_id=max(phone_holder, match.customer.pk),
            )
            assert pair.status == "open" and "same_phone" in pair.reasons
        else:
            assert not PossibleDuplicate.objects.exists()
        # what the contact gave and nobody held is now the customer's
        if email_n and email_holder is None:
            assert _holder("email", email_n) == match.customer.pk
        if phone_n and phone_holder is None:
            assert _holder("phone", phone_n) == match.customer.pk
        transaction.set_rollback(True)


@hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=names, phone=phones, external_id=st.sampled_from(["", "X-1", "X-2"]))
def test_an_external_id_or_a_picked_customer_is_strong_a_name_never_is(
    db: Any, name: str, phone: str, external_id: str
) -> None:
    with transaction.atomic():
        # given Ann with an external id, Bob picked by staff
        ann, _ = find_or_create_customer(name="Ann Able", external_id="X-1", phone="07700900001")
        bob, _ = find_or_create_customer(name="Bob Baker", email="bob@example.com")

        # when a contact names Ann without any identifier, and one staff logged for Bob
        anonymous = match_customer(name=name, phone=phone, external_id=external_id)
        picked = match_customer(name=name, phone=phone, customer_id=bob.pk)

        # then the external id alone finds Ann; a name or phone never does
        if external_id == "X-1":
            assert anonymous.customer == ann and not anonymous.created
        else:
            assert anonymous.created and anonymous.customer != ann
        assert picked.customer == bob and not picked.created
        assert anonymous.reply_to == picked.reply_to == ""
        ann.refresh_from_db()
        bob.refresh_from_db()
        assert (ann.name, bob.name) == ("Ann Able", "Bob Baker")
        transaction.set_rollback(True)


def test_an_erased_record_is_never_matched_again(db: Any) -> None:
    # given a customer merged into one who was later erased
    ann, _ = find_or_create_customer(name="Ann", email="ann@example.com", external_id="A-1")
    Customer.objects.filter(pk=ann.pk).update(erased_at="2024-01-01T00:00:00Z")

    # when a contact brings her external id and email again
    match = match_customer(name="Ann", email="ann@example.com", external_id="A-1")

    # then a new record starts; the tombstone gets nothing
    assert match.created and match.customer != ann
    assert match.reply_to == "ann@example.com"
    assert ContactPoint.objects.filter(customer=ann).count() == 1


def test_a_batch_of_new_customers_is_written_beside_the_generated_month_day_key(db):
    """The batch path writes customers with a prepared INSERT of every column; the month-day
    key (since_md) is a generated column the database refuses a value for."""
    from cherish.customers.actions import match_customers

    # when
    with transaction.atomic():
        [first, second] = match_customers(
            [("New One", "one@example.com", ""), ("New Two", "two@example.com", "")]
        )
    # then
    assert first.created and second.created
    Customer.objects.filter(pk=first.customer.pk).update(customer_since="2019-03-07")
    assert Customer.objects.get(pk=first.customer.pk).since_md == 307
    assert Customer.objects.get(pk=second.customer.pk).since_md is None
