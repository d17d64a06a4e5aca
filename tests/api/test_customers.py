"""Customers through the API: create, find by id, email or external id, and update."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from tests.api.conftest import assert_problem, patch_json, post_json

from cherish.customers.models import ContactPoint, Customer, CustomerEvent, LeaveReason


def test_creating_a_customer(api: Client) -> None:
    response = post_json(
        api,
        "/api/v1/customers",
        {
            "name": "Erin Example",
            "email": "Erin@Example.com",
            "phone": "020 7946 0999",
            "external_id": "crm-77",
            "language": "en",
        },
    )
    assert response.status_code == 201
    body = response.json()
    customer = Customer.objects.get()
    assert body["id"] == str(customer.pk)
    assert body["emails"] == ["erin@example.com"]
    assert body["phones"] == ["+442079460999"]
    assert (body["external_id"], body["status"], body["language"]) == ("crm-77", "active", "en")
    assert CustomerEvent.objects.filter(customer=customer, type="customer.created").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "CARLA@example.com"}, "email"),
        ({"phone": "+44 20 7946 0018"}, "phone"),
        ({"external_id": "crm-carla", "email": "new@example.com"}, "external_id"),
    ],
)
def test_creating_a_customer_who_exists_is_409_with_their_id(
    api: Client, customer: Customer, body: dict[str, str], field: str
) -> None:
    Customer.objects.filter(pk=customer.pk).update(external_id="crm-carla")
    response = post_json(api, "/api/v1/customers", body)
    problem = assert_problem(response, 409, "customer_exists")
    assert problem["customer_id"] == str(customer.pk)
    assert problem["errors"][0]["field"] == field
    assert Customer.objects.count() == 1
    assert not ContactPoint.objects.filter(value="new@example.com").exists()


def test_a_customer_needs_a_way_to_be_found(api: Client) -> None:
    response = post_json(api, "/api/v1/customers", {"name": "Anonymous"})
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["field"] == "body"
    assert not Customer.objects.exists()


def test_reading_a_customer_by_id_email_and_external_id(api: Client, customer: Customer) -> None:
    Customer.objects.filter(pk=customer.pk).update(external_id="crm-carla")
    for url in (
        f"/api/v1/customers/{customer.pk}",
        "/api/v1/customers/by-email/Carla@Example.com",
        "/api/v1/customers/by-external-id/crm-carla",
    ):
        response = api.get(url)
        assert response.status_code == 200, url
        assert response.json()["id"] == str(customer.pk)
        assert response.json()["emails"] == ["carla@example.com"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/customers/999999",
        "/api/v1/customers/abc",
        "/api/v1/customers/99999999999999999999999",
        "/api/v1/customers/by-email/nobody@example.com",
        "/api/v1/customers/by-email/not-an-email",
        "/api/v1/customers/by-external-id/none",
    ],
)
def test_unknown_customers_are_404(api: Client, customer: Customer, url: str) -> None:
    assert_problem(api.get(url), 404, "not_found")


def test_updating_a_customer_changes_only_what_was_sent(api: Client, customer: Customer) -> None:
    response = patch_json(
        api,
        f"/api/v1/customers/{customer.pk}",
        {
            "language": "de",
            "external_id": "crm-1",
            "add_emails": ["carla.work@example.com"],
            "add_phones": ["+49 30 901820"],
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Carla Customer"
    assert body["language"] == "de"
    assert body["external_id"] == "crm-1"
    assert sorted(body["emails"]) == ["carla.work@example.com", "carla@example.com"]
    assert "+493090182" + "0" in body["phones"]


def test_a_customer_leaves_only_with_a_reason(api: Client, customer: Customer) -> None:
    url = f"/api/v1/customers/{customer.pk}"
    refused = patch_json(api, url, {"status": "left"})
    assert_problem(refused, 400, "leave_reason_required")
    customer.refresh_from_db()
    assert customer.status == "active"
    response = patch_json(api, url, {"status": "left", "leave_reason": "moved_away"})
    assert response.json()["status"] == "left"
    assert LeaveReason.objects.get(customer=customer).reason == "moved_away"


def test_adding_someone_elses_email_is_409_and_changes_nothing(
    api: Client, customer: Customer
) -> None:
    other = Customer.objects.create(name="Other")
    ContactPoint.objects.create(customer=other, kind="email", value="other@example.com")
    response = patch_json(
        api,
        f"/api/v1/customers/{customer.pk}",
        {"name": "Carla C.", "add_emails": ["other@example.com"]},
    )
    problem = assert_problem(response, 409, "customer_exists")
    assert problem["customer_id"] == str(other.pk)
    assert problem["errors"][0]["field"] == "add_emails"
    customer.refresh_from_db()
    assert customer.name == "Carla Customer"


def test_patch_validation_errors(api: Client, customer: Customer) -> None:
    response = patch_json(
        api, f"/api/v1/customers/{customer.pk}", {"status": "gone", "add_emails": ["x"]}
    )
    problem = assert_problem(response, 422, "validation_error")
    assert {e["field"] for e in problem["errors"]} == {"status", "add_emails"}


def test_customers_need_a_key(db: Any) -> None:
    assert_problem(Client().get("/api/v1/customers/1"), 401, "not_authenticated")
