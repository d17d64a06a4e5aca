"""Complaints about three clearly different things, for themes to find."""

from __future__ import annotations

from typing import Any

import pytest

from cherish.cases import actions as case_actions
from cherish.cases.models import Case
from cherish.customers.actions import find_or_create_customer
from cherish.staff.models import Staff

DELIVERY = [
    "My parcel delivery is late again, the courier never came and the tracking is wrong.",
    "The courier left my parcel outside in the rain, delivery was three days late.",
    "Delivery never arrived, tracking says delivered but no parcel from the courier.",
    "Late delivery of my parcel, the courier missed the delivery slot twice.",
    "Courier lost my parcel, the delivery tracking has not moved for a week.",
    "Parcel delivery was late and the courier was rude at the door.",
    "Still waiting for delivery, courier rescheduled my parcel without asking.",
    "The delivery driver threw the parcel over the fence, courier service is awful.",
]
BILLING = [
    "I was charged twice on my invoice and the refund has not appeared on my card.",
    "Your invoice shows a fee I never agreed to, I want a refund of the charge.",
    "Double charge on my card this month, please refund the second payment.",
    "The bill charged me for a subscription I cancelled, I need a refund.",
    "Invoice amount is wrong, you charged my card a late fee in error.",
    "Refund promised weeks ago still not on my card, the charge is still there.",
    "Overcharged on the invoice again, the payment was taken twice from my card.",
    "Hidden fee on my bill, charged without warning, refund the fee please.",
]
APP = [
    "The mobile app crashes every time I try to log in with my password.",
    "Cannot log in to the app, password reset email never arrives, app is broken.",
    "App keeps crashing on login screen after the update, password not accepted.",
    "Login fails in the app with an error, password reset link does not work.",
    "Your app update broke login, it crashes when I type my password.",
    "The app freezes and crashes, I cannot log in to my account at all.",
    "Password reset in the app loops forever, login impossible, app crashes.",
    "After the app update the login button does nothing and the app crashes.",
]


def open_complaint(text: str, n: int = 0, **kwargs: Any) -> Case:
    customer, _ = find_or_create_customer(name=f"Customer {n}", email=f"c{n}@example.com")
    case, _ = case_actions.open_case(customer, text=text, channel="web", **kwargs)
    return case


@pytest.fixture
def topics(agent: Staff) -> dict[str, list[Case]]:
    return open_topics()


def open_topics() -> dict[str, list[Case]]:
    cases: dict[str, list[Case]] = {"delivery": [], "billing": [], "app": []}
    n = 0
    for name, texts in (("delivery", DELIVERY), ("billing", BILLING), ("app", APP)):
        for text in texts:
            n += 1
            cases[name].append(open_complaint(text, n))
    return cases


@pytest.fixture
def manager(care_team: Any) -> Staff:
    from cherish.staff.actions import create_staff
    from cherish.staff.models import Role
    from tests.conftest import PASSWORD

    staff = create_staff(
        username="mona",
        password=PASSWORD,
        display_name="Mona Manager",
        email="mona@example.com",
        team=care_team,
        role=Role.MANAGER,
    )
    staff.is_available = False
    staff.save(update_fields=["is_available"])
    return staff
