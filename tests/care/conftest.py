"""Care fixtures: authority limits, an API client with a key, a clock-friendly complaint."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from tests.conftest import staff_api
from tests.outbox.conftest import mail_sink, tasks  # noqa: F401 - fixtures for this directory

from cherish.care.models import AuthorityLimit, CareState, GestureType
from cherish.cases.models import Case, CaseEvent
from cherish.staff.models import Staff

PROBLEM = "application/problem+json"
UTC = dt.UTC


@pytest.fixture
def refund(db: Any) -> GestureType:
    return GestureType.objects.get(key="refund")


@pytest.fixture
def agent_limits(db: Any) -> AuthorityLimit:
    """Every agent may give up to 50 GBP per gesture and 80 GBP a month without asking."""
    return AuthorityLimit.objects.create(
        role="agent", per_gesture=Decimal("50"), per_month=Decimal("80"), currency="GBP"
    )


@pytest.fixture
def care_api(agent: Staff) -> Client:
    """The API as Alice (the agent): her own key."""
    return staff_api(agent)


def post_json(client: Client, url: str, body: Any) -> Any:
    return client.post(url, json.dumps(body, default=str), content_type="application/json")


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == code
    return dict(body)


def event_types(case: Case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).values_list("type", flat=True))


def care_events(case: Case) -> list[tuple[str, str | None]]:
    """(type, actor username) of every event after the case was opened and assigned.

    In writing order: tests that travel in time may open the case "after" later events.
    """
    rows = CaseEvent.objects.filter(case=case).select_related("actor__user").order_by("id")
    return [(e.type, e.actor.user.username if e.actor else None) for e in rows][3:]


def state_of(case: Case) -> CareState:
    return CareState.objects.get(case=case)


def snapshot(case: Case) -> dict[str, Any]:
    """Everything a refused action must leave untouched."""
    case.refresh_from_db()
    state = CareState.objects.filter(case=case).values().first()
    return {
        "stage": case.stage,
        "is_open": case.is_open,
        "events": CaseEvent.objects.filter(case=case).count(),
        "state": state,
    }


@pytest.fixture(autouse=True)
def care_defaults(db: Any) -> None:
    """The defaults migration 0002 seeds; transactional tests elsewhere flush them."""
    from cherish.care.demo import seed_defaults

    seed_defaults()


# The desk's notification kinds care's events make (a complaint's "assigned" and the
# customer's own words are the desk's business, left out here).
CARE_NOTIFICATIONS = frozenset(
    {
        "asked_to_help",
        "mentioned",
        "approval_waiting",
        "gesture_decided",
        "commitment_due",
        "commitment_overdue",
        "target_warning",
        "target_breached",
    }
)


def told(*people: Staff) -> list[tuple[str, str, bool]]:
    """What the desk tells these people of care's work, oldest first: (username, kind, read).

    Care writes case events; the desk derives notifications from them when a person looks
    (``sync_notifications``). Every event so far counts as news here."""
    from cherish.desk import actions as desk_actions
    from cherish.desk.models import DeskState, Notification

    for person in people:
        DeskState.objects.update_or_create(staff=person, defaults={"last_event_id": 0})
        desk_actions.sync_notifications(person)
    rows = Notification.objects.filter(staff__in=people, kind__in=CARE_NOTIFICATIONS)
    return [
        (username, kind, read_at is not None)
        for username, kind, read_at in rows.order_by("event_id").values_list(
            "staff__user__username", "kind", "read_at"
        )
    ]
