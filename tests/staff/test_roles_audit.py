"""Roles as permission groups, the organisation policy and the append-only audit log."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import Client

from cherish.staff.access import has_permission, org_policy
from cherish.staff.actions import create_staff, record_audit, set_org_policy, set_role
from cherish.staff.models import AuditEntry, Role
from tests.conftest import PASSWORD


def test_each_role_is_a_group_with_its_permissions(agent, lead):
    # given
    manager = create_staff(
        username="max", password=PASSWORD, display_name="Max Manager", role=Role.MANAGER
    )
    dpo = create_staff(
        username="dora", password=PASSWORD, display_name="Dora DPO", data_protection=True
    )
    # then
    assert set(agent.user.groups.values_list("name", flat=True)) == {"Agent"}
    assert set(dpo.user.groups.values_list("name", flat=True)) == {"Agent", "Data protection"}
    assert [has_permission(p, "erase_customer") for p in (agent, lead, manager, dpo)] == [
        False,
        True,
        True,
        False,
    ]
    assert [has_permission(p, "export_customer") for p in (agent, lead, manager, dpo)] == [
        False,
        False,
        True,
        True,
    ]


def test_migrate_leaves_the_role_groups_with_the_permissions_of_apps_after_staff(db):
    # given: the test database as migrate (or a transactional test's flush) left it, no
    # staff created yet; care and outbox come after / before staff in INSTALLED_APPS
    administrator = Group.objects.get(name="Administrator")
    # then: the groups were built after every app's permissions existed
    labels = set(administrator.permissions.values_list("content_type__app_label", flat=True))
    assert labels == {"auth", "staff", "care", "outbox"}
    lead = Group.objects.get(name="Team lead")
    assert set(lead.permissions.values_list("codename", flat=True)) == {
        "erase_customer",
        "merge_customers",
    }


def test_a_group_edited_in_the_admin_changes_what_the_role_may_do(agent):
    # given: the organisation lets agents export
    from django.contrib.auth.models import Permission

    Group.objects.get(name="Agent").permissions.add(
        Permission.objects.get(codename="export_customer")
    )
    # then
    agent.user.refresh_from_db()
    assert has_permission(agent, "export_customer")


def test_set_role_moves_groups_and_is_audited(agent, lead):
    # when
    set_role(agent, role=Role.ADMINISTRATOR, by=lead, origin={"ip": "192.0.2.1", "via": "desk"})
    # then
    assert set(agent.user.groups.values_list("name", flat=True)) == {"Administrator"}
    agent.user.refresh_from_db()
    assert agent.user.is_staff  # may enter the admin site
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.target_id, entry.ip, entry.detail["new"]) == (
        "role.changed",
        lead,
        str(agent.pk),
        "192.0.2.1",
        "administrator",
    )


def test_org_policy_defaults_to_each_team_alone_and_changes_are_audited(agent):
    assert org_policy().other_teams_may_read is False
    set_org_policy(other_teams_may_read=True, by=agent)
    assert org_policy().other_teams_may_read is True
    assert AuditEntry.objects.get().action == "setting.changed"


def test_audit_log_is_append_only(agent):
    entry = record_audit("customer.viewed", by=agent, target_type="customer", target_id="1")
    entry.action = "nothing.happened"
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()
    with pytest.raises(ValidationError):
        AuditEntry.objects.all().update(action="x")
    with pytest.raises(ValidationError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().action == "customer.viewed"


def test_admin_site_is_for_administrators_and_changes_are_audited(agent, care_team):
    # given
    admin_person = create_staff(
        username="adam", password=PASSWORD, display_name="Adam Admin", role=Role.ADMINISTRATOR
    )
    agent_client, admin_client = Client(), Client()
    agent_client.force_login(agent.user)
    admin_client.force_login(admin_person.user)
    # when
    refused = agent_client.get("/admin/")
    page = admin_client.get("/admin/staff/orgpolicy/add/")
    saved = admin_client.post(
        "/admin/staff/orgpolicy/add/",
        {"other_teams_may_read": "on"},
        REMOTE_ADDR="198.51.100.4",
    )
    # then
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]
    assert page.status_code == 200
    assert saved.status_code == 302
    assert org_policy().other_teams_may_read is True
    entry = AuditEntry.objects.get(action="setting.added")
    assert (entry.actor, entry.target_type, entry.via, entry.ip) == (
        admin_person,
        "staff.orgpolicy",
        "admin",
        "198.51.100.4",
    )


def test_role_change_in_the_admin_goes_through_set_role(agent):
    admin_person = create_staff(
        username="adam", password=PASSWORD, display_name="Adam Admin", role=Role.ADMINISTRATOR
    )
    client = Client()
    client.force_login(admin_person.user)
    page = client.get(f"/admin/staff/staff/{agent.pk}/change/")
    assert page.status_code == 200
    response = client.post(
        f"/admin/staff/staff/{agent.pk}/change/",
        {
            "user": agent.user_id,
            "display_name": agent.display_name,
            "team": agent.team_id,
            "role": "lead",
            "is_available": "on",
            "signature": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    agent.refresh_from_db()
    assert agent.role == "lead"
    assert set(agent.user.groups.values_list("name", flat=True)) == {"Team lead"}
    assert AuditEntry.objects.filter(action="role.changed", target_id=str(agent.pk)).count() == 1
