"""Issue #9 defect 4: roles enforced at the desk, every refusal in the audit log.

Erase and merge need a lead (a lead erasing is the lead's approval) or a manager; export
needs a manager or the data-protection role; settings (the admin site) need an
administrator. Refusals answer 403 and leave the customer as they were.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cherish.customers.actions import find_or_create_customer
from cherish.customers.models import Customer, CustomerEvent
from cherish.staff.actions import create_staff
from cherish.staff.models import AuditEntry, Role
from tests.conftest import PASSWORD, login


@pytest.fixture
def dpo(care_team):
    return create_staff(
        username="dora",
        password=PASSWORD,
        display_name="Dora DPO",
        team=care_team,
        data_protection=True,
    )


@pytest.fixture
def twin(complaint):
    from cherish.cases import actions as case_actions

    other, _ = find_or_create_customer(name="Carla Customer", email="carla.c@example.com")
    case_actions.open_case(other, text="Where is my parcel?", channel="web")
    return other


def _refusals():
    return list(
        AuditEntry.objects.filter(outcome="refused").values_list("action", "actor__display_name")
    )


def _erase(client, customer):
    return client.post(reverse("outreach:erase", args=[customer.pk]), {"confirm": "ERASE"})


def _export(client, customer):
    return client.post(reverse("outreach:export", args=[customer.pk]))


def _merge(client, survivor, duplicate):
    return client.post(
        reverse("outreach:merge"), {"survivor": survivor.pk, "duplicate": duplicate.pk}
    )


def test_an_agent_may_not_erase_merge_or_export(client, complaint, agent, twin):
    customer = complaint.customer
    login(client, agent)
    # when
    answers = [
        _erase(client, customer).status_code,
        _export(client, customer).status_code,
        _merge(client, customer, twin).status_code,
    ]
    # then
    assert answers == [403, 403, 403]
    customer.refresh_from_db()
    twin.refresh_from_db()
    assert (customer.erased_at, customer.name, twin.merged_into_id) == (
        None,
        "Carla Customer",
        None,
    )
    assert not CustomerEvent.objects.filter(
        type__in=["customer.erased", "customer.exported", "customer.merged"]
    ).exists()
    assert _refusals() == [
        ("desk.merge_not_allowed", "Alice Agent"),
        ("desk.export_not_allowed", "Alice Agent"),
        ("desk.erase_not_allowed", "Alice Agent"),
    ]


def test_a_lead_erases_and_merges_but_does_not_export(client, complaint, lead, twin):
    customer = complaint.customer
    login(client, lead)
    assert _merge(client, customer, twin).status_code == 302
    assert _export(client, customer).status_code == 403
    assert _erase(client, customer).status_code == 302
    customer.refresh_from_db()
    assert customer.erased_at is not None
    assert Customer.objects.get(pk=twin.pk).merged_into_id == customer.pk
    assert _refusals() == [("desk.export_not_allowed", "Lena Lead")]


@pytest.mark.parametrize("who", ["manager", "dpo"])
def test_a_manager_or_data_protection_exports(request, client, complaint, who):
    login(client, request.getfixturevalue(who))
    response = _export(client, complaint.customer)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert CustomerEvent.objects.filter(type="customer.exported").count() == 1


def test_data_protection_may_export_but_not_erase(client, complaint, dpo):
    login(client, dpo)
    assert _erase(client, complaint.customer).status_code == 403
    assert _refusals() == [("desk.erase_not_allowed", "Dora DPO")]


def test_settings_need_an_administrator_and_refusals_are_audited(agent, manager):
    administrator = create_staff(
        username="adam", password=PASSWORD, display_name="Adam Admin", role=Role.ADMINISTRATOR
    )
    for person, expected in [(agent, 302), (manager, 302), (administrator, 200)]:
        client = Client()
        client.force_login(person.user)
        assert client.get("/admin/staff/orgpolicy/").status_code == expected, person
    assert _refusals() == [
        ("admin.refused", "Mia Manager"),
        ("admin.refused", "Alice Agent"),
    ]


@pytest.mark.parametrize(
    ("who", "offered"),
    [
        ("agent", set()),
        ("lead", {"Erase personal data", "Undo merge"}),
        ("dpo", {"Export data (zip)"}),
        ("manager", {"Export data (zip)", "Erase personal data", "Undo merge"}),
    ],
)
def test_the_customer_page_offers_each_role_only_the_acts_it_may_do(
    request, client, complaint, lead, twin, who, offered
):
    # given a customer whose twin a lead merged into them
    login(client, lead)
    assert _merge(client, complaint.customer, twin).status_code == 302
    # when each role opens the customer's page
    login(client, request.getfixturevalue(who))
    page = client.get(reverse("outreach:customer", args=[complaint.customer.pk]))
    # then it shows the buttons of the acts that role may do, and no button that answers 403
    assert page.status_code == 200
    body = page.content.decode()
    acts = {"Export data (zip)", "Erase personal data", "Undo merge"}
    assert {act for act in acts if act in body} == offered
