import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from cherish.cases import actions as case_actions
from cherish.customers.actions import add_important_date, update_customer
from cherish.outbox.models import OutgoingEmail
from cherish.outreach import actions
from cherish.outreach.errors import OutreachError
from cherish.outreach.models import MomentSent
from cherish.outreach.moments import moments_between, occurrence

UTC = dt.UTC


def test_29_february_celebrated_on_28_february_in_other_years():
    assert occurrence(dt.date(2000, 2, 29), 2025) == dt.date(2025, 2, 28)
    assert occurrence(dt.date(2000, 2, 29), 2028) == dt.date(2028, 2, 29)


def test_leap_day_birthday_is_today_on_28_february(customer, agent):
    add_important_date(customer, kind="birthday", date=dt.date(1992, 2, 29), by=agent)
    found = moments_between(dt.datetime(2025, 2, 28, 12, 0, tzinfo=UTC))
    assert [(m.kind, m.on, m.is_today) for m in found] == [("birthday", dt.date(2025, 2, 28), True)]


def test_birthday_is_today_in_the_customers_time_zone(customer, agent):
    # given: 23:30 UTC on 9 May is already 10 May in Auckland
    update_customer(customer, by=agent, time_zone="Pacific/Auckland")
    add_important_date(customer, kind="birthday", date=dt.date(1980, 5, 10), by=agent)
    at = dt.datetime(2025, 5, 9, 23, 30, tzinfo=UTC)
    # when
    [moment] = moments_between(at)
    # then
    assert moment.is_today and moment.on == dt.date(2025, 5, 10)
    # and in New York it is still 9 May
    update_customer(customer, by=agent, time_zone="America/New_York")
    [moment] = moments_between(at)
    assert not moment.is_today


def test_tenure_anniversary_and_owner_filter(customer, complaint, agent, other_agent):
    update_customer(customer, by=agent, customer_since=dt.date(2016, 6, 3))
    at = dt.datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    [moment] = moments_between(at, owner_id=agent.pk)
    assert moment.title == "9 years as a customer"
    assert moment.has_open_complaint
    assert moments_between(at, owner_id=other_agent.pk) == []


def test_note_sent_once_in_owners_name_and_opt_out_respected(customer, agent):
    # given
    add_important_date(customer, kind="birthday", date=dt.date(1980, 5, 10), by=agent)
    # when
    actions.send_moment_note(
        customer,
        moment_key="date:1",
        year=2025,
        subject="Happy birthday",
        text="Dear Carla, all the best!",
        by=agent,
    )
    # then
    email = OutgoingEmail.objects.get()
    assert email.from_name == "Alice Agent"
    with pytest.raises(OutreachError) as refused:
        actions.send_moment_note(
            customer, moment_key="date:1", year=2025, subject="Again", text="Again", by=agent
        )
    assert refused.value.code == "already_sent"
    update_customer(customer, by=agent, opted_out=True)
    with pytest.raises(OutreachError) as refused:
        actions.send_moment_note(
            customer, moment_key="tenure", year=2025, subject="Thanks", text="Thanks", by=agent
        )
    assert refused.value.code == "opted_out"
    assert MomentSent.objects.count() == 1 and OutgoingEmail.objects.count() == 1


def test_moments_page_lists_and_sends(desk_client, customer, complaint, agent):
    # given
    with time_machine.travel(dt.datetime(2025, 5, 9, 10, 0, tzinfo=UTC), tick=False):
        date = add_important_date(customer, kind="birthday", date=dt.date(1980, 5, 10), by=agent)
        case_actions.change_stage(complaint, stage="closed", by=agent)
        # when
        page = desk_client.get(reverse("outreach:moments"))
        response = desk_client.post(
            reverse("outreach:send-note", args=[customer.pk]),
            {
                "moment_key": f"date:{date.pk}",
                "year": 2025,
                "subject": "Happy birthday",
                "text": "Dear Carla, have a lovely day.",
            },
        )
        again = desk_client.get(reverse("outreach:moments"))
    # then
    assert b"Carla Customer" in page.content and b"Send in my name" in page.content
    assert response.status_code == 302
    assert MomentSent.objects.count() == 1
    assert b"A note was sent for this moment." in again.content
