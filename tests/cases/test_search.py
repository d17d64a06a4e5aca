"""Desk search: the cheap exact paths first, full text kept in step with the data."""

from __future__ import annotations

import pytest
from django.db import connection

from cherish.cases import actions, search
from cherish.cases.models import Case, Message
from cherish.customers.actions import find_or_create_customer
from cherish.customers.models import Customer


def found(query):
    matches = search.case_filter(query)
    assert matches is not None
    return set(Case.objects.filter(matches).values_list("reference", flat=True))


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        ("CH-7K2QX9", "reference", "CH-7K2QX9"),
        ("7k2qx9", "reference", "CH-7K2QX9"),
        ("  ch 7k2qx9 ", "reference", "CH-7K2QX9"),
        ("Dana@Example.com", "email", "dana@example.com"),
        ("+44 20 7946 0018", "phone", "+442079460018"),
        ("020 7946 0018", "phone", "+442079460018"),
        ("broken parcel", "words", "broken parcel"),
        ("", "empty", ""),
    ],
)
def test_parse_query_picks_the_cheapest_path(raw, kind, value):
    parsed = search.parse_query(raw)
    assert (parsed.kind, parsed.value) == (kind, value)


def test_nothing_typed_means_no_filter(db):
    assert search.case_filter("   ") is None


def test_reference_shaped_word_falls_back_to_words(complaint, customer):
    # given: "DAMAGE" reads as a reference but no case has it
    case, _ = actions.open_case(customer, text="Water damage in the hallway.")
    # then
    assert found("damage") == {case.reference}


def test_words_match_stems_and_all_terms(complaint, customer):
    other, _ = actions.open_case(customer, text="The parcel was fine, the invoice is wrong.")
    assert found("parcels") == {complaint.reference, other.reference}
    assert found("parcel broken") == {complaint.reference}
    assert found("nobody answered") == {complaint.reference}


def test_name_prefix_matches_any_word_of_the_name(complaint):
    assert found("carl") == {complaint.reference}
    assert found("custo") == {complaint.reference}
    assert found("carla customer") == {complaint.reference}
    assert found("zed") == set()


def test_query_syntax_is_not_interpreted(complaint):
    for hostile in ['"', "parcel OR", "NEAR(a b)", "a* ^b", "'; DROP TABLE x; --", "-:*&|!"]:
        search.case_filter(hostile)  # must not raise


def test_index_follows_new_edited_and_erased_text(complaint, customer, agent):
    # given
    assert found("parcel") == {complaint.reference}
    # when: a new message arrives
    actions.add_inbound_message(complaint, text="Also the lamp flickers.", channel="web")
    # then
    assert found("lamp") == {complaint.reference}
    # when: an erasure anonymises message text and the name in place
    Message.objects.filter(case=complaint).update(body_text="[erased]")
    Customer.objects.filter(pk=customer.pk).update(name="[erased]")
    # then
    assert found("parcel") == set()
    assert found("lamp") == set()
    assert found("carla") == set()


def test_email_and_phone_find_all_the_customers_cases(complaint, customer):
    second, _ = actions.open_case(customer, text="Another question.")
    stranger, _ = find_or_create_customer(name="Carla Other", email="other@example.com")
    actions.open_case(stranger, text="Mine is different.")
    assert found("CARLA@example.com") == {complaint.reference, second.reference}
    assert found("+442079460018") == {complaint.reference, second.reference}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="FTS5 triggers are SQLite-only")
def test_missing_trigger_is_recreated_and_index_rebuilt(complaint):
    # given: the schema exists, then a trigger is lost (a table rebuild by a migration)
    search.ensure_search_schema()
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER cases_message_fts_ai")
    actions.add_inbound_message(complaint, text="Unindexed zebra words.", channel="web")
    # when
    created = search.ensure_search_schema()
    # then
    assert created is True
    assert found("zebra") == {complaint.reference}
    assert search.ensure_search_schema() is False


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="GIN indexes are PostgreSQL-only")
def test_postgres_indexes_are_built_outside_transactions(transactional_db, customer):
    # given
    case, _ = actions.open_case(customer, text="The kettle leaks.")
    # when
    search.ensure_search_schema()
    # then
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexname = ANY(%s)",
            [list(search.POSTGRES_SCHEMA)],
        )
        assert cursor.fetchone()[0] == 2
    assert found("kettle") == {case.reference}
    assert search.ensure_search_schema() is False
