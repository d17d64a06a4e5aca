"""A small constructed dataset whose every figure is worked out by hand in the tests.

The scorecard only reads, so its rows are built directly with the exact times each figure
needs (actions would stamp "now"). TODAY is Saturday 21 March 2026; the current week starts
Monday 16 March (W0), the previous one 9 March (W1).

  c1  complaint, web,   team care, topic delivery, agent   received Mon 16 09:00, first reply
      after 2 h, closed Fri 20 09:00 (4 days); 2 messages in, 1 reply with a tone-check hit;
      one commitment kept on time; a £10 refund granted; followed up (satisfied) before
      closing; answered: satisfaction 5, cared 5.
  c2  complaint, email, team care, topic billing,  agent → Bob without a summary (2 owners,
      1 repeat explanation); received Tue 17 10:00, first reply after 4 h, closed Wed 18
      10:00 (1 day); 1 message in, 1 clean reply; one commitment broken; a £20 credit approved
      above authority (an exception); no follow-up; answered: satisfaction 2, cared 2.
      Its customer (dora) complained before, on 20 Feb (c0): a repeat complaint.
  c3  inquiry, phone, team service, nobody's, received Wed 18 08:00, still open.
  c4  complaint of erin, 17 Dec 2025: her 90 days end Tue 17 Mar (W0); she bought again in
      January and had spent £300 in the year before: retained, value £300.
  c5  complaint of fred, 18 Dec 2025: 90 days end W0; no purchase since: not retained.
  c6  complaint of gina, web, team care, topic delivery, received Tue 10 Mar, closed Thu 12 Mar
      (W1, 2 days).
  Relationship answers in W0: NPS 10 (raving fan, passion) and NPS 3 (not a fan, level none).
  Expectations: a complaint should take 2, 3 and 5 days → median 3.
  Invitations sent in W0: 5 (4 answered).
  gina told a follow-up on 17 Dec 2025 "no, not quite right" and opened no case; she bought
  again in February: 1 of 1 silent problem customers kept (known W0).
  Active customers: carla, dora, erin, gina (fred has left): 4.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db.models import Model
from tests.conftest import rolled_back

from cherish.care.models import (
    CareState,
    Commitment,
    CommitmentStatus,
    Gesture,
    GestureStatus,
    GestureType,
    TonePhrase,
)
from cherish.cases.models import Case, CaseEvent, Direction, Message
from cherish.customers.models import Customer, LeaveReason, Transaction
from cherish.feedback.models import (
    Answer,
    Invitation,
    InvitationStatus,
    Measure,
    Question,
    Survey,
    SurveyResponse,
)
from cherish.outreach.models import FollowUp, FollowUpRule
from cherish.staff.actions import create_staff
from cherish.staff.models import Role, Staff, Team

UTC = dt.UTC
TODAY = dt.datetime(2026, 3, 21, 12, 0, tzinfo=UTC)
W0 = dt.date(2026, 3, 16)
W1 = dt.date(2026, 3, 9)


def at(day: int, hour: int = 9, month: int = 3, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, 0, tzinfo=UTC)


def make_case(customer: Customer, **kw: Any) -> Case:
    created = kw.pop("created_at")
    return Case.objects.create(
        customer=customer, created_at=created, updated_at=kw.pop("updated_at", created), **kw
    )


def message(case: Case, direction: str, text: str, when: dt.datetime, author: Staff | None) -> None:
    Message.objects.create(
        case=case,
        direction=direction,
        channel=case.channel,
        author=author,
        body_text=text,
        created_at=when,
    )


def owner_event(case: Case, type_: str, owner: Staff, when: dt.datetime, note: str = "") -> None:
    CaseEvent.objects.create(
        case=case,
        customer=case.customer,
        type=type_,
        data={"owner_id": owner.pk, "note": note},
        created_at=when,
    )


def respond(
    survey_key: str,
    customer: Customer,
    when: dt.datetime,
    *,
    case: Case | None = None,
    **values: Any,
) -> SurveyResponse:
    survey = Survey.objects.get(key=survey_key)
    invitation = Invitation.objects.create(
        survey=survey,
        customer=customer,
        case=case,
        status=InvitationStatus.ANSWERED,
        created_at=when - dt.timedelta(hours=1),
        answered_at=when,
    )
    return SurveyResponse.objects.create(
        invitation=invitation,
        survey=survey,
        customer=customer,
        case=case,
        owner_id=case.owner_id if case else None,
        team_id=case.team_id if case else None,
        case_kind=case.kind if case else "",
        case_channel=case.channel if case else "",
        topic=str((case.triage or {}).get("topic", "")) if case else "",
        created_at=when,
        updated_at=when,
        editable_until=when + dt.timedelta(days=7),
        **values,
    )


def person(name: str, **kw: Any) -> Customer:
    return Customer.objects.create(name=name, status=kw.pop("status", "active"), **kw)


def buy(customer: Customer, when: dt.datetime, amount: str) -> None:
    Transaction.objects.create(
        customer=customer,
        external_id=f"T-{customer.pk}-{when:%Y%m%d}",
        kind="order",
        amount=Decimal(amount),
        occurred_at=when,
    )


@pytest.fixture
def dataset(db: Any, care_team: Team) -> dict[str, Any]:
    return build_dataset(care_team)


def build_dataset(care_team: Team) -> dict[str, Any]:
    from cherish.feedback.demo import seed_builtin_surveys

    seed_builtin_surveys()
    service = Team.objects.create(name="Sales & Service")
    alice = create_staff(
        username="alice",
        password="x-pass-123",
        display_name="Alice Agent",
        email="alice@example.com",
        team=care_team,
    )
    bob = create_staff(
        username="bob",
        password="x-pass-123",
        display_name="Bob Other",
        email="bob@example.com",
        team=care_team,
    )
    manager = create_staff(
        username="mia",
        password="x-pass-123",
        display_name="Mia Manager",
        email="mia@example.com",
        team=care_team,
        role=Role.MANAGER,
    )
    carla, dora, erin = person("Carla"), person("Dora"), person("Erin")
    fred, gina = person("Fred", status="left"), person("Gina")
    # get_or_create: transactional tests (the browser's) flush what migrations seeded.
    refund, _ = GestureType.objects.get_or_create(key="refund", defaults={"name": "Refund"})
    credit, _ = GestureType.objects.get_or_create(key="credit", defaults={"name": "Credit"})
    TonePhrase.objects.get_or_create(
        phrase="our policy states", defaults={"suggestion": "Explain in your own words."}
    )

    c1 = make_case(
        carla,
        kind="complaint",
        channel="web",
        team=care_team,
        owner=alice,
        triage={"topic": "delivery"},
        created_at=at(16, 9),
        first_response_at=at(16, 11),
        closed_at=at(20, 9),
        is_open=False,
        stage="closed",
    )
    owner_event(c1, "case.owner_assigned", alice, at(16, 9))
    message(c1, Direction.INBOUND, "My parcel arrived broken.", at(16, 9), None)
    message(c1, Direction.INBOUND, "Any news?", at(17, 9), None)
    message(
        c1, Direction.OUTBOUND, "Sorry, but our policy states we need a photo.", at(16, 11), alice
    )
    Commitment.objects.create(
        case=c1,
        owner=alice,
        what="Call back",
        due_at=at(18, 12),
        how="call",
        status=CommitmentStatus.KEPT,
        created_at=at(16, 11),
        kept_at=at(18, 10),
    )
    Gesture.objects.create(
        case=c1,
        gesture_type=refund,
        value=Decimal("10.00"),
        status=GestureStatus.GRANTED,
        requested_by=alice,
        created_at=at(17, 9),
    )
    CareState.objects.create(case=c1, follow_up_outcome="satisfied", follow_up_at=at(20, 8))
    respond("after-case", carla, at(20, 10), case=c1, csat=5, cared=5)

    c0 = make_case(
        dora,
        kind="complaint",
        channel="email",
        team=care_team,
        owner=alice,
        created_at=at(20, 9, month=2),
        closed_at=at(21, 9, month=2),
        is_open=False,
    )
    c2 = make_case(
        dora,
        kind="complaint",
        channel="email",
        team=care_team,
        owner=bob,
        triage={"topic": "billing"},
        created_at=at(17, 10),
        first_response_at=at(17, 14),
        closed_at=at(18, 10),
        is_open=False,
        stage="closed",
    )
    owner_event(c2, "case.owner_assigned", alice, at(17, 10))
    owner_event(c2, "case.owner_changed", bob, at(17, 12), note="")
    message(c2, Direction.INBOUND, "You charged me twice.", at(17, 10), None)
    message(c2, Direction.OUTBOUND, "I have refunded the second charge.", at(17, 14), bob)
    message(c2, Direction.OUTBOUND, "We received your message.", at(17, 10), None)
    Commitment.objects.create(
        case=c2,
        owner=bob,
        what="Refund",
        due_at=at(17, 18),
        how="email",
        status=CommitmentStatus.BROKEN,
        created_at=at(17, 14),
        broken_at=at(18, 9),
    )
    Gesture.objects.create(
        case=c2,
        gesture_type=credit,
        value=Decimal("20.00"),
        status=GestureStatus.APPROVED,
        requested_by=bob,
        created_at=at(17, 15),
    )
    respond("after-case", dora, at(18, 12), case=c2, csat=2, cared=2)

    c3 = make_case(
        carla,
        kind="inquiry",
        channel="phone",
        team=service,
        created_at=at(18, 8),
    )
    c4 = make_case(
        erin,
        kind="complaint",
        channel="web",
        team=care_team,
        created_at=at(17, 9, month=12, year=2025),
        closed_at=at(18, 9, month=12, year=2025),
        is_open=False,
    )
    buy(erin, at(20, 9, month=1), "40.00")
    buy(erin, at(1, 9, month=6, year=2025), "300.00")
    c5 = make_case(
        fred,
        kind="complaint",
        channel="web",
        team=care_team,
        created_at=at(18, 9, month=12, year=2025),
        closed_at=at(19, 9, month=12, year=2025),
        is_open=False,
    )
    LeaveReason.objects.create(customer=fred, reason="indifference", recorded_at=at(5, 9, month=2))
    c6 = make_case(
        gina,
        kind="complaint",
        channel="web",
        team=care_team,
        owner=alice,
        triage={"topic": "delivery"},
        created_at=at(10, 9),
        closed_at=at(12, 9),
        is_open=False,
    )

    respond("relationship", erin, at(18, 9), nps=10, raving_fan=True, loyalty_level="passion")
    respond("relationship", gina, at(19, 9), nps=3, raving_fan=False, loyalty_level="none")
    Invitation.objects.create(
        survey=Survey.objects.get(key="relationship"),
        customer=carla,
        status=InvitationStatus.SENT,
        created_at=at(19, 9),
    )
    expect = Question.objects.get(survey__key="expectations", measure=Measure.EXPECT_COMPLAINT)
    for who, days in ((carla, 2), (dora, 3), (erin, 5)):
        r = respond("expectations", who, at(1, 9, month=2))
        Answer.objects.create(response=r, question=expect, value_int=days, answered_at=r.created_at)

    rule = FollowUpRule.objects.create(name="After delivery", transaction_kind="delivery")
    order = Transaction.objects.create(
        customer=gina,
        external_id="T-gina-1",
        kind="delivery",
        amount=Decimal("15"),
        occurred_at=at(10, 9, month=12, year=2025),
    )
    FollowUp.objects.create(
        rule=rule,
        customer=gina,
        transaction=order,
        status="sent",
        scheduled_for=at(16, 9, month=12, year=2025),
        answer="not_quite",
        answered_at=at(17, 9, month=12, year=2025),
    )
    buy(gina, at(2, 9, month=2), "25.00")
    return {
        "alice": alice,
        "bob": bob,
        "manager": manager,
        "care": care_team,
        "service": service,
        "cases": {"c0": c0, "c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "c6": c6},
    }


@pytest.fixture
def built(dataset: dict[str, Any]) -> dict[str, Any]:
    return rebuild_rollups(dataset)


# The dataset and its roll-ups, built once for a module (in a transaction rolled back at its
# end) rather than once for each test: building them was most of a scorecard test's CPU (~0.24
# s of ~0.25). A module whose tests use it asks for ``db`` as well, so each test's writes are
# rolled back in turn; tests that change the rows' objects get fresh copies (``fresh``).
@pytest.fixture(scope="module")
def built_once(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    with rolled_back(django_db_blocker):
        yield rebuild_rollups(build_dataset(Team.objects.create(name="Customer Care")))


def fresh(value: Any) -> Any:
    """``value`` with every model instance in it read again from the database."""
    if isinstance(value, dict):
        return {key: fresh(item) for key, item in value.items()}
    if isinstance(value, Model):
        return type(value)._default_manager.get(pk=value.pk)
    return value


def rebuild_rollups(dataset: dict[str, Any]) -> dict[str, Any]:
    from cherish.scorecard import rollups

    with time_machine.travel(TODAY, tick=False):
        rollups.rebuild()
    return dataset
