from __future__ import annotations

import datetime as dt
from io import StringIO

import time_machine
from django.core.management import call_command
from tests.care.conftest import care_events, told

from cherish.care import actions, queries
from cherish.care.models import CareState, Holiday
from cherish.care.tasks import check_clocks_task, check_commitments_task
from cherish.cases import actions as case_actions
from cherish.cases.models import Case

UTC = dt.UTC
FRIDAY_3PM = dt.datetime(2024, 3, 1, 15, 0, tzinfo=UTC)
MONDAY_9 = dt.datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
TUESDAY = dt.date(2024, 3, 5)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def notifications(*people) -> list[tuple[str, str]]:
    return [(username, kind) for username, kind, _read in told(*people)]


def test_breach_escalates_to_the_lead_at_the_right_business_time(agent, lead, customer):
    # given: a normal complaint (first personal response within 4 business hours) sent on a
    # Friday afternoon before a bank-holiday Monday; the office works 9-17 UTC on weekdays
    Holiday.objects.create(date=dt.date(2024, 3, 4), name="Bank holiday")
    with time_machine.travel(FRIDAY_3PM, tick=False) as clock:
        case, _ = case_actions.open_case(customer, text="Still no refund after two weeks.")
        # when: the clock check runs across the weekend and the holiday
        clock.move_to(at(dt.date(2024, 3, 4), 16))
        assert check_clocks_task.call()["warned"] == 0
        # 2 h on Friday + 1 h 11 min on Tuesday = 191 minutes: not yet 80% of 240
        clock.move_to(at(TUESDAY, 10, 11))
        assert check_clocks_task.call() == {"checked": 1, "warned": 0, "breached": 0, "resumed": 0}
        clock.move_to(at(TUESDAY, 10, 12))
        assert check_clocks_task.call()["warned"] == 1
        clock.move_to(at(TUESDAY, 10, 30))
        assert check_clocks_task.call()["warned"] == 0
        assert [c.reference for c in queries.about_to_breach(agent)] == [case.reference]
        clock.move_to(at(TUESDAY, 10, 59))
        assert check_clocks_task.call()["breached"] == 0
        clock.move_to(at(TUESDAY, 11, 0))
        assert check_clocks_task.call()["breached"] == 1
        assert check_clocks_task.call()["breached"] == 0
    # then
    case.refresh_from_db()
    assert case.at_risk is True and "overdue" in case.badges
    assert notifications(agent, lead) == [("alice", "target_warning"), ("lena", "target_breached")]
    assert care_events(case) == [("care.target_warning", None), ("care.target_breached", None)]
    breach = case.events.get(type="care.target_breached")
    assert breach.created_at == at(TUESDAY, 11, 0)
    assert breach.data == {
        "clock": "first_response",
        "elapsed_minutes": 240,
        "target_minutes": 240,
        "lead_id": lead.pk,
        "notified_id": lead.pk,
    }
    state = CareState.objects.get(case=case)
    assert state.first_response_breached_at == at(TUESDAY, 11, 0)
    assert state.resolution_warned_at is None


def test_a_personal_reply_stops_the_first_response_clock(agent, lead, customer):
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        case, _ = case_actions.open_case(customer, text="Wrong size delivered.")
        case_actions.reply_to_customer(
            case, text="Thank you - sending a receipt", by=None, is_automatic=True
        )
        clock.shift(dt.timedelta(hours=3, minutes=30))
        assert check_clocks_task.call()["warned"] == 1  # the acknowledgement did not count
        case_actions.reply_to_customer(case, text="Hello Carla, I'm so sorry...", by=agent)
        clock.shift(dt.timedelta(hours=2))
        assert check_clocks_task.call() == {"checked": 1, "warned": 0, "breached": 0, "resumed": 0}


def test_clock_pauses_while_waiting_on_the_customer(agent, lead, customer):
    # given: a high-severity complaint (resolution within 16 business hours), answered at once
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        case, _ = case_actions.open_case(customer, text="The boiler is leaking.")
        case_actions.change_severity(case, severity="high", by=agent)
        case_actions.reply_to_customer(case, text="Could you send a photo of the valve?", by=agent)
        clock.shift(dt.timedelta(hours=1))
        actions.wait_on_customer(case, by=agent, reason="Waiting for the photo")
        # when: three days pass before the customer answers
        clock.move_to(dt.datetime(2024, 3, 7, 10, 0, tzinfo=UTC))
        assert check_clocks_task.call()["breached"] == 0
        case_actions.add_inbound_message(case, text="Here is the photo.", channel="email")
        clock.shift(dt.timedelta(minutes=5))
        result = check_clocks_task.call()
        summary = queries.clock_summary(case)
    # then: the wait ended when they wrote; only 1 h 5 min ran on our side
    assert result == {"checked": 1, "warned": 0, "breached": 0, "resumed": 1}
    case.refresh_from_db()
    assert case.stage == "received"
    assert summary.resolution.elapsed_minutes == 65
    assert summary.resolution.status == "ok"
    ended = case.events.get(type="waiting.ended")
    assert ended.actor is None
    assert ended.data["reason"] == "the customer replied"
    # Monday 10-17, Tuesday and Wednesday 9-17, Thursday 9-10
    assert ended.data["business_seconds"] == (7 + 8 + 8 + 1) * 3600


def test_overdue_commitment_alerts_the_owner_then_the_lead(complaint, agent, lead):
    with time_machine.travel(at(TUESDAY, 9), tick=False) as clock:
        promise = actions.record_commitment(
            complaint,
            what="Call with the engineer's date",
            due_at=at(TUESDAY, 12),
            how="call",
            by=agent,
        )
        kept = actions.record_commitment(
            complaint,
            what="Email the invoice",
            due_at=at(TUESDAY, 12),
            how="email",
            by=agent,
        )
        actions.keep_commitment(kept, by=agent)
        done = []
        for hour, minute in [(10, 30), (11, 0), (11, 30), (12, 0), (13, 59), (14, 0), (15, 0)]:
            clock.move_to(at(TUESDAY, hour, minute))
            done.append(check_commitments_task.call())
    assert list(done) == [
        {"reminded": 0, "overdue": 0, "escalated": 0},
        {"reminded": 1, "overdue": 0, "escalated": 0},
        {"reminded": 0, "overdue": 0, "escalated": 0},
        {"reminded": 0, "overdue": 1, "escalated": 0},
        {"reminded": 0, "overdue": 0, "escalated": 0},
        {"reminded": 0, "overdue": 0, "escalated": 1},
        {"reminded": 0, "overdue": 0, "escalated": 0},
    ]
    assert notifications(agent, lead) == [
        ("alice", "commitment_due"),
        ("alice", "commitment_overdue"),
        ("lena", "commitment_overdue"),
    ]
    assert [
        e for e in care_events(complaint) if e[0] in ("commitment.overdue", "commitment.escalated")
    ] == [
        ("commitment.overdue", None),
        ("commitment.escalated", None),
    ]
    promise.refresh_from_db()
    assert promise.status == "open"


def test_care_tick_runs_both_checks_once(complaint, agent, lead):
    with time_machine.travel(at(TUESDAY, 9), tick=False) as clock:
        actions.record_commitment(
            complaint, what="Call back", due_at=at(TUESDAY, 11), how="call", by=agent
        )
        Case.objects.filter(pk=complaint.pk).update(created_at=at(TUESDAY, 9))
        clock.move_to(at(TUESDAY, 12, 15))
        out = StringIO()
        call_command("care_tick", stdout=out)
    assert out.getvalue().strip() == (
        "care tick: checked 1, warned 1, breached 0, resumed 0, reminded 0, overdue 1, escalated 0"
    )
