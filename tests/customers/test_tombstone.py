"""Defect 6 of issue #9: an erased customer is a tombstone. Nothing refills it, and the
same person writing again starts a new customer who is answered like anyone else."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from django.test import Client

from cherish.care.acknowledgement import send_acknowledgement
from cherish.cases.models import Case
from cherish.cases.outgoing import portal_url
from cherish.customers.models import ContactPoint, Customer, CustomerEvent
from cherish.intake.actions import Contact, accept_contact
from cherish.intake.apikeys import create_api_key
from cherish.outbox.models import OutgoingEmail
from cherish.privacy import erase_customer
from cherish.staff.principal import KeyScope


def _api() -> Client:
    _, key = create_api_key("webshop", scopes=list(KeyScope))
    return Client(headers={"Authorization": f"Bearer {key}"})


def test_patch_refuses_an_erased_customer_and_writes_nothing(customer, agent):
    # given an erased customer
    erase_customer(customer, by=agent)
    events_before = CustomerEvent.objects.count()

    # when an integration tries to fill the record again
    response = _api().patch(
        f"/api/v1/customers/{customer.pk}",
        json.dumps(
            {"name": "Carla Again", "add_emails": ["carla@example.com"], "status": "active"}
        ),
        content_type="application/json",
    )

    # then it is refused as not found, and nothing was written
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "customer_erased"
    customer.refresh_from_db()
    assert customer.name == "[erased]"
    assert not ContactPoint.objects.exists()
    assert CustomerEvent.objects.count() == events_before


def test_a_new_contact_from_an_erased_address_starts_a_new_customer(customer, agent, client):
    # given Carla, erased on her request
    erase_customer(customer, by=agent)

    # when she writes again from the same address, even with an attempted PATCH before
    _api().patch(
        f"/api/v1/customers/{customer.pk}",
        json.dumps({"add_emails": ["carla@example.com"]}),
        content_type="application/json",
    )
    result = accept_contact(
        Contact(
            channel="web",
            text="I am back: the replacement kettle also leaks.",
            name="Carla",
            email="carla@example.com",
        )
    )

    # then a new customer holds her address, she is acknowledged, and her page works
    assert result.customer.pk != customer.pk
    assert result.customer.erased_at is None and not result.customer.opted_out
    assert ContactPoint.objects.get().customer_id == result.customer.pk
    assert send_acknowledgement(result.message.pk) is not None
    assert list(OutgoingEmail.objects.values_list("to_address", flat=True)) == ["carla@example.com"]
    case = Case.objects.get(pk=result.case.pk)
    page = client.get(urlsplit(portal_url(case)).path, follow=True)
    assert page.status_code == 200
    assert "the replacement kettle also leaks" in page.content.decode()
    assert Customer.objects.get(pk=customer.pk).name == "[erased]"
