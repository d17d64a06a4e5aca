"""The cast: named people and cases that tests reuse (agent, lead, customer, complaint ...)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from cherish.cases import actions as case_actions
from cherish.cases.models import Case, CaseEvent
from cherish.customers.actions import find_or_create_customer
from cherish.customers.models import Customer
from cherish.staff.actions import create_staff
from cherish.staff.models import AssignmentRule, Role, Staff, Team

PASSWORD = "correct horse battery staple"


# What a test asks for when it uses the test database (pytest-django refuses any other
# test's queries, and a test that starts processes on it asks for transactional_db).
_DATABASE_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "django_db_setup",
        "live_server",
    }
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Mark the tests that use the database, so the PostgreSQL run (scripts/test.sh) can run
    # only those: the others cannot tell SQLite from PostgreSQL, and the SQLite run has them.
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("django_db") or fixtures & _DATABASE_FIXTURES:
            item.add_marker(pytest.mark.database)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    fresh_cache()


def fresh_cache() -> None:
    """What each test starts from; a module-scoped fixture that measures requests calls it too."""
    # Rate-limit and login-throttle counters live in the cache; each test starts clean.
    from django.core.cache import cache

    from cherish.outbox.actions import forget_subscriptions
    from cherish.staff import twofactor

    cache.clear()
    forget_subscriptions()
    # Each test starts from the default policy (second factor not required for everyone),
    # already read, so a page's first request costs what its later ones do and the
    # fixed-query tests compare like with like. Tests that change the policy call
    # twofactor.forget_policy().
    twofactor._policy = (float("inf"), False)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any) -> Any:
    # pytest-django's, plus: the intake applier thread holds a connection of its own, and
    # PostgreSQL refuses to drop the test database while it is open.
    yield
    from cherish.intake.applier import stop_appliers

    stop_appliers()


@contextlib.contextmanager
def rolled_back(django_db_blocker: Any) -> Iterator[None]:
    """For a module-scoped fixture: data built once for the module's tests, in a transaction
    rolled back at the module's end (each test's own transaction nests inside it)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def care_team(db: Any) -> Team:
    return Team.objects.create(name="Customer Care")


@pytest.fixture
def agent(care_team: Team) -> Staff:
    staff = create_staff(
        username="alice",
        password=PASSWORD,
        display_name="Alice Agent",
        email="alice@example.com",
        team=care_team,
    )
    AssignmentRule.objects.get_or_create(kind="complaint", team=care_team)
    return staff


@pytest.fixture
def other_agent(care_team: Team, agent: Staff) -> Staff:
    return create_staff(
        username="bob",
        password=PASSWORD,
        display_name="Bob Other",
        email="bob@example.com",
        team=care_team,
    )


@pytest.fixture
def lead(care_team: Team) -> Staff:
    staff = create_staff(
        username="lena",
        password=PASSWORD,
        display_name="Lena Lead",
        email="lena@example.com",
        team=care_team,
        role=Role.LEAD,
    )
    # A lead takes no round-robin cases by default in tests, so assignment stays predictable.
    staff.is_available = False
    staff.save(update_fields=["is_available"])
    care_team.lead = staff
    care_team.save(update_fields=["lead"])
    return staff


@pytest.fixture
def manager(care_team: Team) -> Staff:
    """Manager of the care team: above its lead in the team's chain."""
    staff = create_staff(
        username="mia",
        password=PASSWORD,
        display_name="Mia Manager",
        email="mia@example.com",
        team=care_team,
        role=Role.MANAGER,
    )
    staff.is_available = False
    staff.save(update_fields=["is_available"])
    care_team.manager = staff
    care_team.save(update_fields=["manager"])
    return staff


@pytest.fixture
def billing_team(db: Any) -> Team:
    """A second team: its cases are outside the care team's boundary."""
    return Team.objects.create(name="Billing")


@pytest.fixture
def billing_agent(billing_team: Team) -> Staff:
    return create_staff(
        username="bea",
        password=PASSWORD,
        display_name="Bea Billing",
        email="bea@example.com",
        team=billing_team,
    )


@pytest.fixture
def billing_lead(billing_team: Team) -> Staff:
    staff = create_staff(
        username="ben",
        password=PASSWORD,
        display_name="Ben Billing Lead",
        email="ben@example.com",
        team=billing_team,
        role=Role.LEAD,
    )
    staff.is_available = False
    staff.save(update_fields=["is_available"])
    billing_team.lead = staff
    billing_team.save(update_fields=["lead"])
    return staff


@pytest.fixture
def admin_staff(care_team: Team) -> Staff:
    staff = create_staff(
        username="root",
        password=PASSWORD,
        display_name="Ada Admin",
        team=None,
        role=Role.MANAGER,
        is_superuser=True,
    )
    staff.is_available = False
    staff.save(update_fields=["is_available"])
    return staff


@pytest.fixture
def customer(db: Any) -> Customer:
    customer, _ = find_or_create_customer(
        name="Carla Customer", email="carla@example.com", phone="+44 20 7946 0018"
    )
    return customer


@pytest.fixture
def complaint(agent: Staff, customer: Customer) -> Case:
    case, _ = case_actions.open_case(
        customer, text="My parcel arrived broken and nobody answers the phone.", channel="web"
    )
    assert case.owner_id == agent.pk
    return case


def staff_api(staff: Staff) -> Client:
    """An API client with a key of ``staff``'s own: it acts as them (staff/principal.py)."""
    from cherish.intake.apikeys import create_api_key

    _, key = create_api_key(f"{staff.user.get_username()}'s key", staff=staff)
    return Client(headers={"Authorization": f"Bearer {key}"})


def integration_api(*scopes: str) -> Client:
    """An API client with an integration key that has exactly ``scopes``."""
    from cherish.intake.apikeys import create_api_key

    _, key = create_api_key("integration", scopes=list(scopes))
    return Client(headers={"Authorization": f"Bearer {key}"})


def login(client: Client, staff: Staff) -> Client:
    client.force_login(staff.user)
    return client


@pytest.fixture
def desk_client(client: Client, agent: Staff) -> Client:
    return login(client, agent)


def assert_events(case: Case, expected: list[str]) -> None:
    assert list(CaseEvent.objects.filter(case=case).values_list("type", flat=True)) == expected


@pytest.fixture
def live_server_url(live_server: Any) -> str:
    return str(live_server.url)
