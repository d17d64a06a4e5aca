import calendar
import datetime as dt
import io
import random

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from tests.conftest import login

from cherish.cases import actions as case_actions
from cherish.cases.models import Case
from cherish.customers.access import visible_customers
from cherish.customers.actions import add_important_date, update_customer
from cherish.customers.models import Customer, RelationshipStatus
from cherish.outbox.models import OutgoingEmail
from cherish.outreach import actions, moments
from cherish.outreach.errors import OutreachError
from cherish.outreach.models import MomentSent, UsualContact
from cherish.outreach.moments import WINDOW_DAYS, moments_between, next_occurrence, occurrence
from cherish.outreach.tasks import refresh_usual_contacts_task

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
    actions.refresh_usual_contacts()
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
        actions.refresh_usual_contacts()
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


def _brute_force(at: dt.datetime, *, owner_id: int | None = None) -> set[tuple]:
    """What the moments page should list, worked out customer by customer the slow way."""
    found = set()
    for customer in Customer.objects.all():
        if not actions.can_contact(customer):
            continue
        owner = actions.usual_contact(customer)
        if owner_id is not None and (owner is None or owner.pk != owner_id):
            continue
        today = at.astimezone(actions.customer_zone(customer)).date()
        last = today + dt.timedelta(days=WINDOW_DAYS - 1)
        for item in customer.important_dates.all():
            on = next_occurrence(item.date, today) if item.recurring else item.date
            if today <= on <= last:
                found.add((customer.pk, f"date:{item.pk}", on, owner and owner.pk))
        since = customer.customer_since
        if since is not None:
            on = next_occurrence(since, today)
            if on.year - since.year >= 1 and today <= on <= last:
                found.add((customer.pk, "tenure", on, owner and owner.pk))
    return found


def _in_a_year(rng: random.Random, day: dt.date, first: int, last: int) -> dt.date:
    """``day`` in a random year between the two; 29 February in a leap one."""
    leap_day = (day.month, day.day) == (2, 29)
    years = [y for y in range(first, last + 1) if calendar.isleap(y) or not leap_day]
    return day.replace(year=rng.choice(years))


def _listed(moments: list) -> set[tuple]:
    return {(m.customer.pk, m.key, m.on, m.owner_id) for m in moments}


WEEKS = [
    dt.datetime(2025, 2, 26, 23, 30, tzinfo=UTC),  # a week over 28 February, not a leap year
    dt.datetime(2024, 2, 27, 12, 0, tzinfo=UTC),  # and in a leap year
    dt.datetime(2025, 12, 28, 11, 0, tzinfo=UTC),  # over the new year
]


def _customers_with_moments(at: dt.datetime, agent, other_agent) -> None:
    """Customers with birthdays, anniversaries of becoming a customer and one-off dates
    around the window, in several time zones (one Cherish cannot read), some not to be
    contacted, some sharing a name, some with two dates on one day, with cases owned by
    either agent or nobody."""
    rng = random.Random(14)
    zones = ["", "Pacific/Auckland", "America/New_York", "Europe/London", "Not/A_Zone"]
    days = [at.date() + dt.timedelta(days=d) for d in range(-3, 11)] + [dt.date(2000, 2, 29)]
    for i in range(60):
        customer = Customer.objects.create(
            # shared names (i and i + 45); case and accents, which PostgreSQL's collation
            # would order otherwise than Python
            name=f"{('Customer', 'customer', 'Émile', 'Zoë')[i % 45 % 4]} {i % 45:02}",
            time_zone=rng.choice(zones),
            customer_since=_in_a_year(rng, rng.choice(days), 2001, 2020)
            if rng.random() < 0.7 and i % 7
            else None,
            opted_out=i % 11 == 0,
            status=RelationshipStatus.LEFT if i % 13 == 0 else RelationshipStatus.ACTIVE,
        )
        if rng.random() < 0.6:
            day = rng.choice(days)
            add_important_date(
                customer, kind="birthday", date=_in_a_year(rng, day, 1940, 2000), by=agent
            )
            if rng.random() < 0.3:
                add_important_date(
                    customer, kind="anniversary", date=_in_a_year(rng, day, 1960, 2010), by=agent
                )
        if rng.random() < 0.2:
            add_important_date(
                customer, kind="custom", date=rng.choice(days), recurring=False, by=agent
            )
        for n in range(rng.randint(0, 3)):
            case, _ = case_actions.open_case(customer, text=f"Case {n} of {i}", channel="web")
            Case.objects.filter(pk=case.pk).update(
                owner=rng.choice([agent, other_agent, None]),
                created_at=at - dt.timedelta(days=rng.randint(1, 900)),
            )
    actions.refresh_usual_contacts()


@pytest.mark.parametrize("at", WEEKS)
def test_the_indexed_lookup_lists_the_same_people_as_reading_every_customer(at, agent, other_agent):
    # given
    _customers_with_moments(at, agent, other_agent)
    # when / then
    everyone = _brute_force(at)
    assert len(everyone) > 20
    assert _listed(moments_between(at)) == everyone
    seen = set(visible_customers(agent).values_list("pk", flat=True))
    assert seen != set(Customer.objects.values_list("pk", flat=True))
    assert _listed(moments_between(at, among=visible_customers(agent))) == {
        row for row in everyone if row[0] in seen
    }
    for staff in (agent, other_agent):
        mine = _brute_force(at, owner_id=staff.pk)
        assert mine and _listed(moments_between(at, owner_id=staff.pk)) == mine


@pytest.mark.parametrize("at", WEEKS)
@pytest.mark.parametrize("most", [1, 4, 9, 25])
def test_the_first_moments_are_the_soonest_whatever_the_limit(
    at, most, agent, other_agent, monkeypatch
):
    """Each day is read in name order with a LIMIT of what is missing: the cut must fall where
    sorting every moment of the week would put it (time zones whose week has not reached the
    day, 29 February, the new year, two dates of one customer on one day)."""
    # given
    _customers_with_moments(at, agent, other_agent)
    names = dict(Customer.objects.values_list("pk", "name"))

    def in_order(rows: set[tuple]) -> list[tuple]:
        return sorted(
            ((on, names[pk], pk, key) for pk, key, on, _owner in rows),
        )

    monkeypatch.setattr(moments, "MAX_MOMENTS", most)
    # when / then
    found = moments_between(at)
    assert [(m.on, m.customer.name, m.customer.pk, m.key) for m in found] == in_order(
        _brute_force(at)
    )[:most]
    mine = moments_between(at, owner_id=agent.pk)
    assert [(m.on, m.customer.name, m.customer.pk, m.key) for m in mine] == in_order(
        _brute_force(at, owner_id=agent.pk)
    )[:most]


def _rows_read(captured) -> int:
    """How many rows the statements run returned (each run again, as the radar's test does)."""
    total = 0
    for query in captured.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute(query["sql"].replace("%", "%%"))
            total += len(cursor.fetchall())
    return total


def test_a_page_of_moments_reads_a_bounded_number_of_rows(client, manager):
    """At 1M cases (200k customers) about 7,000 customers have a moment in a week; the page
    read them all and kept 300 (130-516 ms of CPU). Now the days are read in order from the
    month-day indexes and reading stops at MAX_MOMENTS moments, of which only the page's are
    written out."""
    # given: 600 customers whose anniversary of becoming one is tomorrow, 300 the day after
    Customer.objects.bulk_create(
        Customer(name=f"Customer {i:03}", customer_since=dt.date(2015, 5, 10 + i // 600))
        for i in range(900)
    )
    login(client, manager)
    # when
    with (
        time_machine.travel(dt.datetime(2025, 5, 9, 10, 0, tzinfo=UTC), tick=False),
        CaptureQueriesContext(connection) as captured,
    ):
        response = client.get(reverse("outreach:moments") + "?who=all&page=2")
    # then: the second 50 of the first 300, from fewer rows than the week's 900
    assert response.status_code == 200
    assert response.content.count(b'<li class="panel') == 50
    assert b"Customer 050" in response.content and b"Customer 100" not in response.content
    assert b"Page 2 of 6" in response.content
    assert _rows_read(captured) <= moments.MAX_MOMENTS + 3 * 50 + 20


def test_the_month_day_keys_follow_every_write(db):
    # given
    customer = Customer.objects.create(name="Keyed", customer_since=dt.date(2012, 2, 29))
    # when / then: kept by the database, whoever writes the date
    customer.refresh_from_db()
    assert customer.since_md == 229
    Customer.objects.filter(pk=customer.pk).update(customer_since=dt.date(2013, 12, 31))
    customer.refresh_from_db()
    assert customer.since_md == 1231
    Customer.objects.filter(pk=customer.pk).update(customer_since=None)
    customer.refresh_from_db()
    assert customer.since_md is None


def test_refreshing_usual_contacts_twice_changes_nothing_the_second_time(
    customer, complaint, agent, other_agent
):
    # given
    assert actions.refresh_usual_contacts() == {"changed": 1, "removed": 0}
    # when
    again = actions.refresh_usual_contacts()
    # then
    assert again == {"changed": 0, "removed": 0}
    assert UsualContact.objects.get(customer=customer).staff == agent
    # a newer case owned by someone else makes them the usual contact; no case, no row
    newer, _ = case_actions.open_case(customer, text="And another thing.", channel="web")
    Case.objects.filter(pk=newer.pk).update(owner=other_agent)
    assert actions.refresh_usual_contacts() == {"changed": 1, "removed": 0}
    assert UsualContact.objects.get(customer=customer).staff == other_agent
    Case.objects.filter(customer=customer).update(owner=None)
    assert actions.refresh_usual_contacts() == {"changed": 0, "removed": 1}
    assert actions.refresh_usual_contacts() == {"changed": 0, "removed": 0}
    assert not UsualContact.objects.exists()


def test_the_usual_contacts_keep_the_month_and_day_of_becoming_a_customer(
    desk_client, customer, complaint, agent
):
    # given: a customer of the agent's since 10 May, stored by the refresh
    Customer.objects.filter(pk=customer.pk).update(customer_since=dt.date(2015, 5, 10))
    assert actions.refresh_usual_contacts() == {"changed": 1, "removed": 0}
    assert UsualContact.objects.get(customer=customer).since_md == 510

    def mine() -> bytes:
        with time_machine.travel(dt.datetime(2025, 5, 9, 10, 0, tzinfo=UTC), tick=False):
            return desk_client.get(reverse("outreach:moments")).content

    assert b"10 years as a customer" in mine()
    # when: the date is corrected to August; the copy is a refresh behind
    Customer.objects.filter(pk=customer.pk).update(customer_since=dt.date(2015, 8, 10))
    # then: "mine" never shows the anniversary the customer no longer has
    assert b"Carla Customer" not in mine()
    # when: the date is back in the week before the refresh caught up: missed for that while
    Customer.objects.filter(pk=customer.pk).update(customer_since=dt.date(2016, 5, 11))
    UsualContact.objects.filter(customer=customer).update(since_md=810)
    assert b"Carla Customer" not in mine()
    # and the refresh writes the new copy (and only it), so it shows again
    assert actions.refresh_usual_contacts() == {"changed": 1, "removed": 0}
    assert UsualContact.objects.get(customer=customer).since_md == 511
    assert b"9 years as a customer" in mine()
    # no date at all: a row all the same, for their other moments
    Customer.objects.filter(pk=customer.pk).update(customer_since=None)
    assert actions.refresh_usual_contacts() == {"changed": 1, "removed": 0}
    assert UsualContact.objects.get(customer=customer).since_md is None


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plan")
def test_mine_reads_the_persons_anniversaries_from_the_usual_contacts_index(agent, other_agent):
    """At 1M cases a week has ~3,800 anniversaries of becoming a customer; one person's are
    ~190. "Mine" reads those from the (staff, since_md) index, not every one of the week."""
    # given
    at = WEEKS[0]
    _customers_with_moments(at, agent, other_agent)
    # when
    with CaptureQueriesContext(connection) as captured:
        moments_between(at, owner_id=agent.pk)
    # then: every statement on the customers' anniversaries starts from that index
    tenure = [q["sql"] for q in captured.captured_queries if '"since_md" IN' in q["sql"]]
    assert tenure
    for sql in tenure:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql.replace("%", "%%"))
            first = cursor.fetchall()[0][3]
        assert "USING INDEX usual_contact_staff_md (staff_id=? AND since_md=?)" in first, first


def test_the_ticker_refreshes_usual_contacts(customer, complaint, agent):
    call_command("refresh_usual_contacts", stdout=io.StringIO())
    assert UsualContact.objects.get(customer=customer).staff == agent
    assert ("refresh_usual_contacts", 3600) in settings.CHERISH_PERIODIC
    assert refresh_usual_contacts_task.call() == {"changed": 0, "removed": 0}


def test_moments_page_shows_mine_and_everyones(
    desk_client, customer, complaint, agent, other_agent
):
    # given: Carla's usual contact is the agent; Otto's is the other agent
    otto = Customer.objects.create(name="Otto Other", customer_since=dt.date(2015, 5, 11))
    case, _ = case_actions.open_case(otto, text="Hello.", channel="web")
    Case.objects.filter(pk=case.pk).update(owner=other_agent)
    with time_machine.travel(dt.datetime(2025, 5, 9, 10, 0, tzinfo=UTC), tick=False):
        add_important_date(customer, kind="birthday", date=dt.date(1980, 5, 10), by=agent)
        actions.refresh_usual_contacts()
        # when
        mine = desk_client.get(reverse("outreach:moments"))
        everyones = desk_client.get(reverse("outreach:moments") + "?who=all")
    # then
    assert b"Carla Customer" in mine.content and b"Otto Other" not in mine.content
    assert b"Carla Customer" in everyones.content and b"10 years as a customer" in everyones.content
    # each moment's note form has ids of its own, for its labels
    assert everyones.content.count(b'id="note-1-subject"') == 1
    assert b'id="note-2-subject"' in everyones.content
    assert b'name="moment_key" value="tenure"' in everyones.content


def test_moments_page_shows_fifty_at_a_time(desk_client, agent):
    # given: 60 customers whose anniversary is tomorrow, all the agent's
    customers = [
        Customer(name=f"Customer {i:02}", customer_since=dt.date(2015, 5, 10)) for i in range(60)
    ]
    Customer.objects.bulk_create(customers)
    for customer in Customer.objects.filter(name__startswith="Customer "):
        UsualContact.objects.create(customer=customer, staff=agent, since_md=customer.since_md)
        case_actions.open_case(customer, text="Hello.", channel="web")
    with time_machine.travel(dt.datetime(2025, 5, 9, 10, 0, tzinfo=UTC), tick=False):
        # when
        first = desk_client.get(reverse("outreach:moments"))
        second = desk_client.get(reverse("outreach:moments") + "?page=2")
    # then
    assert first.content.count(b'<li class="panel') == 50
    assert b"Customer 49" in first.content and b"Customer 50" not in first.content
    assert second.content.count(b'<li class="panel') == 10
    assert b"Page 2 of 2" in second.content
