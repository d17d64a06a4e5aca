"""The team boundary's SQL renderings say what ``case_rule`` says, for every kind of viewer.

``cases_in_bounds`` and ``customers_in_bounds`` write the rule in SQL for speed (the inbox,
the customer search); ``case_rule`` is the ``Q`` the rest of the code reads. A divergence
would widen or narrow the boundary on some pages only, so every viewer below is checked
against every kind of case, on both policies, for reading and for changing.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Exists, OuterRef

from cherish.care.actions import add_collaborator
from cherish.cases import actions as case_actions
from cherish.cases.access import visible_cases
from cherish.cases.models import Case
from cherish.customers.access import visible_customers, workable_customers
from cherish.customers.actions import find_or_create_customer
from cherish.customers.models import Customer
from cherish.staff.access import (
    case_rule,
    cases_in_bounds,
    customers_in_bounds,
    has_permission,
    may_view_all_customers,
    staff_for_user,
)
from cherish.staff.actions import create_staff, set_org_policy
from cherish.staff.models import Staff, Team


def _fresh(staff: Staff) -> Staff:
    """The staff member as the desk guard loads them at the start of a request."""
    loaded = staff_for_user(get_user_model().objects.get(pk=staff.user_id))
    assert loaded is not None
    return loaded


def _open(name: str, *, team: Team | None, owner: Staff | None) -> Case:
    customer, _ = find_or_create_customer(name=name, email=f"{name.lower()}@example.com")
    case, _ = case_actions.open_case(customer, text=f"{name} writes.", channel="web")
    Case.objects.filter(pk=case.pk).update(team=team, owner=owner)
    case.refresh_from_db()
    return case


@pytest.fixture
def viewers(agent, lead, manager, billing_agent, billing_team, care_team, admin_staff):
    """Every kind of viewer, and cases of every kind: the care team's, billing's, unrouted,
    one collaborated on, one owned across teams, and a customer with no case."""
    _open("Cara", team=care_team, owner=agent)
    _open("Bill", team=billing_team, owner=billing_agent)
    _open("Una", team=None, owner=None)
    helped = _open("Hal", team=billing_team, owner=billing_agent)
    add_collaborator(helped, staff=agent, by=billing_agent)
    _open("Owen", team=billing_team, owner=lead)
    find_or_create_customer(name="Nora No-case", email="nora@example.com")
    both = create_staff(
        username="two", password="x" * 12, display_name="Two Teams", team=billing_team
    )
    both.extra_teams.add(care_team)
    teamless = create_staff(username="none", password="x" * 12, display_name="No Team")
    return [agent, lead, manager, billing_agent, both, teamless, admin_staff]


@pytest.mark.parametrize("policy_lets_read", [False, True])
def test_sql_renderings_match_case_rule(viewers, policy_lets_read):
    set_org_policy(other_teams_may_read=policy_lets_read, by=None)
    for viewer in viewers:
        for change in (False, True):
            staff = _fresh(viewer)
            rule = case_rule(staff, change=change)
            as_cases = cases_in_bounds(staff, change=change)
            as_customers = customers_in_bounds(staff, change=change)
            label = (viewer.display_name, change)
            if rule is None:
                assert as_cases is None and as_customers is None, label
                continue
            assert as_cases is not None and as_customers is not None, label
            expected_cases = set(Case.objects.filter(rule).values_list("pk", flat=True))
            assert set(Case.objects.filter(as_cases).values_list("pk", flat=True)) == (
                expected_cases
            ), label
            with_case = Exists(Case.objects.filter(rule, customer_id=OuterRef("pk")))
            expected = set(Customer.objects.filter(with_case).values_list("pk", flat=True))
            found = set(Customer.objects.filter(as_customers).values_list("pk", flat=True))
            assert found == expected, label
            # Nested as a subquery (Django renames the outer tables), the same answer.
            nested = Customer.objects.filter(pk__in=Customer.objects.filter(as_customers))
            assert set(nested.values_list("pk", flat=True)) == expected, label


def test_the_boundary_is_a_boundary(viewers, agent, billing_agent):
    # given: the safe default policy
    alice, bea = _fresh(agent), _fresh(billing_agent)
    # then: Alice sees her team's customer, the unrouted one and the one she helps on; Bea
    # none of Care's
    names = set(visible_customers(alice).values_list("name", flat=True))
    assert names == {"Cara", "Una", "Hal"}
    assert "Cara" not in set(visible_customers(bea).values_list("name", flat=True))
    assert not visible_cases(bea).filter(customer__name="Cara").exists()
    assert set(workable_customers(alice).values_list("name", flat=True)) == names


def test_view_all_customers_read_with_the_profile_matches_the_permission(
    agent, manager, admin_staff, billing_agent
):
    # given: a user-level grant, besides the roles' groups
    grant = Permission.objects.get(content_type__app_label="staff", codename="view_all_customers")
    billing_agent.user.user_permissions.add(grant)
    protector = create_staff(
        username="dpo", password="x" * 12, display_name="Dee Pee", data_protection=True
    )
    for staff, sees_all in [
        (agent, False),
        (manager, True),
        (admin_staff, True),
        (billing_agent, True),
        (protector, True),
    ]:
        loaded = _fresh(staff)
        # when / then: read with the profile, no query of its own
        assert loaded.__dict__.get("_cherish_sees_all_customers") is not None
        assert may_view_all_customers(loaded) is sees_all, staff.display_name
        fresh_user = get_user_model().objects.get(pk=staff.user_id)
        assert has_permission(Staff.objects.get(user=fresh_user), "view_all_customers") is (
            sees_all
        )
