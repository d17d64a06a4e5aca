"""Demo data for outreach: transactions, important dates, follow-up rules and a radar run.

Called by the lead's `cherish demo` as ``load_demo(customers, rng)``. Deterministic for a
given ``rng`` and fast (bulk writes only).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction

from cherish.core.clock import now
from cherish.customers.actions import TransactionRow, upsert_transactions
from cherish.customers.models import Customer, DateKind, ImportantDate
from cherish.outreach.models import FollowUpRule
from cherish.outreach.radar import compute_churn_scores

DESCRIPTIONS = ["Weekly veg box", "Coffee beans 1 kg", "Repair visit", "Gift hamper", "Tea sampler"]


def load_demo(customers: Sequence[Customer], rng: random.Random, **_: object) -> None:
    at = now()
    rows: list[TransactionRow] = []
    dates: list[ImportantDate] = []
    since_updates: list[Customer] = []
    for customer in customers:
        years = rng.choice([0, 1, 2, 3, 5, 9, 12])
        since = (at - dt.timedelta(days=365 * years + rng.randint(0, 300))).date()
        if customer.customer_since is None:
            customer.customer_since = since
            since_updates.append(customer)
        rhythm = rng.choice([7, 14, 30, 45, 90])
        # A quarter of customers are drifting away: their last purchase is long overdue.
        drifting = rng.random() < 0.25
        last = at - dt.timedelta(
            days=rhythm * (rng.uniform(3, 6) if drifting else rng.uniform(0, 1))
        )
        start = max(
            dt.datetime.combine(since, dt.time(12), tzinfo=dt.UTC), at - dt.timedelta(days=730)
        )
        moment = last
        n = 0
        while moment > start and n < 60:
            kind = "delivery" if n % 3 == 0 else "order"
            rows.append(
                TransactionRow(
                    customer_id=customer.pk,
                    external_id=f"DEMO-{customer.pk}-{n}",
                    kind=kind,
                    occurred_at=moment,
                    amount=Decimal(rng.randint(800, 12000)) / 100,
                    currency="GBP",
                    status="completed",
                    description=rng.choice(DESCRIPTIONS),
                )
            )
            moment -= dt.timedelta(days=rhythm * rng.uniform(0.7, 1.3))
            n += 1
        if rng.random() < 0.5:
            birthday = dt.date(rng.randint(1950, 2000), at.month, min(28, at.day)) + dt.timedelta(
                days=rng.randint(0, 10)
            )
            dates.append(ImportantDate(customer=customer, kind=DateKind.BIRTHDAY, date=birthday))
        if rng.random() < 0.1:
            dates.append(
                ImportantDate(
                    customer=customer,
                    kind=DateKind.CUSTOM,
                    date=(at + dt.timedelta(days=rng.randint(1, 6))).date(),
                    note="Moving house",
                    recurring=False,
                )
            )
    with transaction.atomic():
        Customer.objects.bulk_update(since_updates, ["customer_since"], batch_size=500)
        upsert_transactions(rows)
        ImportantDate.objects.bulk_create(dates, batch_size=500)
        FollowUpRule.objects.get_or_create(
            name="After delivery",
            defaults={
                "transaction_kind": "delivery",
                "delay_days": 3,
                "question": "Did everything go as expected with your delivery?",
            },
        )
        FollowUpRule.objects.get_or_create(
            name="After a repair visit",
            defaults={
                "transaction_kind": "appointment",
                "delay_days": 1,
                "question": "Did our visit fix the problem?",
            },
        )
    compute_churn_scores(customer_ids=[c.pk for c in customers])
