"""Tenure the customer states: read by the engine, kept on the case, shown next to our records."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template

from cherish.cases import actions as case_actions
from cherish.cases.models import Case
from cherish.triage.engine import Triager
from cherish.triage.tasks import triage_message


@pytest.fixture(scope="module")
def triager() -> Triager:
    return Triager.load()


@pytest.mark.parametrize(
    ("text", "years", "since"),
    [
        ("I have been loyal for eight years and this is how you treat me?", 8, None),
        ("I've been with you 10 years.", 10, None),
        ("Customer since 2015 and never had this before.", None, 2015),
        ("A loyal customer of yours for over 20 years!", 20, None),
        ("You just lost a twenty-one-year customer.", 21, None),
        ("For 12 years I have banked with you without a problem.", 12, None),
        ("Two decades as a customer and you treat me like this.", 20, None),
        ("Je suis client depuis 12 ans.", 12, None),
        ("Ich bin seit 7 Jahren Kunde bei Ihnen.", 7, None),
        ("Soy cliente desde 2009.", None, 2009),
    ],
)
def test_stated_tenure_is_read(triager, text, years, since):
    claim = triager.triage(text).stated_tenure
    assert claim is not None
    assert (claim["years"], claim["since_year"]) == (years, since)


@pytest.mark.parametrize(
    "text",
    [
        "My order is eight days late.",
        "I have waited 10 years for a product like this.",
        "Since 2015 I have complained three times.",
        "I am not a customer since 2015, please stop writing.",
    ],
)
def test_no_tenure_claim_in_other_numbers(triager, text):
    assert triager.triage(text).stated_tenure is None


def _facts(case: Case) -> str:
    return Template("{% load customer_panels %}{% customer_key_facts case %}").render(
        Context({"case": case})
    )


def test_key_facts_show_the_claim_instead_of_new_customer(agent, customer):
    # given: no purchase and no "customer since" on record
    case, message = case_actions.open_case(
        customer, text="I have been loyal for eight years and the kettle broke again."
    )
    assert "New customer" in _facts(case)
    # when
    triage_message(message.pk)
    case.refresh_from_db()
    # then
    html = _facts(case)
    assert "New customer" not in html
    assert "Says: customer for 8 years" in html
    assert "“loyal for eight years”" in html and "no record of when they joined" in html
    assert case.signals["stated_tenure"]["message_id"] == message.pk


def test_claim_since_a_year_counts_from_the_message_date(agent, customer):
    case, message = case_actions.open_case(customer, text="Customer since 2015, never again.")
    triage_message(message.pk)
    case.refresh_from_db()
    years = message.created_at.year - 2015
    assert case.signals["stated_tenure"]["years"] == years
    assert f"Says: customer for {years} years" in _facts(case)


def test_recorded_tenure_is_kept_and_a_longer_claim_is_shown_beside_it(agent, customer):
    customer.customer_since = dt.date.today() - dt.timedelta(days=3 * 366)
    customer.save(update_fields=["customer_since"])
    case, message = case_actions.open_case(customer, text="I've been with you 10 years.")
    triage_message(message.pk)
    case.refresh_from_db()
    html = _facts(case)
    assert "Says: customer for 10 years" in html
    assert "our records: Customer for 3 years" in html
    customer.refresh_from_db()
    assert customer.customer_since == dt.date.today() - dt.timedelta(days=3 * 366)


def test_shorter_claim_than_our_records_shows_our_records(agent, customer):
    customer.customer_since = dt.date.today() - dt.timedelta(days=12 * 366)
    customer.save(update_fields=["customer_since"])
    case, message = case_actions.open_case(customer, text="I've been with you 10 years.")
    triage_message(message.pk)
    case.refresh_from_db()
    html = _facts(case)
    assert "Customer for 12 years" in html and "Says:" not in html
