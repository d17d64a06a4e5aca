import pytest
from ninja.testing import TestClient

from cherish.customers.actions import find_or_create_customer
from cherish.customers.api_transactions import router
from cherish.customers.models import Transaction

client = TestClient(router)


def test_post_one_then_batch_idempotent_and_list(customer):
    # given
    other, _ = find_or_create_customer(name="Olaf", external_id="EXT-9")
    one = {
        "external_id": "A-1",
        "kind": "order",
        "occurred_at": "2025-01-02T10:00:00Z",
        "amount": "19.99",
        "customer_email": "CARLA@example.com",
    }
    # when
    first = client.post("/transactions", json=one)
    batch = client.post(
        "/transactions",
        json={
            "transactions": [
                one,
                {
                    "external_id": "A-2",
                    "kind": "delivery",
                    "occurred_at": "2025-01-03T10:00:00Z",
                    "customer_external_id": "EXT-9",
                },
                {
                    "external_id": "A-3",
                    "kind": "order",
                    "occurred_at": "2025-01-03T10:00:00Z",
                    "customer_id": str(customer.pk),
                },
                {
                    "external_id": "A-4",
                    "kind": "order",
                    "occurred_at": "2025-01-03T10:00:00Z",
                    "customer_email": "stranger@example.com",
                },
            ]
        },
    )
    # then
    assert first.status_code == 200 and first.json() == {"stored": 1, "rejected": []}
    assert batch.json() == {
        "stored": 3,
        "rejected": [{"index": 3, "external_id": "A-4", "reason": "unknown customer"}],
    }
    assert Transaction.objects.count() == 3
    assert Transaction.objects.get(external_id="A-2").customer == other
    listed = client.get(f"/transactions?customer_id={customer.pk}").json()
    assert [t["external_id"] for t in listed] == ["A-3", "A-1"]
    assert listed[1]["amount"] in ("19.99", 19.99)


def test_invalid_kind_refused(customer):
    response = client.post(
        "/transactions",
        json={
            "external_id": "X",
            "kind": "spaceship",
            "occurred_at": "2025-01-02",
            "customer_id": str(customer.pk),
        },
    )
    assert response.status_code == 422
    assert not Transaction.objects.exists()


def test_mounted_under_api_v1_needs_a_key(db):
    from django.test import Client

    from cherish.api import api

    if not any("transactions" in str(pattern.pattern) for pattern in api.urls[0]):
        pytest.skip("customers.api_transactions.router is not mounted in cherish/api.py yet")
    response = Client().post("/api/v1/transactions", "{}", content_type="application/json")
    assert response.status_code == 401
