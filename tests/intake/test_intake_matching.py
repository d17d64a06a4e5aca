"""Who an inbound contact belongs to: external id, then email (one lookup for both contact
points); a phone only suggests a duplicate. Which new contact points are added."""

from __future__ import annotations

from typing import Any

from cherish.customers.actions import find_or_create_customer, match_customer
from cherish.customers.models import ContactPoint, Customer, PossibleDuplicate


def _points(customer: Customer) -> set[tuple[str, str]]:
    return set(ContactPoint.objects.filter(customer=customer).values_list("kind", "value"))


def test_email_match_adds_the_new_phone(db: Any) -> None:
    # given a customer known by email
    ann, _ = find_or_create_customer(name="Ann", email="ann@example.com")

    # when she writes again with a phone number too
    found, created = find_or_create_customer(email="ANN@example.com", phone="07700 900123")

    # then it is her, and the phone now finds her as well
    assert (found, created) == (ann, False)
    assert _points(ann) == {("email", "ann@example.com"), ("phone", "+447700900123")}


def test_phone_match_never_joins_a_new_email_to_the_phone_holder(db: Any) -> None:
    # given a customer known only by phone
    bob, _ = find_or_create_customer(name="Bob", phone="07700 900456")

    # when a contact brings a new email and that phone
    match = match_customer(name="Rob", email="rob@example.com", phone="+44 7700 900456")

    # then a new customer holds the email, Bob keeps his phone and name, staff get the pair
    assert match.created and match.customer != bob
    assert match.reply_to == "rob@example.com"
    assert _points(match.customer) == {("email", "rob@example.com")}
    bob.refresh_from_db()
    assert (bob.name, _points(bob)) == ("Bob", {("phone", "+447700900456")})
    pair = PossibleDuplicate.objects.get()
    assert (pair.first_id, pair.second_id) == (bob.pk, match.customer.pk)
    assert (pair.reasons, pair.status) == (["same_phone"], "open")
    assert match.possible_duplicates == (pair,)


def test_email_wins_and_a_phone_of_someone_else_stays_theirs(db: Any) -> None:
    # given Ann (email) and Bob (phone)
    ann, _ = find_or_create_customer(name="Ann", email="ann@example.com")
    bob, _ = find_or_create_customer(name="Bob", phone="07700 900456")

    # when a contact brings Ann's email and Bob's phone
    found, created = find_or_create_customer(email="ann@example.com", phone="07700 900456")

    # then it is Ann, and Bob keeps his phone
    assert (found, created) == (ann, False)
    assert _points(ann) == {("email", "ann@example.com")}
    assert _points(bob) == {("phone", "+447700900456")}


def test_external_id_wins_over_an_email_of_someone_else(db: Any) -> None:
    # given a customer with an external id and another with an email
    dan, _ = find_or_create_customer(name="Dan", external_id="X-1")
    eve, _ = find_or_create_customer(name="Eve", email="eve@example.com")

    # when a contact brings Dan's id and Eve's email
    found, created = find_or_create_customer(external_id="X-1", email="eve@example.com")

    # then it is Dan; the email stays Eve's
    assert (found, created) == (dan, False)
    assert _points(dan) == set()
    assert _points(eve) == {("email", "eve@example.com")}


def test_a_merged_customer_leads_to_the_one_kept(db: Any) -> None:
    # given Fay, merged into Gus
    fay, _ = find_or_create_customer(name="Fay", email="fay@example.com")
    gus, _ = find_or_create_customer(name="Gus", email="gus@example.com")
    Customer.objects.filter(pk=fay.pk).update(merged_into=gus)

    # when a contact brings Fay's email and a new phone
    found, created = find_or_create_customer(email="fay@example.com", phone="07700 900789")

    # then it is Gus, who gets the new phone; Fay's email is not moved
    assert (found, created) == (gus, False)
    assert _points(gus) == {("email", "gus@example.com"), ("phone", "+447700900789")}
    assert _points(fay) == {("email", "fay@example.com")}


def test_nobody_known_creates_one_customer_with_both_points(db: Any) -> None:
    # when a stranger writes with email and phone
    found, created = find_or_create_customer(
        name="Hal", email="hal@example.com", phone="07700 900999"
    )

    # then one new customer holds both
    assert created
    assert _points(found) == {("email", "hal@example.com"), ("phone", "+447700900999")}
