"""The usual contacts stored before UsualContact.since_md get their copy at the upgrade
(outreach 0004), so "mine" on the moments page does not wait for the hourly refresh."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cherish.customers.models import Customer
from cherish.outreach.models import UsualContact

BEFORE = [("outreach", "0003_usual_contact_since_md")]
AFTER = [("outreach", "0004_fill_usual_contact_since_md")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def test_the_upgrade_copies_each_customers_month_and_day(transactional_db, agent):
    # given: two usual contacts stored without the copy, one customer with no date
    dated = Customer.objects.create(name="Dated", customer_since=dt.date(2014, 2, 28))
    undated = Customer.objects.create(name="Undated")
    _migrate(BEFORE)
    UsualContact.objects.bulk_create(
        [
            UsualContact(customer=dated, staff=agent, since_md=None),
            UsualContact(customer=undated, staff=agent, since_md=None),
        ]
    )
    # when
    _migrate(AFTER)
    # then
    assert dict(UsualContact.objects.values_list("customer__name", "since_md")) == {
        "Dated": 228,
        "Undated": None,
    }
